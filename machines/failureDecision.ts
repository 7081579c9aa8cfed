/**
 * What to do after a provider failure: the one decision behind the session's `session.failure`
 * guards, `ManagedAgent.reportFailure` (which only reads the session's answer) and
 * `decideNextStep` of src/providers (which is `policyStep` with its input checked).
 *
 * Pure: the jitter is a number the host drew, so the same situation always gives the same step.
 */

/** Kinds that say something about the provider and can pass with time (throttling, server faults, broken connections). */
export const TRANSIENT_FAILURE_KINDS: readonly string[] = [
  'rate-limit',
  'overloaded',
  'server',
  'network',
  'timeout',
  'truncated',
];

/** The retry settings of one failure kind (src/providers `KindPolicy`, every field filled in). */
export interface RetrySettings {
  readonly action: 'retry' | 'fallback' | 'fail';
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
}

/** Settings by failure kind (src/providers `FailurePolicy`). */
export type KindSettings = Readonly<Record<string, RetrySettings>>;

/** The two policies an agent's failures are decided by (src/orchestrator `AgentFailurePolicy`). */
export interface FailurePolicies {
  /** While the chain has a provider left. */
  readonly policy: KindSettings;
  /** When it has none: transient kinds are retried with backoff before the agent is given up. */
  readonly withoutFallback: KindSettings;
}

/** One policy's answer (src/providers `NextStep`). */
export type PolicyStep =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'fallback'; readonly reason: 'policy' | 'retries-exhausted' | 'retry-after-over-cap' }
  | { readonly action: 'fail'; readonly reason: 'policy' };

/** What the classifier said about a failed request. */
export interface FailureFacts {
  readonly kind: string;
  /** The provider's Retry-After (ms), or null. */
  readonly retryAfterMs: number | null;
  /** `server`: server-side throttling; `usage-limit`: the plan's usage limit. */
  readonly throttle: 'server' | 'usage-limit' | null;
}

/** Everything the decision reads: the failure, the attempt counts, the policy and the fallback situation. */
export interface FailureSituation {
  readonly failure: FailureFacts;
  /** Which attempt on the current provider just failed, counting from 1. */
  readonly attempt: number;
  /** Requeues so far (throttled before any work) and how many the host allows. */
  readonly requeues: number;
  readonly maxRequeues: number;
  /** Usage counted on the current provider: a session that did work is not requeued. */
  readonly usedOnProvider: number;
  /** Fallbacks so far, the most allowed, and providers left in the chain. */
  readonly fallbacks: { readonly used: number; readonly max: number; readonly providersLeft: number };
  /** Null: no policy (pure machine use): fall back while the chain allows, else give up. */
  readonly policies: FailurePolicies | null;
  /** A number in [0, 1) the host drew for the backoff's jitter. */
  readonly jitter: number;
}

/** The next step after a failure. */
export type FailureDecision =
  | { readonly step: 'requeue'; readonly delayMs: number }
  | { readonly step: 'retry'; readonly delayMs: number; readonly attempt: number }
  | { readonly step: 'fallBack'; readonly reason: 'policy' | 'retries-exhausted' | 'retry-after-over-cap' }
  | { readonly step: 'giveUp'; readonly code: 'invalid-request' | 'no-provider' };

const REQUEST_AT_FAULT = { step: 'giveUp', code: 'invalid-request' } as const;
const NOTHING_LEFT = { step: 'giveUp', code: 'no-provider' } as const;
const FALL_BACK = { step: 'fallBack', reason: 'policy' } as const;
/** The backoff of a requeue doubles per requeue up to this many. */
const MAX_REQUEUE_DOUBLINGS = 10;

function clampJitter(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}

/**
 * One kind's policy applied to a failed attempt. `retry` waits a full-jitter exponential backoff
 * (`jitter × min(maxDelayMs, baseDelayMs × 2^(attempt-1))`); with a Retry-After it waits that long
 * plus the same jitter, never sooner and never past `maxRetryAfterMs`. A Retry-After beyond
 * `maxRetryAfterMs` falls back at once, as does a kind whose retries are used up.
 *
 * @example
 * const settings = { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 } as const;
 * policyStep(settings, null, 1, 0.5) // { action: 'retry', delayMs: 125 }
 */
