import type { ProviderId } from './providers';

/**
 * A circuit breaker per provider, as pure data the coordinator keeps in context.
 *
 * closed: admissions go through; failures and successes are counted in a sliding window of
 *   `windowMs` (ten buckets). When the window holds at least `minRequests` outcomes and more than
 *   `allowedFailures` failures, the circuit opens.
 * open: no admissions until `openUntil` (`now` + `cooldownMs`).
 * half-open (from `openUntil` on): at most `halfOpenProbes` sessions run on the provider at once; the
 *   first success closes the circuit, the first failure opens it again for another cooldown.
 *
 * Open → half-open happens by the passage of time, so it is derived from `now` (`circuitState`):
 * no timer has to fire for the state to be right. The coordinator's `clock.tick` at `openUntil`
 * also stores it (so `openUntil` is no longer due) and drains the queue.
 */
export interface CircuitConfig {
  readonly windowMs: number;
  readonly allowedFailures: number;
  readonly minRequests: number;
  readonly cooldownMs: number;
  readonly halfOpenProbes: number;
}

export const DEFAULT_CIRCUIT: CircuitConfig = {
  windowMs: 60_000,
  allowedFailures: 4,
  minRequests: 5,
  cooldownMs: 30_000,
  halfOpenProbes: 1,
};

