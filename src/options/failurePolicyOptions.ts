/**
 * `failurePolicy`: the option of `createOrchestrator`, of `resolveFailurePolicy` and of the config
 * file. Built on first use (lazySchema).
 */
import type { ZodOptional } from 'zod';
import { PROVIDER_FAILURE_KINDS } from '../providers/failureClassifier';
import { DEFAULT_RETRY_SETTINGS, FAILURE_ACTIONS, fillFailurePolicy } from '../providers/failurePolicy';
import type { FailurePolicy, FailurePolicyOptions } from '../providers/failurePolicy';
import { checkOptions } from '../schema/checkOptions';
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, wholeNumber } from '../schema/schemaParts';

/**
 * What `reportFailure` does per failure kind (docs/failures.md). A kind inherits the settings it
 * leaves out, and `baseDelayMs` may not exceed `maxDelayMs` after inheritance.
 *
 * @example failurePolicySchema().parse({ maxRetries: 3, kinds: { auth: { action: 'fail' } } })
 */
export const failurePolicySchema = lazySchema((z) => {
  const retrySettings = {
    maxRetries: wholeNumber(0, 10)
      .optional()
      .meta({ description: 'Retries on the same provider after the first attempt. Default 2.' }),
    baseDelayMs: wholeNumber(0, MAX_TIMER_MS)
      .optional()
      .meta({ description: 'Backoff ceiling of the first retry; doubles per retry. Default 250.' }),
    maxDelayMs: wholeNumber(0, MAX_TIMER_MS).optional().meta({ description: 'Backoff ceiling. Default 10000.' }),
    maxRetryAfterMs: wholeNumber(0, MAX_TIMER_MS)
      .optional()
      .meta({ description: 'The longest Retry-After worth sleeping for. Default 30000.' }),
  };
  const kindPolicy = z.strictObject({
    action: z.enum(FAILURE_ACTIONS, { error: `expected one of ${FAILURE_ACTIONS.join(', ')}` }).optional(),
    ...retrySettings,
  });
  const invalidRequestPolicy = z.strictObject({
    action: z.literal('fail', { error: "expected 'fail' (a request at fault fails on every provider)" }).optional(),
    ...retrySettings,
  });
  type Kinds = {
    [K in (typeof PROVIDER_FAILURE_KINDS)[number]]: ZodOptional<
      K extends 'invalid-request' ? typeof invalidRequestPolicy : typeof kindPolicy
    >;
  };
  return z
    .strictObject({
      ...retrySettings,
      kinds: z
        .strictObject(
          Object.fromEntries(
            PROVIDER_FAILURE_KINDS.map((kind) => [
              kind,
              (kind === 'invalid-request' ? invalidRequestPolicy : kindPolicy).optional(),
            ]),
          ) as unknown as Kinds,
        )
        .optional()
        .meta({ description: 'Per failure kind: action (retry, fallback, fail) and any retry setting.' }),
    })
    .superRefine((policy, ctx) => {
      const base = policy.baseDelayMs ?? DEFAULT_RETRY_SETTINGS.baseDelayMs;
      const max = policy.maxDelayMs ?? DEFAULT_RETRY_SETTINGS.maxDelayMs;
      if (base > max) {
        const [message, field] =
          policy.baseDelayMs === undefined
            ? [`expected at least baseDelayMs (${base}, the default), got ${max}`, 'maxDelayMs']
            : [`expected at most maxDelayMs (${max}), got ${base}`, 'baseDelayMs'];
        ctx.addIssue({ code: 'custom', message, path: [field] });
      }
      for (const [kind, given] of Object.entries(policy.kinds ?? {})) {
        const kindBase = given?.baseDelayMs ?? base;
        const kindMax = given?.maxDelayMs ?? max;
        if (kindBase > kindMax)
          ctx.addIssue({
            code: 'custom',
            message: `baseDelayMs (${kindBase}) must not exceed maxDelayMs (${kindMax})`,
            path: ['kinds', kind],
          });
      }
    })
    .meta({ description: 'What reportFailure does per failure kind; see docs/failures.md.' });
});

/**
 * Checks policy options and fills in defaults; throws `invalid-option` naming the option and the fix.
 *
 * @example resolveFailurePolicy({ maxRetries: 3, kinds: { auth: { action: 'fail' } } })['rate-limit'].maxRetries // 3
 */
export function resolveFailurePolicy(options: FailurePolicyOptions = {}): FailurePolicy {
  checkOptions(failurePolicySchema, options, {
    call: 'resolveFailurePolicy',
    path: 'failurePolicy',
    expected: 'an object such as { maxRetries: 2 }',
  });
  return fillFailurePolicy(options);
}