export function policyStep(
  settings: RetrySettings,
  retryAfterMs: number | null,
  attempt: number,
  jitter: number,
): PolicyStep {
  if (settings.action === 'fail') return { action: 'fail', reason: 'policy' };
  if (settings.action === 'fallback') return { action: 'fallback', reason: 'policy' };
  if (attempt > settings.maxRetries) return { action: 'fallback', reason: 'retries-exhausted' };
  if (retryAfterMs !== null && retryAfterMs > settings.maxRetryAfterMs)
    return { action: 'fallback', reason: 'retry-after-over-cap' };
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.min(attempt - 1, 52));
  const unit = clampJitter(jitter);
  if (retryAfterMs === null || !(retryAfterMs >= 0)) return { action: 'retry', delayMs: Math.floor(unit * ceiling) };
  // Jitter on top of the Retry-After keeps agents that were told the same wait from returning in step.
  const spread = Math.min(ceiling, settings.maxRetryAfterMs - retryAfterMs);
  return { action: 'retry', delayMs: Math.min(settings.maxRetryAfterMs, Math.ceil(retryAfterMs + unit * spread)) };
}

/**
 * Whether the session may still move down the chain.
 *
 * @example canFallBackIn({ fallbacks: { used: 0, max: 1, providersLeft: 1 } }) // true
 */
export function canFallBackIn(situation: Pick<FailureSituation, 'fallbacks'>): boolean {
  const { used, max, providersLeft } = situation.fallbacks;
  return providersLeft > 0 && used < max;
}

/**
 * Server-side throttling of a session that has done no work on this provider yet waits for the
 * provider instead of failing (fan-outs trip throttling and would lose whole runs): the wait is the
 * Retry-After, else the `overloaded` backoff of the policy without fallback. A Retry-After beyond the
 * rate limit's `maxRetryAfterMs` is not waited for here either (the policy falls back or gives up).
 */
function requeueDelay(situation: FailureSituation, policies: FailurePolicies): number | null {
  const { failure } = situation;
  const mayWait = situation.requeues < situation.maxRequeues && situation.usedOnProvider === 0;
  if (failure.kind !== 'rate-limit' || failure.throttle !== 'server' || !mayWait) return null;
  if ((failure.retryAfterMs ?? 0) > (policies.withoutFallback['rate-limit']?.maxRetryAfterMs ?? Infinity)) return null;
  const overloaded = policies.withoutFallback['overloaded'];
  const backoff =
    overloaded === undefined
      ? null
      : policyStep(overloaded, null, Math.min(situation.requeues + 1, MAX_REQUEUE_DOUBLINGS), situation.jitter);
  return Math.max(failure.retryAfterMs ?? 0, backoff?.action === 'retry' ? backoff.delayMs : 0);
}

/**
 * The next step after a failure. Without policies (a machine used on its own) it falls back while
 * the chain allows and gives up otherwise. A request at fault is never retried or sent elsewhere; while the
 * chain has a provider left the `policy` decides (falls back unless it says `retry`), once none is
 * left `withoutFallback` does (transient kinds retried with backoff), and a fallback with nothing
 * left gives up with `no-provider`. Total: every kind and attempt gets a step.
 *
 * @example
 * decideFailure({ failure: { kind: 'overloaded', retryAfterMs: null, throttle: null }, attempt: 1, requeues: 0, maxRequeues: 3, usedOnProvider: 10,
 *   fallbacks: { used: 0, max: 1, providersLeft: 1 }, policies, jitter: 0.5 }) // { step: 'fallBack', reason: 'policy' }
 */
export function decideFailure(situation: FailureSituation): FailureDecision {
  const { failure, policies } = situation;
  const canFallBack = canFallBackIn(situation);
  if (policies === null) return canFallBack ? FALL_BACK : NOTHING_LEFT;
  const delayMs = requeueDelay(situation, policies);
  if (delayMs !== null) return { step: 'requeue', delayMs };
  if (failure.kind === 'invalid-request') return REQUEST_AT_FAULT;
  const settings = (canFallBack ? policies.policy : policies.withoutFallback)[failure.kind];
  if (settings === undefined) return canFallBack ? FALL_BACK : NOTHING_LEFT;
  const step = policyStep(settings, failure.retryAfterMs, situation.attempt, situation.jitter);
  if (step.action === 'retry') return { step: 'retry', delayMs: step.delayMs, attempt: situation.attempt };
  if (step.action === 'fail') return REQUEST_AT_FAULT;
  return canFallBack ? { step: 'fallBack', reason: step.reason } : NOTHING_LEFT;
}

/**
 * Whether a failure counts against the provider's circuit: transient kinds only (auth, quota and bad
 * requests say nothing about the provider's health), and not server-side throttling under adaptive
 * concurrency, which is the limit's job (counted on the circuit too, AIMD's sawtooth would open it again and again).
 *
 * @example countsForHealth({ kind: 'server', throttle: null }, false) // true
 */
export function countsForHealth(failure: Pick<FailureFacts, 'kind' | 'throttle'>, adaptive: boolean): boolean {
  if (!TRANSIENT_FAILURE_KINDS.includes(failure.kind)) return false;
  return !(adaptive && failure.kind === 'rate-limit' && failure.throttle === 'server');
}
