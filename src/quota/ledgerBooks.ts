import type { ProviderId } from '../../machines/providers';
import { shiftDay } from './ledgerWindow';
import type { LedgerWindow } from './ledgerWindow';

/**
 * The ledger's books as plain data, and the bookkeeping every transition in ledgerState.ts goes
 * through: live reservations with their per-provider load, day records, expiry and pruning.
 */

export interface LiveReservation {
  readonly provider: ProviderId;
  /** Tokens granted: the reservation plus its top-ups. */
  tokens: number;
  expiresAt: number;
  /** Usage already counted for this reservation (by `record`). */
  used: number;
}

/** A lease that ran out: where its usage counts, and how much of it was counted already. */
export interface ExpiredRecord {
  readonly provider: ProviderId;
  used: number;
}

export interface SettledRecord {
  readonly provider: ProviderId;
  readonly usedTokens: number;
  readonly returnedTokens: number;
}

export interface DayRecord {
  readonly used: Record<ProviderId, number>;
  /** Usage counted in this window that no budget covered (see ProviderLedgerState.overrun). */
  readonly overrun: Record<ProviderId, number>;
  /** Settlements of this window, by session id: a repeated settle returns the first one. */
  readonly settled: Map<string, SettledRecord>;
  /** Leases that ran out in this window, by session id: a late settle still knows the provider. */
  readonly expired: Map<string, ExpiredRecord>;
}

export interface LedgerState {
  /** Live reservations; change them only through addLive / dropLive / changeLive, which keep `load` exact. */
  readonly reservations: Map<string, LiveReservation>;
  /** Keyed by window day (YYYY-MM-DD). */
  readonly days: Map<string, DayRecord>;
  /** Per provider: the live reservations' remaining tokens (`max(0, tokens - used)`) and their number. */
  readonly load: Record<ProviderId, { reserved: number; active: number }>;
  /** No lease runs out before this (a lower bound): a sweep before it has nothing to do. */
  nextExpiry: number;
}

/** Daily totals of `used` are kept this many windows back (the current one included); see docs/ledger.md. */
export const KEEP_TOTALS_DAYS = 7;

export function createLedgerState(): LedgerState {
  return {
    reservations: new Map(),
    days: new Map(),
    load: { claude: { reserved: 0, active: 0 }, openai: { reserved: 0, active: 0 } },
    nextExpiry: Number.POSITIVE_INFINITY,
  };
}

function remainingOf(r: LiveReservation): number {
  return Math.max(0, r.tokens - r.used);
}

/** Adds a live reservation (admission, or a file being read). */
export function addLive(state: LedgerState, sessionId: string, reservation: LiveReservation): void {
  state.reservations.set(sessionId, reservation);
  const load = state.load[reservation.provider];
  load.reserved += remainingOf(reservation);
  load.active += 1;
  state.nextExpiry = Math.min(state.nextExpiry, reservation.expiresAt);
}

/** Removes a live reservation (settled or expired), taking it off its provider's load. */
export function dropLive(state: LedgerState, sessionId: string, reservation: LiveReservation): void {
  state.reservations.delete(sessionId);
  const load = state.load[reservation.provider];
  load.reserved -= remainingOf(reservation);
  load.active -= 1;
}

/** Changes a live reservation's tokens or usage, keeping the provider's load in step. */
export function changeLive(
  state: LedgerState,
  reservation: LiveReservation,
  change: (r: LiveReservation) => void,
): void {
  const before = remainingOf(reservation);
  change(reservation);
  state.load[reservation.provider].reserved += remainingOf(reservation) - before;
}

export function emptyDay(): DayRecord {
  return { used: { claude: 0, openai: 0 }, overrun: { claude: 0, openai: 0 }, settled: new Map(), expired: new Map() };
}

/** The record of `day`, created empty when the books have none yet. */
export function dayRecord(state: LedgerState, day: string): DayRecord {
  let record = state.days.get(day);
  if (!record) {
    record = emptyDay();
    state.days.set(day, record);
  }
  return record;
}

/** A session's settlement in this window or the one before. */
export function settledRecord(state: LedgerState, window: LedgerWindow, sessionId: string): SettledRecord | undefined {
  return (
    state.days.get(window.day)?.settled.get(sessionId) ?? state.days.get(window.previousDay)?.settled.get(sessionId)
  );
}

/** A session's run-out lease in this window or the one before. */
export function expiredRecord(state: LedgerState, window: LedgerWindow, sessionId: string): ExpiredRecord | undefined {
  return (
    state.days.get(window.day)?.expired.get(sessionId) ?? state.days.get(window.previousDay)?.expired.get(sessionId)
  );
}

/** Ends a live reservation whose lease ran out, remembering its provider and counted usage in today's window. */
export function expire(
  state: LedgerState,
  window: LedgerWindow,
  sessionId: string,
  reservation: LiveReservation,
): void {
  dropLive(state, sessionId, reservation);
  dayRecord(state, window.day).expired.set(sessionId, { provider: reservation.provider, used: reservation.used });
}

/** Expires every reservation whose lease ran out; returns how many. */
export function sweepExpired(state: LedgerState, window: LedgerWindow, now: number): number {
  // Nothing can have run out yet: O(1) instead of a walk over every live lease.
  if (now < state.nextExpiry) return 0;
  let count = 0;
  let next = Number.POSITIVE_INFINITY;
  for (const [sessionId, reservation] of state.reservations) {
    if (reservation.expiresAt <= now) {
      expire(state, window, sessionId, reservation);
      count += 1;
    } else {
      next = Math.min(next, reservation.expiresAt);
    }
  }
  state.nextExpiry = next;
  return count;
}

/**
 * Forgets what is no longer needed: settled and expired session ids older than the previous
 * window, and daily totals older than KEEP_TOTALS_DAYS windows. Returns true when anything went.
 */
export function pruneDays(state: LedgerState, window: LedgerWindow): boolean {
  const oldestTotals = shiftDay(window.day, -(KEEP_TOTALS_DAYS - 1));
  let changed = false;
  for (const [day, record] of state.days) {
    if (day < oldestTotals) {
      state.days.delete(day);
      changed = true;
    } else if (day < window.previousDay && (record.settled.size > 0 || record.expired.size > 0)) {
      record.settled.clear();
      record.expired.clear();
      changed = true;
    }
  }
  return changed;
}
