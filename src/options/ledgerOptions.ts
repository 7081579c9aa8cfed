/**
 * The `ledger` option of `createOrchestrator`, and its JSON form in the config file. Built on
 * first use (lazySchema).
 */
import type { QuotaLedger } from '../quota/ledger';
import type { RedisClientLike } from '../quota/redisClientLike';
import {
  KEY_PREFIX_EXPECTED,
  KEY_PREFIX_PATTERN,
  REDIS_CLIENT_METHODS,
  redisUrlSchema,
} from '../quota/ledgerConfigSchema';
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, nonEmptyString, wholeNumber, withMethods } from '../schema/schemaParts';
import type { z } from 'zod';

type Zod = typeof z;

/** The methods the orchestrator calls on a ledger it is given. */
export const LEDGER_METHODS = ['reserve', 'settle', 'record', 'renew', 'sweep', 'snapshot', 'close'] as const;

function sharingShape(z: Zod) {
  const timerMs = wholeNumber(1, MAX_TIMER_MS);
  return {
    leaseMs: timerMs
      .optional()
      .meta({ description: 'Lease of each reservation, renewed while the session lives. Default 60000.' }),
    syncIntervalMs: timerMs
      .optional()
      .meta({ description: 'How often the ledger is read for what other hosts hold. Default 1000.' }),
    whenUnavailable: z
      .union([
        z.literal('fail-closed', { error: "expected 'fail-closed' or { localShareOf: N }" }),
        z.strictObject({ localShareOf: wholeNumber(1, 1_000_000) }),
      ])
      .optional()
      .meta({
        description:
          "While the ledger is unreachable: 'fail-closed', or { localShareOf: N } to admit up to limit / N locally.",
      }),
  };
}

/**
 * The object form of `ledger` a JSON file can give: a file (path) or a Redis server (URL), with the sharing settings.
 *
 * @example sharedLedgerSchema().parse({ redis: 'redis://cache:6379', keyPrefix: 'team-a' })
 */
export const sharedLedgerSchema = lazySchema((z) =>
  z
    .strictObject({
      file: z
        .string({ error: 'expected a path' })
        .min(1, { error: 'expected a path' })
        .optional()
        .meta({ description: "The ledger file; a relative path is taken from the config file's folder." }),
      redis: redisUrlSchema().optional().meta({ description: 'A Redis server shared by every host.' }),
      keyPrefix: z
        .string({ error: KEY_PREFIX_EXPECTED })
        .regex(KEY_PREFIX_PATTERN, { error: KEY_PREFIX_EXPECTED })
        .optional()
        .meta({ description: 'With redis: the prefix of every key.' }),
      ...sharingShape(z),
    })
    .meta({ oneOf: [{ required: ['file'] }, { required: ['redis'] }], dependentRequired: { keyPrefix: ['redis'] } })
    .superRefine((value, ctx) => {
      if ((value.file === undefined) === (value.redis === undefined))
        ctx.addIssue({ code: 'custom', message: 'expected exactly one of file, redis', path: [] });
      if (value.keyPrefix !== undefined && value.redis === undefined)
        ctx.addIssue({ code: 'custom', message: 'keyPrefix goes with redis', path: ['keyPrefix'] });
    }),
);

/**
 * `ledger` in the config file: where the budget of record lives (docs/ledger.md).
 *
 * @example ledgerSchema().parse('file')
 */
export const ledgerSchema = lazySchema((z) =>
  z
    .union([
      z.enum(['memory', 'file'], { error: "expected 'memory', 'file', { file } or { redis }" }),
      sharedLedgerSchema(),
    ])
    .meta({
      description:
        "'memory', 'file' (<home>/agentvisor/ledger.json), { file } or { redis }, with leaseMs, syncIntervalMs and whenUnavailable. " +
        "The CLI's default is 'file'; the library's 'memory'.",
    }),
);

/**
 * `ledger` of `createOrchestrator`: as in the file, plus an ioredis client for `redis` and
 * `{ instance }`, any QuotaLedger.
 *
 * @example ledgerOptionSchema().parse({ instance: createMemoryLedger({ limits }) })
 */
export const ledgerOptionSchema = lazySchema((z) =>
  z.union([
    z.enum(['memory', 'file'], { error: "expected 'memory', 'file', { file }, { redis } or { instance }" }),
    z
      .strictObject({
        file: nonEmptyString('a path').optional(),
        redis: z
          .union([redisUrlSchema(), withMethods<RedisClientLike>('an ioredis client', REDIS_CLIENT_METHODS)], {
            error: 'expected a redis:// or rediss:// URL or an ioredis client',
          })
          .optional(),
        keyPrefix: z
          .string({ error: KEY_PREFIX_EXPECTED })
          .regex(KEY_PREFIX_PATTERN, { error: KEY_PREFIX_EXPECTED })
          .optional(),
        instance: withMethods<QuotaLedger>('a QuotaLedger', LEDGER_METHODS).optional(),
        ...sharingShape(z),
      })
      .superRefine((value, ctx) => {
        const given = (['file', 'redis', 'instance'] as const).filter((k) => value[k] !== undefined);
        if (given.length !== 1)
          ctx.addIssue({
            code: 'custom',
            message: `expected exactly one of file, redis, instance, got ${given.length === 0 ? 'none' : given.join(' and ')}`,
            path: [],
          });
        if (value.keyPrefix !== undefined && value.redis === undefined)
          ctx.addIssue({ code: 'custom', message: 'keyPrefix goes with redis', path: ['keyPrefix'] });
      }),
  ]),
);
