/**
 * `agentvisor/ledger`: the quota ledger's contract (`QuotaLedger`) and its three backends, for a
 * host that shares a budget without an orchestrator or brings its own (`ledger: { instance }`).
 * See docs/ledger.md.
 */
import { loadModule } from '../observability/lazyModule';
import type { QuotaLedger } from '../quota/ledger';
import type * as RedisLedgerModule from '../quota/redisLedger';
import type { RedisLedgerOptions } from '../quota/redisLedger';

export { createMemoryLedger } from '../quota/memoryLedger';
export { createFileLedger } from '../quota/fileLedger';
export type { FileLedgerOptions } from '../quota/fileLedger';
export type { RedisLedgerOptions } from '../quota/redisLedger';
export type * from '../quota/ledger';
export { DEFAULT_DAILY_RESET, windowAt } from '../quota/dailyWindow';
export type { DailyReset, WindowPosition } from '../quota/dailyWindow';
export type { LedgerOption, LedgerSharing } from '../orchestrator/ledgerOption';
export type { RedisClientLike } from '../quota/redisClientLike';

/**
 * A ledger kept in Redis, shared by every host that points at the same server and key prefix
 * (atomic Lua scripts; details and failure behaviour in docs/ledger.md). ioredis is loaded on the
 * first call, so importing this entry for the memory or file ledger does not load it.
 *
 * @default keyPrefix 'agentvisor:', clock 'server', timeout 2_000, dailyReset { at: '00:00', timeZone: 'UTC' }
 * @example
 * const ledger = createRedisLedger({
 *   redis: 'redis://127.0.0.1:6379',
 *   limits: { claude: { dailyLimit: 1_000_000, maxConcurrent: 10 }, openai: { dailyLimit: 500_000, maxConcurrent: 8 } },
 * });
 * await ledger.reserve({ provider: 'claude', sessionId: 's-1', tokens: 20_000, leaseMs: 600_000 });
 */
export function createRedisLedger(options: RedisLedgerOptions): QuotaLedger {
  return loadModule<typeof RedisLedgerModule>('../quota/redisLedger').createRedisLedger(options);
}
