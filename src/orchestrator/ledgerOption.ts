import path from 'node:path';
import type { Budgets } from '../../machines/budget';
import { PROVIDER_IDS } from '../../machines/providers';
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

function limitsOf(budgets: Budgets) {
  return Object.fromEntries(
    PROVIDER_IDS.map((p) => [p, { dailyLimit: budgets[p].dailyLimit, maxConcurrent: budgets[p].maxConcurrent }]),
  ) as Record<(typeof PROVIDER_IDS)[number], { dailyLimit: number; maxConcurrent: number }>;
}

/** The default file ledger's path. */
export function defaultLedgerFile(home: string): string {
  return path.join(home, 'agentvisor', 'ledger.json');
}

/**
 * The `ledger` option (checked with the orchestrator's options: ledgerOptionSchema) with its
 * defaults; the backend is created at `start()`.
 *
 * @example resolveLedger('file', '/home/me/.codex').file // '/home/me/.codex/agentvisor/ledger.json'
 */
export function resolveLedger(option: LedgerOption | undefined, home: string): ResolvedLedger {
  if (option === undefined || option === 'memory')
    return {
      kind: 'memory',
      file: null,
      create: null,
      owned: false,
      leaseMs: 60_000,
      syncIntervalMs: 1_000,
      whenUnavailable: 'fail-closed',
    };
  const given = option === 'file' ? { file: defaultLedgerFile(home) } : option;
  const sharing = {
    leaseMs: given.leaseMs ?? 60_000,
    syncIntervalMs: given.syncIntervalMs ?? 1_000,
    whenUnavailable: given.whenUnavailable ?? 'fail-closed',
  };
  if ('file' in given && given.file !== undefined) {
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
  if ('redis' in given && given.redis !== undefined) {
    const { redis, keyPrefix } = given;
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
  const { instance } = given as { readonly instance: QuotaLedger };
  return { kind: 'instance', file: null, owned: false, ...sharing, create: async () => instance };
}
