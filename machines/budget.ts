import type { ProviderId } from './providers';

/** One provider's budget as the coordinator owns it. All counts are whole tokens or sessions. */
export interface ProviderBudget {
  /** Tokens allowed per daily window; 0 disables the provider. */
  readonly dailyLimit: number;
  /** Tokens consumed in the current window (reported usage, counted once). */
  readonly used: number;
  /** Tokens allocated to live sessions and not yet used. */
  readonly reserved: number;
  /** Live sessions (admitted and not yet released), including those still authenticating. */
  readonly active: number;
  readonly maxConcurrent: number;
  /** Tokens reported beyond what the budget could cover in this window (real usage, never dropped). */
  readonly overrun: number;
  /** Whether `quota.low` was already announced in this window. */
  readonly lowAnnounced: boolean;
}

export type Budgets = Readonly<Record<ProviderId, ProviderBudget>>;

export const REFUSAL_CODES = ['quota-exhausted', 'concurrency-limit', 'no-provider'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type AdmissionDecision =
  | { readonly status: 'admit'; readonly provider: ProviderId; readonly allocation: number }
  | { readonly status: 'refuse'; readonly code: RefusalCode };

export function availableTokens(b: ProviderBudget): number {
  return Math.max(0, b.dailyLimit - b.used - b.reserved);
}

/**
 * The allocation rule: `min(estimate, floor(available / 2))`, so one session never takes more than
 * half of what is left and later sessions still find room.
 */
export function allocationFor(estimate: number, available: number): number {
  return Math.min(estimate, Math.floor(available / 2));
}

/**
 * Why one provider cannot take a session of this estimate right now, or null when it can. `cap`
 * lowers the concurrency limit (a half-open circuit allows a probe or two; 0: the circuit is open).
 */
export function refusalFor(
  b: ProviderBudget,
  estimate: number,
  cap: number = Number.POSITIVE_INFINITY,
): RefusalCode | null {
  if (b.dailyLimit === 0 || b.maxConcurrent === 0 || cap <= 0) return 'no-provider';
  if (b.active >= Math.min(b.maxConcurrent, cap)) return 'concurrency-limit';
  const available = availableTokens(b);
  if (available < estimate || allocationFor(estimate, available) <= 0) return 'quota-exhausted';
  return null;
}

/**
 * Picks the first provider in `candidates` that can admit the session. When none can, the refusal
 * names the most useful reason: concurrency (a slot frees soon) over quota (frees at reset) over
 * no-provider (disabled everywhere).
 */
export function decideAdmission(
  budgets: Budgets,
  candidates: readonly ProviderId[],
  estimate: number,
  caps?: Readonly<Record<ProviderId, number>>,
): AdmissionDecision {
  let best: RefusalCode = 'no-provider';
  for (const provider of candidates) {
    const b = budgets[provider];
    const refusal = refusalFor(b, estimate, caps?.[provider]);
    if (refusal === null) {
      return { status: 'admit', provider, allocation: allocationFor(estimate, availableTokens(b)) };
    }
    // Concurrency beats anything; quota (or no-provider) only replaces no-provider.
    if (refusal === 'concurrency-limit' || best === 'no-provider') best = refusal;
  }
  return { status: 'refuse', code: best };
}

export function withBudget(budgets: Budgets, provider: ProviderId, patch: Partial<ProviderBudget>): Budgets {
  return { ...budgets, [provider]: { ...budgets[provider], ...patch } };
}

/** Reserve an admitted allocation and take a concurrency slot. */
export function reserve(budgets: Budgets, provider: ProviderId, allocation: number): Budgets {
  const b = budgets[provider];
  return withBudget(budgets, provider, { reserved: b.reserved + allocation, active: b.active + 1 });
}

/** A session left the provider: its unused allocation comes back and its slot frees. */
export function settle(budgets: Budgets, provider: ProviderId, returnedTokens: number): Budgets {
  const b = budgets[provider];
  return withBudget(budgets, provider, { reserved: b.reserved - returnedTokens, active: b.active - 1 });
}

export interface UsageOutcome {
  readonly budgets: Budgets;
  /** Tokens added to the session's allocation (covers the overage plus a fresh share), 0 if none. */
  readonly topUp: number;
  /** Tokens of real usage the window could not cover; > 0 means the top-up was refused. */
  readonly overrun: number;
}

/**
 * Counts usage reported by a session. `withinTokens` came out of the session's allocation (reserved
 * moves to used); the rest is overage, which is counted too (real usage is never dropped) and is
 * covered by a top-up when the free budget allows: the overage plus `min(estimate, floor(free / 2))`.
 */
export function recordUsage(
  budgets: Budgets,
  provider: ProviderId,
  tokens: number,
  withinTokens: number,
  estimate: number,
): UsageOutcome {
  const b = budgets[provider];
  const overage = tokens - withinTokens;
  const used = b.used + tokens;
  const reserved = b.reserved - withinTokens;
  if (overage === 0) return { budgets: withBudget(budgets, provider, { used, reserved }), topUp: 0, overrun: 0 };
  const free = b.dailyLimit - used - reserved;
  if (free < 0) {
    // Only this report's overage can be new overrun: an earlier overrun is already in `free`.
    const overrun = Math.min(overage, -free);
    return {
      budgets: withBudget(budgets, provider, { used, reserved, overrun: b.overrun + overrun }),
      topUp: 0,
      overrun,
    };
  }
  const extra = allocationFor(estimate, free);
  return {
    budgets: withBudget(budgets, provider, { used, reserved: reserved + extra }),
    topUp: overage + extra,
    overrun: 0,
  };
}
