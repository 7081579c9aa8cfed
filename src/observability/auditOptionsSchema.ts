/**
 * The `audit` option of `createOrchestrator` and the options of `appendAuditEntry`, as zod
 * schemas built on first use (lazySchema): importing this module does not load zod.
 */
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, nonEmptyString, wholeNumber, withMethods } from '../schema/schemaParts';
import type { AuditOptions } from './auditTrail';
import type { SecretMasker } from './secretMasker';

/** What `audit` may be, in the words of every refusal. */
export const AUDIT_EXPECTED = 'true, false or an object such as { maxBytes: 10485760, keep: 5 }';

/**
 * The audit trail's settings: where it is written and how it rotates.
 *
 * @example auditSettingsSchema().safeParse({ keep: 3 }).success // true
 */
export const auditSettingsSchema = lazySchema((z) =>
  z.strictObject({
    dir: nonEmptyString('a folder path').optional(),
    maxBytes: wholeNumber(1024, 2 ** 40).optional(),
    keep: wholeNumber(0, 1000).optional(),
    flushIntervalMs: wholeNumber(1, MAX_TIMER_MS).optional(),
  } satisfies Record<keyof AuditOptions, unknown>),
);

/**
 * `audit` of `createOrchestrator`: on with the defaults, off, or the settings.
 *
 * @example auditOptionSchema().safeParse(true).success // true
 */
export const auditOptionSchema = lazySchema((z) =>
  z.union([z.boolean({ error: `expected ${AUDIT_EXPECTED}` }), auditSettingsSchema()], {
    error: `expected ${AUDIT_EXPECTED}`,
  }),
);

/**
 * The options of `appendAuditEntry`: the settings, a masker and the entry's time.
 *
 * @example appendAuditOptionsSchema().safeParse({ now: Date.now() }).success // true
 */
export const appendAuditOptionsSchema = lazySchema((z) =>
  auditSettingsSchema().extend({
    masker: withMethods<SecretMasker>('a SecretMasker', ['mask']).optional(),
    now: z.number({ error: 'expected epoch milliseconds' }).optional(),
  }),
);
