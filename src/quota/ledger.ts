import type { ProviderId } from '../../machines/providers';

/**
 * The quota ledger contract (architecture §4). Every backend (memory, file, redis) implements it
 * and passes the one contract suite in test/helpers/ledgerContract.ts.
 *
 * Invariants every backend keeps, under any interleaving of callers (threads, processes, hosts):
 * - per provider and daily window, at every moment: `used + reserved <= dailyLimit + overrun`, where
 *   `overrun` only grows by real usage (at `record` or `settle`) beyond its reservation that found
 *   no budget left; `reserve` and top-ups (`record` with `addTokens`) never grant beyond the limit;
 * - per provider: live reservations (`active`) never exceed `maxConcurrent`;
 * - a settled usage record is never lost (file: fsync before the promise resolves; redis: the
 *   script's write is acknowledged);
 * - a reservation whose lease ran out without a `renew` gives its tokens and its slot back at the
 *   next `sweep`, `reserve` or `snapshot` (whichever comes first).
 *
 * Expected outcomes (refused for budget or concurrency) are returned values; only infrastructure
 * failures throw, as `AgentvisorError` with code `ledger-unavailable` (or `ledger-corrupt` for a
 * ledger file that cannot be parsed, which is never reset silently).
 */
export interface QuotaLedger {
  /** Checks budget and concurrency and reserves, atomically. */
  reserve(request: ReserveRequest): Promise<ReserveOutcome>;
  /**
   * Ends a reservation: `usedTokens` are counted in full, the rest of the reservation is returned.
   * Idempotent per session id within a window (and the window before it): settling again returns
   * the first settlement and counts nothing twice. Settling a session whose lease already expired
   * still counts the usage and returns `returnedTokens: 0`; the ledger remembers which provider an
   * expired lease was on. For a session the ledger never saw (or whose records were pruned) the
   * usage can only be counted when `provider` says where: without it the call throws
   * `invalid-request` (reason `unknown-session`) and counts nothing. A `provider` that contradicts
   * the ledger's record throws `invalid-request` (reason `provider-mismatch`).
   */
  settle(sessionId: string, usedTokens: number, provider?: ProviderId): Promise<Settlement>;
  /**
   * Counts a reservation's usage so far without ending it (`usedTokens` is cumulative: only the
   * increase over what was recorded before counts) and, with `addTokens`, grows the live
   * reservation by that much (a top-up) under the same budget check as `reserve`, all in one atomic
   * step. The usage is counted even when the top-up is refused. Usage of a lease that ran out still
   * counts; a settled session's usage is final and is not changed. For a session the ledger never
   * saw, `provider` says where the usage counts (else `invalid-request`, reason `unknown-session`).
   */
  record(request: RecordRequest): Promise<RecordOutcome>;
  /** Extends a live reservation's lease to now + leaseMs. False when it is gone (expired or settled). */
  renew(sessionId: string, leaseMs: number): Promise<boolean>;
  /** Expires reservations whose lease ran out; returns how many it expired. */
  sweep(): Promise<number>;
  /** Per provider, for the current daily window. */
  snapshot(): Promise<LedgerSnapshot>;
  /**
   * Releases resources (connections, file handles, timers). Reservations stay as they are. Calls
   * after `close` reject with `ledger-unavailable` (reason `closed`); closing twice is harmless.
   */
  close(): Promise<void>;
}

export interface ReserveRequest {
  readonly provider: ProviderId;
  /**
   * Unique per reservation, 1-256 characters; reusing a live id, or one settled in this window or
   * the one before, is refused with `invalid-request` (a thrown error).
   */
  readonly sessionId: string;
  /** Whole tokens, >= 1. */
  readonly tokens: number;
  /** Whole milliseconds, >= 1. */
  readonly leaseMs: number;
}

export interface Reservation {
  readonly status: 'reserved';
  readonly provider: ProviderId;
  readonly sessionId: string;
  readonly tokens: number;
  /** Epoch ms when the lease runs out unless renewed. */
  readonly expiresAt: number;
}

export interface Refusal {
  readonly status: 'refused';
  readonly provider: ProviderId;
  /** `no-provider`: the provider is disabled (limit 0). */
  readonly code: 'quota-exhausted' | 'concurrency-limit' | 'no-provider';
  /** When a retry can succeed: the earliest lease expiry (concurrency) or the daily reset (quota); null when unknown. */
  readonly retryAfterMs: number | null;
}

export type ReserveOutcome = Reservation | Refusal;

export interface RecordRequest {
  readonly sessionId: string;
  /** The reservation's usage so far (cumulative, whole tokens). A value below what was recorded before changes nothing. */
  readonly usedTokens: number;
  /** Tokens to add to the live reservation (a top-up), all or nothing. @default 0 */
  readonly addTokens?: number;
  /** Where the usage counts when the ledger does not know the session (as for `settle`). */
  readonly provider?: ProviderId;
}

/** The usage was counted; `addTokens` (if any) was added to the live reservation. */
export interface RecordedUsage {
  readonly status: 'recorded';
  readonly sessionId: string;
  readonly provider: ProviderId;
  /** Whether the reservation is still live (false: its lease ran out, or it was settled or never made). */
  readonly live: boolean;
  /** The live reservation's tokens after this call (0 when it is not live). */
  readonly tokens: number;
  /** The usage counted for this reservation so far. */
  readonly usedTokens: number;
}

/** The usage was counted, but `addTokens` was not added. */
export interface TopUpRefusal {
  readonly status: 'refused';
  readonly sessionId: string;
  readonly provider: ProviderId;
  /** `quota-exhausted`: the budget has no room; `no-provider`: the provider is disabled; `lease-expired`: no live reservation to grow. */
  readonly code: 'quota-exhausted' | 'no-provider' | 'lease-expired';
  /** When a retry can succeed (the daily reset); null when no wait helps. */
  readonly retryAfterMs: number | null;
  readonly live: boolean;
  readonly tokens: number;
  readonly usedTokens: number;
}

export type RecordOutcome = RecordedUsage | TopUpRefusal;

export interface Settlement {
  readonly sessionId: string;
  readonly provider: ProviderId;
  readonly usedTokens: number;
  /** Reserved tokens given back (0 when the lease had already expired). */
  readonly returnedTokens: number;
}

export interface ProviderLedgerState {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
  readonly used: number;
  readonly reserved: number;
  /** Live reservations (slots in use). */
  readonly active: number;
  /**
   * Usage counted in this window that no budget covered: tokens spent beyond a reservation when
   * `used + reserved` was already at `dailyLimit`. Always `used + reserved <= dailyLimit + overrun`.
   */
  readonly overrun: number;
}

export interface LedgerSnapshot {
  /** The daily window's key (local date YYYY-MM-DD in the configured time zone). */
  readonly day: string;
  /** Epoch ms when the next window starts. */
  readonly nextResetAt: number;
  readonly providers: Readonly<Record<ProviderId, ProviderLedgerState>>;
}

/** What every backend is built from. */
export interface LedgerConfig {
  readonly limits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>;
  /** Daily window: see src/quota/dailyWindow.ts. @default { at: '00:00', timeZone: 'UTC' } */
  readonly dailyReset?: { readonly at: string; readonly timeZone: string };
  /** Wall clock (epoch ms). @default Date.now */
  readonly now?: () => number;
}
