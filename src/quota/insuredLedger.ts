import type { ProviderId } from '../../machines/providers';
import { AgentvisorError, isAgentvisorError } from '../errors';
import type {
  LedgerSnapshot,
  QuotaLedger,
  RecordOutcome,
  RecordRequest,
  ReserveOutcome,
  ReserveRequest,
  Settlement,
} from './ledger';

/** Whether the primary ledger answers: `degraded` from its first `ledger-unavailable` until it answers again. */
export type InsuredLedgerState = 'ok' | 'degraded';

export interface InsuredLedgerOptions {
  /**
   * Decides the reservations made while the primary is unreachable (e.g. a memory ledger with each
   * limit ÷ the number of hosts). null: nothing is admitted then (`ledger-unavailable`, fail-closed).
   */
  readonly insurance: QuotaLedger | null;
  /** Called on each change of state, with the primary's error when it became unreachable. */
  readonly onState?: (state: InsuredLedgerState, reason: string | null) => void;
}

/** A QuotaLedger that falls back to an insurance ledger while its primary is unreachable. */
export interface InsuredLedger extends QuotaLedger {
  readonly state: InsuredLedgerState;
  /** True for a reservation the insurance made (during an outage): the primary never held it. */
  isInsured(sessionId: string): boolean;
}

/**
 * Wraps a shared ledger (file or Redis) with an insurance ledger, in the spirit of
 * rate-limiter-flexible's `insuranceLimiter`. While the primary answers, every call goes to it. The
 * first `ledger-unavailable` from it makes the ledger `degraded`: from then on new reservations go
 * to the insurance (or are refused with `ledger-unavailable` without one), and the primary is only
 * asked again by `snapshot` and `settle`; the first answer from it makes the ledger `ok` again, and
 * new reservations go to the primary at once. A reservation the insurance made stays there until
 * it is settled: its renewals and top-ups go to the insurance, and its settlement is counted in
 * the insurance and then in the primary (by provider, as a session the primary never saw), so the
 * shared budget has all of its usage. That settlement throws `ledger-unavailable` while the primary
 * is down; a later retry counts nothing twice (`settle` is idempotent in both ledgers).
 * `close` closes the insurance; the primary is closed by its owner.
 *
 * @example
 * const shared = createRedisLedger({ redis: 'redis://ledger:6379', limits });
 * const ledger = createInsuredLedger(shared, { insurance: createMemoryLedger({ limits: halfOfLimits }) });
 * await ledger.reserve({ provider: 'claude', sessionId: 's-1', tokens: 20_000, leaseMs: 60_000 }); // from the insurance while Redis is down
 */
export function createInsuredLedger(primary: QuotaLedger, options: InsuredLedgerOptions): InsuredLedger {
  let state: InsuredLedgerState = 'ok';
  /** The insurance's live reservations, by id, with their provider (for the settlement in the primary). */
  const insured = new Map<string, ProviderId>();

  const become = (next: InsuredLedgerState, reason: string | null): void => {
    if (state === next) return;
    state = next;
    options.onState?.(next, reason);
  };

  /** One call to the primary: its answer makes the ledger ok, its `ledger-unavailable` degraded (and is thrown on). */
  async function onPrimary<T>(run: () => Promise<T>): Promise<T> {
    try {
      const value = await run();
      become('ok', null);
      return value;
    } catch (error) {
      if (isAgentvisorError(error, 'ledger-unavailable')) become('degraded', error.message);
      throw error;
    }
  }

  const unavailable = (): AgentvisorError =>
    new AgentvisorError(
      'ledger-unavailable',
      'the shared quota ledger cannot be reached and no insurance ledger admits in its place (fail-closed)',
    );

  async function reserveInsured(request: ReserveRequest): Promise<ReserveOutcome> {
    if (options.insurance === null) throw unavailable();
    const outcome = await options.insurance.reserve(request);
    if (outcome.status === 'reserved') insured.set(request.sessionId, request.provider);
    return outcome;
  }

  return {
    get state() {
      return state;
    },
    isInsured: (sessionId) => insured.has(sessionId),
    async reserve(request) {
      if (state === 'degraded') return reserveInsured(request);
      try {
        return await onPrimary(() => primary.reserve(request));
      } catch (error) {
        if (!isAgentvisorError(error, 'ledger-unavailable')) throw error;
        return reserveInsured(request);
      }
    },
    async record(request: RecordRequest): Promise<RecordOutcome> {
      if (insured.has(request.sessionId) && options.insurance !== null) return options.insurance.record(request);
      // A top-up or write-through of a primary reservation waits for the primary: nothing else can grant it.
      if (state === 'degraded') throw unavailable();
      return onPrimary(() => primary.record(request));
    },
    async renew(sessionId, leaseMs) {
      if (insured.has(sessionId) && options.insurance !== null) return options.insurance.renew(sessionId, leaseMs);
      if (state === 'degraded') throw unavailable();
      return onPrimary(() => primary.renew(sessionId, leaseMs));
    },
    async settle(sessionId, usedTokens, provider): Promise<Settlement> {
      const insuredOn = insured.get(sessionId);
      if (insuredOn !== undefined && options.insurance !== null) {
        const local = await options.insurance.settle(sessionId, usedTokens, insuredOn);
        // Nothing used: nothing for the shared budget, which never held the reservation.
        if (usedTokens === 0) {
          insured.delete(sessionId);
          return local;
        }
        const settled = await onPrimary(() => primary.settle(sessionId, usedTokens, insuredOn));
        insured.delete(sessionId);
        return settled;
      }
      return onPrimary(() => primary.settle(sessionId, usedTokens, provider));
    },
    async sweep() {
      const expired = options.insurance === null ? 0 : await options.insurance.sweep();
      return expired + (state === 'degraded' ? 0 : await onPrimary(() => primary.sweep()));
    },
    snapshot: (): Promise<LedgerSnapshot> => onPrimary(() => primary.snapshot()),
    async close() {
      await options.insurance?.close();
    },
  };
}
