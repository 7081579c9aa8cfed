import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type {
  LedgerSnapshot,
  ProviderLedgerState,
  RecordOutcome,
  ReserveOutcome,
  ReserveRequest,
  Settlement,
} from './ledger';
import {
  addLive,
  changeLive,
  dayRecord,
  dropLive,
  expire,
  expiredRecord,
  settledRecord,
  sweepExpired,
} from './ledgerBooks';
import type { LedgerState } from './ledgerBooks';
import type { LedgerWindow } from './ledgerWindow';
import { duplicateSessionError, providerMismatchError, unknownSessionError } from './ledgerInput';
import type { CheckedRecord, CheckedSettle, ProviderLimits } from './ledgerInput';

export { KEEP_TOTALS_DAYS, addLive, createLedgerState, emptyDay, pruneDays, sweepExpired } from './ledgerBooks';
export type { DayRecord, ExpiredRecord, LedgerState, LiveReservation, SettledRecord } from './ledgerBooks';
export { ledgerWindow, shiftDay } from './ledgerWindow';
export type { LedgerWindow } from './ledgerWindow';

/**
 * The ledger's transitions, as plain synchronous functions on the plain data of ledgerBooks.ts. The
 * memory ledger applies them to state it keeps; the file ledger applies them to state it re-reads
 * under its lock and writes back. The Redis scripts (redisScripts.ts) implement the same rules in Lua.
 *
 * Invariants (checked by test/helpers/ledgerContract.ts and the property test):
 * - a reservation is admitted only when `used(today) + reserved + tokens <= dailyLimit` and the
 *   provider's live reservations are fewer than `maxConcurrent`;
 * - reservations are not tied to a window: a session admitted before a reset keeps its slot and its
 *   tokens count as reserved in the new window until it settles or its lease runs out;
 * - usage is counted in the window in which it is recorded or settled, in full (it may exceed the
 *   limit), once: a reservation remembers the usage already counted for it (`used`);
 * - per provider and window, `used + reserved <= dailyLimit + overrun`, where a reservation
 *   reserves `max(0, tokens - used)` and `overrun` grows only by usage that found no budget left;
 * - a lease has run out when `expiresAt <= now`; a lease that ran out is never renewed or refunded.
 */

function providerLoad(state: LedgerState, provider: ProviderId): { reserved: number; active: number } {
  return state.load[provider];
}

/** The earliest lease expiry of a provider's live reservations (for a concurrency refusal's retryAfterMs). */
function earliestExpiryOf(state: LedgerState, provider: ProviderId): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const reservation of state.reservations.values())
    if (reservation.provider === provider) earliest = Math.min(earliest, reservation.expiresAt);
  return earliest;
}

/** Sweeps, then checks budget and concurrency and reserves, in one synchronous step. */
export function reserveIn(
  state: LedgerState,
  limits: ProviderLimits,
  window: LedgerWindow,
  now: number,
  request: ReserveRequest,
): ReserveOutcome {
  const { provider, sessionId, tokens, leaseMs } = request;
  sweepExpired(state, window, now);
  if (state.reservations.has(sessionId)) throw duplicateSessionError(sessionId, 'live');
  if (settledRecord(state, window, sessionId)) throw duplicateSessionError(sessionId, 'settled');
  const { dailyLimit, maxConcurrent } = limits[provider];
  if (dailyLimit === 0 || maxConcurrent === 0)
    return { status: 'refused', provider, code: 'no-provider', retryAfterMs: null };
  const load = providerLoad(state, provider);
  if (load.active >= maxConcurrent) {
    return {
      status: 'refused',
      provider,
      code: 'concurrency-limit',
      retryAfterMs: Math.max(0, earliestExpiryOf(state, provider) - now),
    };
  }
  const used = state.days.get(window.day)?.used[provider] ?? 0;
  if (used + load.reserved + tokens > dailyLimit) {
    // A request larger than the whole daily limit can never succeed: no time to wait for.
    return {
      status: 'refused',
      provider,
      code: 'quota-exhausted',
      retryAfterMs: tokens > dailyLimit ? null : window.nextResetAt - now,
    };
  }
  const expiresAt = now + leaseMs;
  addLive(state, sessionId, { provider, tokens, expiresAt, used: 0 });
  return { status: 'reserved', provider, sessionId, tokens, expiresAt };
}

/**
 * Counts `delta` tokens of usage on a provider in today's window, after the books already reflect
 * the reservation it came from; whatever now lies beyond `dailyLimit + overrun` is overrun.
 */
function countUsage(
  state: LedgerState,
  limits: ProviderLimits,
  window: LedgerWindow,
  provider: ProviderId,
  delta: number,
): void {
  if (delta === 0) return;
  const today = dayRecord(state, window.day);
  today.used[provider] += delta;
  const excess =
    today.used[provider] +
    providerLoad(state, provider).reserved -
    limits[provider].dailyLimit -
    today.overrun[provider];
  if (excess > 0) today.overrun[provider] += excess;
}

/**
 * Ends a reservation: usage not recorded yet is counted in today's window, the rest of a live
 * reservation returned. A repeated settle (this window or the one before) returns the first settlement.
 */
