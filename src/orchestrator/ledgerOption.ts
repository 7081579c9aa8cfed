import path from 'node:path';
import type { Budgets } from '../../machines/budget';
import { PROVIDER_IDS } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import type { QuotaLedger } from '../quota/ledger';
import type { DailyReset } from '../quota/dailyWindow';
import { createFileLedger } from '../quota/fileLedger';
import type * as RedisLedgerModule from '../quota/redisLedger';
import { loadModule } from '../observability/lazyModule';
import type { RedisClientLike } from '../quota/redisClientLike';
import { alreadyChecked } from '../schema/checkOptions';

/**
 * Where the budget of record lives.
 * - `'memory'` (the default): the coordinator in this process is the ledger; nothing survives it.
 * - `'file'` or `{ file }`: a JSON ledger under the home folder (`$home/agentvisor/ledger.json`),
 *   durable across crashes and shared by the processes of this machine. The file is never a
 *   symlink, and a folder above it reached through one must resolve inside the home; otherwise
 *   `start()` rejects with `insecure-permissions` (`details.reason`).
 * - `{ redis }`: a Redis server (URL or an ioredis client) shared by every host.
 * - `{ instance }`: any QuotaLedger.
 */
export type LedgerOption =
  | 'memory'
  | 'file'
  | (LedgerSharing &
      (
        | { readonly file: string }
        | { readonly redis: string | RedisClientLike; readonly keyPrefix?: string }
        | { readonly instance: QuotaLedger }
      ));

/** How an orchestrator works with a shared ledger. */
export interface LedgerSharing {
  /** Lease of each reservation in the ledger, renewed while the session lives. @default 60000 */
  readonly leaseMs?: number;
  /** How often the ledger is read for what other hosts hold (and leases renewed, settlements retried). @default 1000 */
  readonly syncIntervalMs?: number;
  /** While the ledger is unreachable: admit nothing (`'fail-closed'`), or up to limit ÷ N locally (`{ localShareOf: N }`). @default 'fail-closed' */
  readonly whenUnavailable?: 'fail-closed' | { readonly localShareOf: number };
}

export interface ResolvedLedger {
  readonly kind: 'memory' | 'file' | 'redis' | 'instance';
  /** The ledger file (file backend), else null. */
  readonly file: string | null;
  readonly create:
    ((config: { limits: Budgets; dailyReset: DailyReset; now: () => number }) => Promise<QuotaLedger>) | null;
  /** Whether the orchestrator closes the ledger at stop (it created it). */
  readonly owned: boolean;
  readonly leaseMs: number;
  readonly syncIntervalMs: number;
  readonly whenUnavailable: 'fail-closed' | { readonly localShareOf: number };
}

const SHARING_KEYS = ['leaseMs', 'syncIntervalMs', 'whenUnavailable'];

function limitsOf(budgets: Budgets) {
  return Object.fromEntries(
    PROVIDER_IDS.map((p) => [p, { dailyLimit: budgets[p].dailyLimit, maxConcurrent: budgets[p].maxConcurrent }]),
  ) as Record<(typeof PROVIDER_IDS)[number], { dailyLimit: number; maxConcurrent: number }>;
}

function wholeMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new AgentvisorError(
      'invalid-option',
      `ledger.${name} must be a whole number of milliseconds from 1 to ${2 ** 31 - 1}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The default file ledger's path. */
export function defaultLedgerFile(home: string): string {
  return path.join(home, 'agentvisor', 'ledger.json');
}

/** Checks the `ledger` option; the backend is created at `start()`. */
export function resolveLedger(option: unknown, home: string): ResolvedLedger {
  const memory: ResolvedLedger = {
    kind: 'memory',
    file: null,
    create: null,
    owned: false,
    leaseMs: 60_000,
    syncIntervalMs: 1_000,
    whenUnavailable: 'fail-closed',
  };
  if (option === undefined || option === 'memory') return memory;
  const usage = "ledger must be 'memory', 'file', { file }, { redis } or { instance }";
  const given: Record<string, unknown> =
    option === 'file'
      ? { file: defaultLedgerFile(home) }
      : typeof option === 'object' && option !== null
        ? (option as Record<string, unknown>)
        : {};
  if (option !== 'file' && (typeof option !== 'object' || option === null))
    throw new AgentvisorError('invalid-option', `${usage}, got ${JSON.stringify(option)}`);
  const backends = ['file', 'redis', 'instance'].filter((k) => given[k] !== undefined);
  if (backends.length !== 1)
    throw new AgentvisorError(
      'invalid-option',
      `${usage} (exactly one of file, redis, instance), got keys ${JSON.stringify(Object.keys(given))}`,
    );
  for (const key of Object.keys(given)) {
    if (![...SHARING_KEYS, 'file', 'redis', 'instance', 'keyPrefix'].includes(key))
      throw new AgentvisorError(
        'invalid-option',
        `ledger.${key} is not a ledger setting (known: file, redis, keyPrefix, instance, ${SHARING_KEYS.join(', ')})`,
      );
  }
  const whenUnavailable = given.whenUnavailable ?? 'fail-closed';
  if (whenUnavailable !== 'fail-closed') {
    const n = (whenUnavailable as { localShareOf?: unknown }).localShareOf;
    if (typeof whenUnavailable !== 'object' || typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new AgentvisorError(
        'invalid-option',
        `ledger.whenUnavailable must be 'fail-closed' or { localShareOf: <expected hosts, a whole number from 1> }, got ${JSON.stringify(whenUnavailable)}`,
      );
    }
  }
  const sharing = {
    leaseMs: wholeMs('leaseMs', given.leaseMs, 60_000),
    syncIntervalMs: wholeMs('syncIntervalMs', given.syncIntervalMs, 1_000),
    whenUnavailable: whenUnavailable as ResolvedLedger['whenUnavailable'],
  };
  if (given.file !== undefined) {
    if (typeof given.file !== 'string' || given.file.trim() === '')
      throw new AgentvisorError('invalid-option', 'ledger.file must be a path');
    const file = path.resolve(given.file);
    return {
      kind: 'file',
      file,
      owned: true,
      ...sharing,
      // The orchestrator's home, as for its credentials and audit trail: a ledger folder reached through a symlink must resolve inside it.
      create: async ({ limits, dailyReset, now }) =>
        createFileLedger(alreadyChecked({ file, home, limits: limitsOf(limits), dailyReset, now })),
    };
  }
  if (given.redis !== undefined) {
    const redis = given.redis as RedisLedgerModule.RedisLedgerOptions['redis'];
    if (typeof redis !== 'string' && (typeof redis !== 'object' || redis === null))
      throw new AgentvisorError('invalid-option', 'ledger.redis must be a redis:// URL or an ioredis client');
    const keyPrefix = given.keyPrefix;
    if (keyPrefix !== undefined && typeof keyPrefix !== 'string')
      throw new AgentvisorError('invalid-option', 'ledger.keyPrefix must be a string');
    return {
      kind: 'redis',
      file: null,
      owned: true,
      ...sharing,
      create: async ({ limits, dailyReset, now }) =>
        // ioredis takes about 50 ms to load: only hosts that configure Redis pay for it.
        loadModule<typeof RedisLedgerModule>('../quota/redisLedger').createRedisLedger(
          alreadyChecked({
            redis,
            limits: limitsOf(limits),
            dailyReset,
            now,
            ...(keyPrefix === undefined ? {} : { keyPrefix }),
          }),
        ),
    };
  }
  const instance = given.instance as QuotaLedger;
  if (
    typeof instance?.reserve !== 'function' ||
    typeof instance.settle !== 'function' ||
    typeof instance.record !== 'function' ||
    typeof instance.snapshot !== 'function'
  ) {
    throw new AgentvisorError(
      'invalid-option',
      'ledger.instance must implement QuotaLedger (reserve, settle, record, renew, sweep, snapshot, close)',
    );
  }
  return { kind: 'instance', file: null, owned: false, ...sharing, create: async () => instance };
}