export const CIRCUIT_STATES = ['closed', 'open', 'halfOpen'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

interface Bucket {
  readonly start: number;
  readonly ok: number;
  readonly failed: number;
}

export interface ProviderHealth {
  /** The stored state: `open` is half-open from `openUntil` on without a write (see `circuitState`), and stored so by the next tick. */
  readonly state: CircuitState;
  readonly openUntil: number;
  /** Outcomes in the window, oldest first; at most BUCKETS entries. */
  readonly buckets: readonly Bucket[];
  /** How many times the circuit opened since start. */
  readonly openings: number;
  /** A usage limit was hit: nothing is admitted until then (epoch ms; 0: not paused). */
  readonly pausedUntil: number;
  /** Adaptive concurrency: the effective limit now, or null when adaptive concurrency is off. */
  readonly limit: number | null;
  /** Successes in a row with no throttling signal since the limit last changed. */
  readonly successRun: number;
  /** When the limit was last halved (epoch ms), so one burst of throttling halves it once. */
  readonly decreasedAt: number;
}

export type HealthByProvider = Readonly<Record<ProviderId, ProviderHealth>>;

const BUCKETS = 10;

export const HEALTHY: ProviderHealth = {
  state: 'closed',
  openUntil: 0,
  buckets: [],
  openings: 0,
  pausedUntil: 0,
  limit: null,
  successRun: 0,
  decreasedAt: 0,
};

/**
 * Adaptive concurrency (AIMD) per provider: the effective limit starts at `initial` (never above
 * `maxConcurrent`), grows by one after `growAfter` successes in a row with no throttling signal, and
 * halves (floor 1) on a server-side throttling signal, at most once per `decreaseIntervalMs`.
 */
export interface AdaptiveConfig {
  /** The starting limit, per provider; capped at the provider's maxConcurrent. */
  readonly initial: Readonly<Record<ProviderId, number>>;
  readonly growAfter: number;
  readonly decreaseIntervalMs: number;
}

/** The health a provider starts with: adaptive concurrency starts at its conservative limit. */
export function initialHealth(
  provider: ProviderId,
  maxConcurrent: number,
  adaptive: AdaptiveConfig | null,
): ProviderHealth {
  if (adaptive === null) return HEALTHY;
  return { ...HEALTHY, limit: Math.max(1, Math.min(maxConcurrent, adaptive.initial[provider])) };
}

/** Whether a usage limit pauses the provider at `now`. */
export function isPaused(h: ProviderHealth, now: number): boolean {
  return now < h.pausedUntil;
}

/** The state at `now`: an open circuit whose cooldown is over is half-open. */
export function circuitState(h: ProviderHealth, now: number): CircuitState {
  return h.state === 'open' && now >= h.openUntil ? 'halfOpen' : h.state;
}

/**
 * The most sessions the circuit lets run on the provider at `now`: unlimited when closed, 0 while
 * open, `halfOpenProbes` when half-open. Admission takes the lower of this and `maxConcurrent`.
 */
export function admissionCap(h: ProviderHealth, config: CircuitConfig, now: number): number {
  if (isPaused(h, now)) return 0;
  const state = circuitState(h, now);
  const limit = h.limit ?? Number.POSITIVE_INFINITY;
  if (state === 'closed') return limit;
  return state === 'open' ? 0 : Math.min(limit, config.halfOpenProbes);
}

/** True when admission needs `admissionCap` for this provider (anything but a plain closed circuit). */
export function isCapped(h: ProviderHealth): boolean {
  return h.state !== 'closed' || h.pausedUntil !== 0 || h.limit !== null;
}

export interface LimitChange {
  readonly health: ProviderHealth;
  /** The new effective limit when it changed, else null. */
  readonly changed: number | null;
}

/** A request succeeded with no throttling: after `growAfter` in a row the limit grows by one (up to maxConcurrent). */
export function recordLimitSuccess(
  h: ProviderHealth,
  adaptive: AdaptiveConfig | null,
  maxConcurrent: number,
): LimitChange {
  if (adaptive === null || h.limit === null) return { health: h, changed: null };
  const run = h.successRun + 1;
  if (run < adaptive.growAfter || h.limit >= maxConcurrent)
    return { health: { ...h, successRun: Math.min(run, adaptive.growAfter) }, changed: null };
  const limit = h.limit + 1;
  return { health: { ...h, limit, successRun: 0 }, changed: limit };
}

/**
 * A server-side throttling signal (429 that is not a usage limit, 529/503): the limit halves, floor 1.
 * `since` is when the throttled session started on the provider: a session admitted after the last
 * halving was admitted under the new limit, so its throttling halves again at once.
 */
export function recordThrottle(
  h: ProviderHealth,
  adaptive: AdaptiveConfig | null,
  now: number,
  since: number | null = null,
): LimitChange {
  if (adaptive === null || h.limit === null) return { health: h, changed: null };
  // Requests that were in flight together get throttled together: one burst halves the limit once.
  // Never halved yet (decreasedAt 0): the check below halves anyway.
  const admittedAfterHalving = since !== null && since > h.decreasedAt;
  if (h.decreasedAt !== 0 && now - h.decreasedAt < adaptive.decreaseIntervalMs && !admittedAfterHalving)
    return { health: { ...h, successRun: 0 }, changed: null };
  const limit = Math.max(1, Math.floor(h.limit / 2));
  return { health: { ...h, limit, successRun: 0, decreasedAt: now }, changed: limit === h.limit ? null : limit };
}

/** A usage limit: the provider takes nothing until `until` (a later pause wins). */
export function pauseUntil(h: ProviderHealth, until: number): ProviderHealth {
  return until > h.pausedUntil ? { ...h, pausedUntil: until } : h;
}

/** Outcomes counted in the window ending at `now`. */
export function windowCounts(
  h: ProviderHealth,
  config: CircuitConfig,
  now: number,
): { readonly ok: number; readonly failed: number } {
  let ok = 0;
  let failed = 0;
  for (const b of h.buckets) {
    if (b.start + config.windowMs <= now) continue;
    ok += b.ok;
    failed += b.failed;
  }
  return { ok, failed };
}

function addToWindow(h: ProviderHealth, config: CircuitConfig, ok: boolean, now: number): readonly Bucket[] {
  const width = Math.max(1, Math.ceil(config.windowMs / BUCKETS));
  const start = now - (now % width);
  const kept = h.buckets.filter((b) => b.start + config.windowMs > now);
  const last = kept[kept.length - 1];
  if (last && last.start === start) {
    return [...kept.slice(0, -1), { start, ok: last.ok + (ok ? 1 : 0), failed: last.failed + (ok ? 0 : 1) }];
  }
  return [...kept, { start, ok: ok ? 1 : 0, failed: ok ? 0 : 1 }].slice(-BUCKETS);
}

export interface HealthChange {
  readonly health: ProviderHealth;
  /** Set when the circuit changed state: what hosts are told. */
  readonly transition: 'opened' | 'closed' | null;
}

/**
 * Counts one outcome of a request to the provider. Only failures that say something about the
 * provider count (overloaded, server, network, timeout, truncated, rate-limit): the caller decides.
 */
export function recordOutcome(h: ProviderHealth, config: CircuitConfig, ok: boolean, now: number): HealthChange {
  // The common case costs nothing: a success while the window holds no failure changes no decision
  // (the minimum-requests rule counts outcomes from the window's first failure on), so nothing is
  // written. Every usage report is a success: this keeps the admission cycle free of allocations.
  // `length === 0` first: no callback is allocated for the empty window of the common case.
  if (
    ok &&
    h.state === 'closed' &&
    (h.buckets.length === 0 || h.buckets.every((b) => b.failed === 0 || b.start + config.windowMs <= now))
  ) {
    return h.buckets.length === 0
      ? { health: h, transition: null }
      : { health: { ...h, buckets: [] }, transition: null };
  }
  const state = circuitState(h, now);
  if (state === 'halfOpen') {
    if (ok) return { health: { ...h, state: 'closed', openUntil: 0, buckets: [] }, transition: 'closed' };
    return {
      health: { ...h, state: 'open', openUntil: now + config.cooldownMs, buckets: [], openings: h.openings + 1 },
      transition: 'opened',
    };
  }
  const buckets = addToWindow(h, config, ok, now);
  const next: ProviderHealth = { ...h, buckets };
  // While open (cooling down) outcomes of sessions already running are counted but change nothing.
  if (state === 'open' || ok) return { health: next, transition: null };
  const counts = windowCounts(next, config, now);
  if (counts.ok + counts.failed >= config.minRequests && counts.failed > config.allowedFailures) {
    return {
      health: { ...h, state: 'open', openUntil: now + config.cooldownMs, buckets: [], openings: h.openings + 1 },
      transition: 'opened',
    };
  }
  return { health: next, transition: null };
}