export function settleIn(
  state: LedgerState,
  limits: ProviderLimits,
  window: LedgerWindow,
  now: number,
  request: CheckedSettle,
): Settlement {
  const { sessionId } = request;
  const prior = settledRecord(state, window, sessionId);
  if (prior) {
    if (request.provider !== null && request.provider !== prior.provider)
      throw providerMismatchError(sessionId, prior.provider, request.provider);
    return { sessionId, provider: prior.provider, usedTokens: prior.usedTokens, returnedTokens: prior.returnedTokens };
  }
  const live = state.reservations.get(sessionId);
  let provider: ProviderId;
  let returnedTokens = 0;
  let counted = 0;
  if (live) {
    if (request.provider !== null && request.provider !== live.provider)
      throw providerMismatchError(sessionId, live.provider, request.provider);
    provider = live.provider;
    counted = live.used;
    if (live.expiresAt > now) returnedTokens = Math.max(0, live.tokens - Math.max(request.usedTokens, counted));
    dropLive(state, sessionId, live);
  } else {
    const expired = expiredRecord(state, window, sessionId);
    if (expired !== undefined && request.provider !== null && request.provider !== expired.provider) {
      throw providerMismatchError(sessionId, expired.provider, request.provider);
    }
    const known = expired?.provider ?? request.provider;
    if (known === null) throw unknownSessionError(sessionId);
    provider = known;
    counted = expired?.used ?? 0;
  }
  const usedTokens = Math.max(request.usedTokens, counted);
  countUsage(state, limits, window, provider, usedTokens - counted);
  dayRecord(state, window.day).settled.set(sessionId, { provider, usedTokens, returnedTokens });
  return { sessionId, provider, usedTokens, returnedTokens };
}

/**
 * Counts a reservation's usage so far and, with `addTokens`, grows the live reservation when the
 * budget allows, in one step (the usage counts either way).
 */
export function recordIn(
  state: LedgerState,
  limits: ProviderLimits,
  window: LedgerWindow,
  now: number,
  request: CheckedRecord,
): RecordOutcome {
  const { sessionId, addTokens } = request;
  sweepExpired(state, window, now);
  const prior = settledRecord(state, window, sessionId);
  if (prior) {
    if (request.provider !== null && request.provider !== prior.provider)
      throw providerMismatchError(sessionId, prior.provider, request.provider);
    return notLive(sessionId, prior.provider, prior.usedTokens, addTokens);
  }
  const live = state.reservations.get(sessionId);
  if (!live) {
    let expired = expiredRecord(state, window, sessionId);
    if (expired !== undefined && request.provider !== null && request.provider !== expired.provider) {
      throw providerMismatchError(sessionId, expired.provider, request.provider);
    }
    if (expired === undefined) {
      if (request.provider === null) throw unknownSessionError(sessionId);
      expired = { provider: request.provider, used: 0 };
      dayRecord(state, window.day).expired.set(sessionId, expired);
    }
    const delta = Math.max(0, request.usedTokens - expired.used);
    expired.used += delta;
    countUsage(state, limits, window, expired.provider, delta);
    return notLive(sessionId, expired.provider, expired.used, addTokens);
  }
  const { provider } = live;
  if (request.provider !== null && request.provider !== provider)
    throw providerMismatchError(sessionId, provider, request.provider);
  const delta = Math.max(0, request.usedTokens - live.used);
  changeLive(state, live, (r) => {
    r.used += delta;
  });
  countUsage(state, limits, window, provider, delta);
  if (addTokens > 0) {
    const { dailyLimit, maxConcurrent } = limits[provider];
    const base = {
      status: 'refused' as const,
      sessionId,
      provider,
      live: true,
      tokens: live.tokens,
      usedTokens: live.used,
    };
    if (dailyLimit === 0 || maxConcurrent === 0) return { ...base, code: 'no-provider', retryAfterMs: null };
    const grows = Math.max(0, live.tokens + addTokens - live.used) - Math.max(0, live.tokens - live.used);
    const used = state.days.get(window.day)?.used[provider] ?? 0;
    if (used + providerLoad(state, provider).reserved + grows > dailyLimit) {
      return {
        ...base,
        code: 'quota-exhausted',
        retryAfterMs: addTokens > dailyLimit ? null : window.nextResetAt - now,
      };
    }
    changeLive(state, live, (r) => {
      r.tokens += addTokens;
    });
  }
  return { status: 'recorded', sessionId, provider, live: true, tokens: live.tokens, usedTokens: live.used };
}

function notLive(sessionId: string, provider: ProviderId, usedTokens: number, addTokens: number): RecordOutcome {
  if (addTokens > 0)
    return {
      status: 'refused',
      sessionId,
      provider,
      code: 'lease-expired',
      retryAfterMs: null,
      live: false,
      tokens: 0,
      usedTokens,
    };
  return { status: 'recorded', sessionId, provider, live: false, tokens: 0, usedTokens };
}

/** Extends a live lease to `now + leaseMs`; false when it is gone or has already run out (then it is expired now). */
export function renewIn(
  state: LedgerState,
  window: LedgerWindow,
  now: number,
  sessionId: string,
  leaseMs: number,
): boolean {
  const live = state.reservations.get(sessionId);
  if (!live) return false;
  if (live.expiresAt <= now) {
    expire(state, window, sessionId, live);
    return false;
  }
  live.expiresAt = now + leaseMs;
  // A shorter lease than before can run out before the earliest one known.
  state.nextExpiry = Math.min(state.nextExpiry, live.expiresAt);
  return true;
}

/** Sweeps, then reports the current window per provider. */
export function snapshotIn(
  state: LedgerState,
  limits: ProviderLimits,
  window: LedgerWindow,
  now: number,
): LedgerSnapshot {
  sweepExpired(state, window, now);
  const providers = {} as Record<ProviderId, ProviderLedgerState>;
  for (const provider of PROVIDER_IDS) {
    const load = providerLoad(state, provider);
    providers[provider] = {
      dailyLimit: limits[provider].dailyLimit,
      maxConcurrent: limits[provider].maxConcurrent,
      used: state.days.get(window.day)?.used[provider] ?? 0,
      reserved: load.reserved,
      active: load.active,
      overrun: state.days.get(window.day)?.overrun[provider] ?? 0,
    };
  }
  return { day: window.day, nextResetAt: window.nextResetAt, providers };
}
