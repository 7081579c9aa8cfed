import type { ProviderId } from '../../machines/providers';
import type {
  LedgerConfig,
  LedgerSnapshot,
  QuotaLedger,
  RecordOutcome,
  RecordRequest,
  ReserveOutcome,
  ReserveRequest,
  Settlement,
} from './ledger';
import {
  checkLeaseMs,
  checkRecordRequest,
  checkReserveRequest,
  checkSessionId,
  checkSettle,
  closedLedgerError,
  readClock,
  resolveLedgerConfig,
} from './ledgerInput';
import { checkLedgerOptions } from './ledgerConfigSchema';
import {
  createLedgerState,
  ledgerWindow,
  pruneDays,
  recordIn,
  renewIn,
  reserveIn,
  settleIn,
  snapshotIn,
  sweepExpired,
} from './ledgerState';
import type { LedgerWindow } from './ledgerState';

/**
 * The reference ledger: the books live in this process and every operation is one synchronous
 * step on them (no await between check and change), so concurrent callers in this process can
 * never interleave inside an operation. Nothing survives the process; use the file ledger for
 * that, the Redis ledger to share across hosts.
 *
 * @default dailyReset { at: '00:00', timeZone: 'UTC' }, now Date.now
 * @example
 * const ledger = createMemoryLedger({
 *   limits: { claude: { dailyLimit: 1_000_000, maxConcurrent: 10 }, openai: { dailyLimit: 500_000, maxConcurrent: 8 } },
 * });
 * const outcome = await ledger.reserve({ provider: 'claude', sessionId: 's-1', tokens: 20_000, leaseMs: 2 * 3_600_000 });
 * if (outcome.status === 'reserved') await ledger.settle('s-1', 12_345); // 7,655 tokens come back
 */
export function createMemoryLedger(config: LedgerConfig): QuotaLedger {
  checkLedgerOptions('memory', config);
  const { limits, dailyReset, now } = resolveLedgerConfig(config);
  const state = createLedgerState();
  let closed = false;
  let lastDay = '';

  /** The clock and the window for one operation; old days are pruned when the window moves on. */
  function begin(): { at: number; window: LedgerWindow } {
    if (closed) throw closedLedgerError('memory');
    const at = readClock(now);
    const window = ledgerWindow(at, dailyReset);
    if (window.day !== lastDay) {
      pruneDays(state, window);
      lastDay = window.day;
    }
    return { at, window };
  }

  return {
    async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
      const checked = checkReserveRequest(request);
      const { at, window } = begin();
      return reserveIn(state, limits, window, at, checked);
    },
    async settle(sessionId: string, usedTokens: number, provider?: ProviderId): Promise<Settlement> {
      const checked = checkSettle(sessionId, usedTokens, provider);
      const { at, window } = begin();
      return settleIn(state, limits, window, at, checked);
    },
    async record(request: RecordRequest): Promise<RecordOutcome> {
      const checked = checkRecordRequest(request);
      const { at, window } = begin();
      return recordIn(state, limits, window, at, checked);
    },
    async renew(sessionId: string, leaseMs: number): Promise<boolean> {
      const id = checkSessionId(sessionId);
      const lease = checkLeaseMs(leaseMs);
      const { at, window } = begin();
      return renewIn(state, window, at, id, lease);
    },
    async sweep(): Promise<number> {
      const { at, window } = begin();
      return sweepExpired(state, window, at);
    },
    async snapshot(): Promise<LedgerSnapshot> {
      const { at, window } = begin();
      return snapshotIn(state, limits, window, at);
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
