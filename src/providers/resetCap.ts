import type { ProviderFailure } from './failureClassifier';
import type { RateLimitFacts } from './rateLimitHeaders';

/** How far ahead a provider may say its limit resets before agentvisor calls it suspicious and caps it: 7 days. */
export const DEFAULT_MAX_PROVIDER_RESET_MS = 7 * 24 * 60 * 60 * 1000;

/** What was capped: the field, what the provider said (epoch ms for `resetAt`, ms for `retryAfterMs`), and what is used instead. */
export interface CappedTime {
  readonly field: 'resetAt' | 'retryAfterMs';
  readonly reported: number;
  readonly used: number;
}

/**
 * Caps reset times and waits a provider reported (headers, error bodies, usage-limit messages) at
 * `maxMs` from `now`: a reset weeks away is far more likely a parsing accident or a broken proxy
 * than a real limit, and a timer that long overflows Node's 2^31-1 ms (it would fire at once).
 * Returns the failure as it was when nothing was too far, else a copy with the capped values and
 * the list of what changed (to log as suspicious).
 *
 * @example
 * capFailureTimes(failure, Date.now(), DEFAULT_MAX_PROVIDER_RESET_MS).capped // [] unless a reset was more than 7 days away
 */
export function capFailureTimes(
  failure: ProviderFailure,
  now: number,
  maxMs: number,
): { failure: ProviderFailure; capped: readonly CappedTime[] } {
  const capped: CappedTime[] = [];
  const resetAt = capAt(failure.resetAt, now, maxMs, capped);
  const retryAfterMs = capWait(failure.retryAfterMs, maxMs, capped);
  if (capped.length === 0) return { failure, capped };
  return { failure: { ...failure, resetAt, retryAfterMs }, capped };
}

/**
 * The same cap for rate-limit headers read from an answer.
 *
 * @example capFactsTimes(readRateLimitHeaders(headers, now), now, DEFAULT_MAX_PROVIDER_RESET_MS).facts.resetAt
 */
export function capFactsTimes(
  facts: RateLimitFacts,
  now: number,
  maxMs: number,
): { facts: RateLimitFacts; capped: readonly CappedTime[] } {
  const capped: CappedTime[] = [];
  const resetAt = capAt(facts.resetAt, now, maxMs, capped);
  const retryAfterMs = capWait(facts.retryAfterMs, maxMs, capped);
  const usageReset = capAt(facts.usageLimit?.resetAt ?? null, now, maxMs, capped);
  if (capped.length === 0) return { facts, capped };
  return {
    facts: { ...facts, resetAt, retryAfterMs, usageLimit: facts.usageLimit === null ? null : { resetAt: usageReset } },
    capped,
  };
}

function capAt(at: number | null, now: number, maxMs: number, capped: CappedTime[]): number | null {
  if (at === null || at - now <= maxMs) return at;
  capped.push({ field: 'resetAt', reported: at, used: now + maxMs });
  return now + maxMs;
}

function capWait(ms: number | null, maxMs: number, capped: CappedTime[]): number | null {
  if (ms === null || ms <= maxMs) return ms;
  capped.push({ field: 'retryAfterMs', reported: ms, used: maxMs });
  return maxMs;
}
