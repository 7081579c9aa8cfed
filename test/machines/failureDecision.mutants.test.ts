/**
 * The edges of machines/failureDecision.ts that the mutation run (docs/testing.md "Mutation testing")
 * found untested: a policy that fails, the Retry-After at and around its cap, a Retry-After that is 0,
 * negative or absent, a policy without an `overloaded` entry, and throttling on kinds other than rate-limit.
 */
import { countsForHealth, decideFailure, policyStep } from '../../machines/failureDecision';
import type { FailureFacts, FailurePolicies, FailureSituation, RetrySettings } from '../../machines/failureDecision';

const RETRY: RetrySettings = {
  action: 'retry',
  maxRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
};
const FALLBACK: RetrySettings = { ...RETRY, action: 'fallback' };
const FAIL: RetrySettings = { ...RETRY, action: 'fail' };
const NOTHING_LEFT = { used: 1, max: 1, providersLeft: 0 } as const;

function facts(kind: string, extra: Partial<FailureFacts> = {}): FailureFacts {
  return { kind, retryAfterMs: null, throttle: null, ...extra };
}

function situation(failure: FailureFacts, policies: FailurePolicies, extra: Partial<FailureSituation> = {}) {
  return {
    failure,
    attempt: 1,
    requeues: 0,
    maxRequeues: 2,
    usedOnProvider: 10,
    fallbacks: { used: 0, max: 1, providersLeft: 1 },
    policies,
    jitter: 0.5,
    ...extra,
  };
}

describe('policyStep (mutation edges)', () => {
  it('should answer fail and fallback policies with their reason, and used-up retries as retries-exhausted', () => {
    expect(policyStep(FAIL, null, 1, 0.5)).toEqual({ action: 'fail', reason: 'policy' });
    expect(policyStep(FALLBACK, null, 1, 0.5)).toEqual({ action: 'fallback', reason: 'policy' });
    expect(policyStep(RETRY, null, 3, 0.5)).toEqual({ action: 'fallback', reason: 'retries-exhausted' });
  });

  it('should still retry a Retry-After exactly at the cap, waiting the cap', () => {
    expect(policyStep(RETRY, 30_000, 1, 0.5)).toEqual({ action: 'retry', delayMs: 30_000 });
  });

  it('should spread the jitter only over what is left under the cap', () => {
    // min(250, 30_000 - 29_900) = 100: half of it on top of the Retry-After.
    expect(policyStep(RETRY, 29_900, 1, 0.5)).toEqual({ action: 'retry', delayMs: 29_950 });
  });

  it('should round the backoff down without a Retry-After and the wait up with one, even a Retry-After of 0', () => {
    // 0.001 × 250 = 0.25
    expect(policyStep(RETRY, null, 1, 0.001)).toEqual({ action: 'retry', delayMs: 0 });
    expect(policyStep(RETRY, 0, 1, 0.001)).toEqual({ action: 'retry', delayMs: 1 });
  });

  it('should treat a negative or unreadable Retry-After as none', () => {
    expect(policyStep(RETRY, -1_000, 1, 0.5)).toEqual({ action: 'retry', delayMs: 125 });
    expect(policyStep(RETRY, Number.NaN, 1, 0.5)).toEqual({ action: 'retry', delayMs: 125 });
  });
});

describe('decideFailure (mutation edges)', () => {
  const RETRY_ALL: FailurePolicies = { policy: { overloaded: RETRY }, withoutFallback: { overloaded: RETRY } };

  it('should give a request at fault up whatever the policy says about its kind', () => {
    const lenient: FailurePolicies = {
      policy: { 'invalid-request': RETRY },
      withoutFallback: { 'invalid-request': RETRY },
    };
    expect(decideFailure(situation(facts('invalid-request'), lenient))).toEqual({
      step: 'giveUp',
      code: 'invalid-request',
    });
  });

  it('should give up as a request at fault when the policy says fail for another kind', () => {
    const strict: FailurePolicies = { policy: { auth: FAIL }, withoutFallback: { auth: FAIL } };
    expect(decideFailure(situation(facts('auth'), strict))).toEqual({ step: 'giveUp', code: 'invalid-request' });
  });

  it('should requeue for the Retry-After alone when the policy has no overloaded backoff', () => {
    const noOverloaded: FailurePolicies = { policy: {}, withoutFallback: {} };
    const throttled = facts('rate-limit', { throttle: 'server', retryAfterMs: 2_000 });
    expect(decideFailure(situation(throttled, noOverloaded, { usedOnProvider: 0 }))).toEqual({
      step: 'requeue',
      delayMs: 2_000,
    });
    const noHint = facts('rate-limit', { throttle: 'server' });
    expect(decideFailure(situation(noHint, noOverloaded, { usedOnProvider: 0 }))).toEqual({
      step: 'requeue',
      delayMs: 0,
    });
  });

  it('should requeue only a rate-limit, not another kind that came with server throttling', () => {
    const overloaded = facts('overloaded', { throttle: 'server' });
    expect(decideFailure(situation(overloaded, RETRY_ALL, { usedOnProvider: 0, fallbacks: NOTHING_LEFT }))).toEqual({
      step: 'retry',
      delayMs: 125,
      attempt: 1,
    });
  });
});

describe('countsForHealth (mutation edges)', () => {
  it('should leave out of the circuit only a rate-limit under adaptive concurrency, not other server throttling', () => {
    expect(countsForHealth({ kind: 'rate-limit', throttle: 'server' }, true)).toBe(false);
    expect(countsForHealth({ kind: 'overloaded', throttle: 'server' }, true)).toBe(true);
  });
});
