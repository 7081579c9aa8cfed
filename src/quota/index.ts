/** The quota ledger (architecture §4): one contract, three backends. See docs/ledger.md. */
export { createMemoryLedger } from './memoryLedger';
export { createInsuredLedger } from './insuredLedger';
export type { InsuredLedger, InsuredLedgerOptions, InsuredLedgerState } from './insuredLedger';
export { createFileLedger } from './fileLedger';
export type { FileLedgerOptions } from './fileLedger';
export { createRedisLedger } from './redisLedger';
export type { RedisLedgerOptions } from './redisLedger';
export type * from './ledger';
export { DEFAULT_DAILY_RESET, windowAt } from './dailyWindow';
export type { DailyReset, WindowPosition } from './dailyWindow';
