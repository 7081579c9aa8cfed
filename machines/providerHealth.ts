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
 * Open → half-open happens by the passage of time, so it is derived from `now` (`circuitState`)
 * rather than stored: no timer has to fire for the state to be right.
 */
export interface CircuitConfig {
  readonly windowMs: number;
  readonly allowedFailures: number;
  readonly minRequests: number;
  readonly cooldownMs: number;
  readonly halfOpenProbes: number;
}

export const DEFAULT_CIRCUIT: CircuitConfig = { windowMs: 60_000, allowedFailures: 4, minRequests: 5, cooldownMs: 30_000, halfOpenProbes: 1 };

export const CIRCUIT_STATES = ['closed', 'open', 'halfOpen'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

interface Bucket {
  readonly start: number;
  readonly ok: number;
  readonly failed: number;
}

export interface ProviderHealth {
  /** The stored state: `open` turns into half-open at `openUntil` without a write (see `circuitState`). */
  readonly state: CircuitState;
  readonly openUntil: number;
  /** Outcomes in the window, oldest first; at most BUCKETS entries. */
  readonly buckets: readonly Bucket[];
  /** How many times the circuit opened since start. */
  readonly openings: number;
}

export type HealthByProvider = Readonly<Record<ProviderId, ProviderHealth>>;

const BUCKETS = 10;

export const HEALTHY: ProviderHealth = { state: 'closed', openUntil: 0, buckets: [], openings: 0 };

/** The state at `now`: an open circuit whose cooldown is over is half-open. */
export function circuitState(h: ProviderHealth, now: number): CircuitState {
  return h.state === 'open' && now >= h.openUntil ? 'halfOpen' : h.state;
}

/**
 * The most sessions the circuit lets run on the provider at `now`: unlimited when closed, 0 while
 * open, `halfOpenProbes` when half-open. Admission takes the lower of this and `maxConcurrent`.
 */
export function admissionCap(h: ProviderHealth, config: CircuitConfig, now: number): number {
  const state = circuitState(h, now);
  if (state === 'closed') return Number.POSITIVE_INFINITY;
  return state === 'open' ? 0 : config.halfOpenProbes;
}

/** Outcomes counted in the window ending at `now`. */
export function windowCounts(h: ProviderHealth, config: CircuitConfig, now: number): { readonly ok: number; readonly failed: number } {
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
  const state = circuitState(h, now);
  if (state === 'halfOpen') {
    if (ok) return { health: { ...HEALTHY, openings: h.openings }, transition: 'closed' };
    return { health: { state: 'open', openUntil: now + config.cooldownMs, buckets: [], openings: h.openings + 1 }, transition: 'opened' };
  }
  const buckets = addToWindow(h, config, ok, now);
  const next: ProviderHealth = { ...h, buckets };
  // While open (cooling down) outcomes of sessions already running are counted but change nothing.
  if (state === 'open' || ok) return { health: next, transition: null };
  const counts = windowCounts(next, config, now);
  if (counts.ok + counts.failed >= config.minRequests && counts.failed > config.allowedFailures) {
    return { health: { state: 'open', openUntil: now + config.cooldownMs, buckets: [], openings: h.openings + 1 }, transition: 'opened' };
  }
  return { health: next, transition: null };
}
