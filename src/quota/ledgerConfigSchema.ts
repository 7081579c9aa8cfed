/**
 * The options of the three ledger constructors as strict zod schemas, built on first use
 * (lazySchema): importing this module loads neither zod nor ioredis. The per-call requests
 * (reserve, record, settle) are checked by hand in ledgerInput.ts: they run on every admission.
 */
import type { z } from 'zod';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { checkOptions } from '../schema/checkOptions';
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, functionSchema, nonEmptyString, wholeNumber, withMethods } from '../schema/schemaParts';
import { dailyResetSchema } from './dailyResetSchema';
import type * as FileLedgerModule from './fileLedger';
import type { LedgerConfig } from './ledger';
import { MAX_CONCURRENT, MAX_DAILY_LIMIT } from './ledgerInput';
import type { RedisClientLike } from './redisClientLike';
import type * as RedisLedgerModule from './redisLedger';

/** The methods the Redis ledger calls on an ioredis client it is given (it reads `status` and `options` too). */
export const REDIS_CLIENT_METHODS = ['evalsha', 'eval', 'script', 'connect', 'on', 'once', 'off'] as const;

/** What a Redis key prefix may be: 1–64 of letters, digits and `_ : { } . - / @`. */
export const KEY_PREFIX_PATTERN = /^[\w:{}.\-/@]{1,64}$/;

/** The words every refused key prefix gets. */
export const KEY_PREFIX_EXPECTED = 'expected 1-64 characters of letters, digits and _ : { } . - / @';

/**
 * The form of a Redis URL the ledger can connect to: `redis://` or `rediss://`, an optional user
 * and password, a host (a name, an IPv4 address or a bracketed IPv6 address), an optional port and
 * database. It is the `pattern` of schema/config.schema.json, for editors; `isRedisUrl` adds what
 * a pattern cannot check (the port's range, the IPv6 address itself).
 */
export const REDIS_URL_PATTERN =
  /^rediss?:\/\/(?:[^\s/?#]*@)?(?:\[[\dA-Fa-f:.]+\]|[^\s/?#@:[\\\]<>^|]+)(?::\d{0,5})?(?:[/?#]\S*)?$/;

/** The words every refused Redis URL gets (never the URL itself: it may hold a password). */
export const REDIS_URL_EXPECTED = 'expected a URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)';

/**
 * Whether a text is a Redis URL the ledger can connect to: it has the form of REDIS_URL_PATTERN
 * and parses as a URL with a host. The one rule for every `redis` option and config setting.
 *
 * @example isRedisUrl('redis://127.0.0.1:6379/0') // true; isRedisUrl('redis://:6379') // false
 */
export function isRedisUrl(text: string): boolean {
  if (!REDIS_URL_PATTERN.test(text)) return false;
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A Redis URL as every `redis` option and the config file check it (isRedisUrl), with
 * REDIS_URL_PATTERN as its JSON Schema `pattern`.
 *
 * @example redisUrlSchema().safeParse('redis://:6379').success // false
 */
export const redisUrlSchema = lazySchema((z) =>
  z
    .string({ error: REDIS_URL_EXPECTED })
    .refine(isRedisUrl, { error: REDIS_URL_EXPECTED })
    .meta({ pattern: REDIS_URL_PATTERN.source }),
);

const configShape = lazySchema((z) => {
  const limit = z.strictObject(
    {
      dailyLimit: wholeNumber(0, MAX_DAILY_LIMIT),
      maxConcurrent: wholeNumber(0, MAX_CONCURRENT),
    },
    { error: 'expected { dailyLimit, maxConcurrent } (0 disables the provider)' },
  );
  return z.strictObject({
    limits: z.strictObject(
      Object.fromEntries(PROVIDER_IDS.map((p) => [p, limit])) as Record<ProviderId, typeof limit>,
      {
        error: `expected { ${PROVIDER_IDS.map((p) => `${p}: { dailyLimit, maxConcurrent }`).join(', ')} }`,
      },
    ),
    dailyReset: dailyResetSchema().optional(),
    now: functionSchema<() => number>('a function returning epoch milliseconds, such as Date.now').optional(),
  } satisfies Record<keyof LedgerConfig, unknown>);
});

/**
 * The options of `createMemoryLedger`.
 *
 * @example memoryLedgerSchema().safeParse({ limits }).success
 */
export const memoryLedgerSchema = configShape;

/**
 * The options of `createFileLedger`.
 *
 * @example fileLedgerSchema().safeParse({ file: '/srv/agentvisor/ledger.json', limits }).success
 */
export const fileLedgerSchema = lazySchema(() =>
  configShape().extend({
    file: nonEmptyString('the path of the ledger file'),
    home: nonEmptyString('a folder path').optional(),
    lockTimeoutMs: wholeNumber(0, MAX_TIMER_MS).optional(),
    lockStaleMs: wholeNumber(2_000, MAX_TIMER_MS).optional(),
  } satisfies Record<Exclude<keyof FileLedgerModule.FileLedgerOptions, keyof LedgerConfig>, z.ZodType>),
);

/**
 * The options of `createRedisLedger`.
 *
 * @example redisLedgerSchema().safeParse({ redis: 'redis://127.0.0.1:6379', limits }).success
 */
export const redisLedgerSchema = lazySchema((z) =>
  configShape().extend({
    redis: z.union(
      [redisUrlSchema(), withMethods<RedisClientLike>('a redis:// URL or an ioredis client', REDIS_CLIENT_METHODS)],
      { error: 'expected a redis:// URL or an ioredis client' },
    ),
    keyPrefix: z
      .string({ error: KEY_PREFIX_EXPECTED })
      .regex(KEY_PREFIX_PATTERN, { error: KEY_PREFIX_EXPECTED })
      .optional(),
    clock: z.enum(['server', 'caller'], { error: "expected 'server' or 'caller'" }).optional(),
    timeout: wholeNumber(1, 60_000).optional(),
  } satisfies Record<Exclude<keyof RedisLedgerModule.RedisLedgerOptions, keyof LedgerConfig>, z.ZodType>),
);

const LIMITS_EXAMPLE = `limits: { ${PROVIDER_IDS.map((p) => `${p}: { dailyLimit, maxConcurrent }`).join(', ')} }`;

const LEDGERS = {
  memory: {
    call: 'createMemoryLedger',
    schema: memoryLedgerSchema,
    expected: `an object such as { ${LIMITS_EXAMPLE} }`,
  },
  file: {
    call: 'createFileLedger',
    schema: fileLedgerSchema,
    expected: `an object such as { file, ${LIMITS_EXAMPLE} }`,
  },
  redis: {
    call: 'createRedisLedger',
    schema: redisLedgerSchema,
    expected: `an object such as { redis, ${LIMITS_EXAMPLE} }`,
  },
} as const;

/**
 * Checks a ledger constructor's options (throws `invalid-option` naming the field, with a "did you
 * mean" hint for an unknown key); options marked `alreadyChecked` pass without loading zod.
 *
 * @example checkLedgerOptions('file', options); // before anything is opened
 */
export function checkLedgerOptions(backend: keyof typeof LEDGERS, options: unknown): void {
  const { call, schema, expected } = LEDGERS[backend];
  checkOptions(schema, options, { call, expected });
}
