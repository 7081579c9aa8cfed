import { canFallBackIn, countsForHealth, decideFailure, policyStep } from '../../machines/failureDecision';
import type { FailureFacts, FailureSituation } from '../../machines/failureDecision';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { decideNextStep } from '../../src/providers';

const POLICIES = resolveAgentFailurePolicy();
const RETRY = {
  action: 'retry',
  maxRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
} as const;

function facts(kind: string, extra: Partial<FailureFacts> = {}): FailureFacts {
  return { kind, retryAfterMs: null, throttle: null, ...extra };
}

function situation(failure: FailureFacts, extra: Partial<FailureSituation> = {}): FailureSituation {
  return {
    failure,
    attempt: 1,
    requeues: 0,
    maxRequeues: 0,
    usedOnProvider: 10,
    fallbacks: { used: 0, max: 1, providersLeft: 1 },
    policies: POLICIES,
    jitter: 0.5,
    ...extra,
  };
}

const NOTHING_LEFT = { used: 1, max: 1, providersLeft: 0 } as const;

describe('decideFailure', () => {
  it('should fall back at once while the chain has a provider left', () => {
    expect(decideFailure(situation(facts('overloaded')))).toEqual({ step: 'fallBack', reason: 'policy' });
    expect(decideFailure(situation(facts('auth')))).toEqual({ step: 'fallBack', reason: 'policy' });
  });

  it('should give a request at fault up without a retry or a fallback', () => {
    expect(decideFailure(situation(facts('invalid-request')))).toEqual({ step: 'giveUp', code: 'invalid-request' });
    expect(decideFailure(situation(facts('invalid-request'), { fallbacks: NOTHING_LEFT }))).toEqual({
      step: 'giveUp',
      code: 'invalid-request',
    });
  });

  it('should retry transient kinds with backoff once no provider is left, then give up', () => {
    const first = decideFailure(situation(facts('overloaded'), { fallbacks: NOTHING_LEFT }));
    expect(first).toEqual({ step: 'retry', delayMs: 125, attempt: 1 });
    expect(decideFailure(situation(facts('overloaded'), { fallbacks: NOTHING_LEFT, attempt: 2 }))).toEqual({
      step: 'retry',
      delayMs: 250,
      attempt: 2,
    });
    expect(decideFailure(situation(facts('overloaded'), { fallbacks: NOTHING_LEFT, attempt: 3 }))).toEqual({
      step: 'giveUp',
      code: 'no-provider',
    });
  });

  it('should give a non-transient kind up when no provider is left', () => {
    expect(decideFailure(situation(facts('auth'), { fallbacks: NOTHING_LEFT }))).toEqual({
      step: 'giveUp',
      code: 'no-provider',
    });
    expect(decideFailure(situation(facts('quota'), { fallbacks: { used: 0, max: 0, providersLeft: 1 } }))).toEqual({
      step: 'giveUp',
      code: 'no-provider',
    });
  });

  it('should requeue server throttling before any work, for the Retry-After or the overloaded backoff', () => {
    const throttled = facts('rate-limit', { throttle: 'server', retryAfterMs: 4_000 });
    expect(decideFailure(situation(throttled, { maxRequeues: 2, usedOnProvider: 0 }))).toEqual({
      step: 'requeue',
      delayMs: 4_000,
    });
    const noHint = facts('rate-limit', { throttle: 'server' });
    expect(decideFailure(situation(noHint, { maxRequeues: 2, usedOnProvider: 0, requeues: 1, jitter: 1 }))).toEqual({
      step: 'requeue',
      delayMs: 500,
    });
  });

  it('should not requeue for a Retry-After beyond maxRetryAfterMs: it falls back at once, or gives up with nothing left', () => {
    const atCap = facts('rate-limit', { throttle: 'server', retryAfterMs: 30_000 });
    expect(decideFailure(situation(atCap, { maxRequeues: 2, usedOnProvider: 0 }))).toEqual({
      step: 'requeue',
      delayMs: 30_000,
    });
    const overCap = facts('rate-limit', { throttle: 'server', retryAfterMs: 30_001 });
    expect(decideFailure(situation(overCap, { maxRequeues: 2, usedOnProvider: 0 }))).toEqual({
      step: 'fallBack',
      reason: 'policy',
    });
    expect(decideFailure(situation(overCap, { maxRequeues: 2, usedOnProvider: 0, fallbacks: NOTHING_LEFT }))).toEqual({
      step: 'giveUp',
      code: 'no-provider',
    });
  });

  it('should not requeue a session that did work, that used its requeues, or a usage limit', () => {
    const throttled = facts('rate-limit', { throttle: 'server' });
    expect(decideFailure(situation(throttled, { maxRequeues: 2, usedOnProvider: 1 })).step).toBe('fallBack');
    expect(decideFailure(situation(throttled, { maxRequeues: 2, usedOnProvider: 0, requeues: 2 })).step).toBe(
      'fallBack',
    );
    expect(
      decideFailure(situation(facts('rate-limit', { throttle: 'usage-limit' }), { maxRequeues: 2, usedOnProvider: 0 }))
        .step,
    ).toBe('fallBack');
  });

  it('should fall back while the chain allows without policies (a machine used on its own)', () => {
    expect(decideFailure(situation(facts('invalid-request'), { policies: null }))).toEqual({
      step: 'fallBack',
      reason: 'policy',
    });
    expect(decideFailure(situation(facts('overloaded'), { policies: null, fallbacks: NOTHING_LEFT }))).toEqual({
      step: 'giveUp',
      code: 'no-provider',
    });
  });

  it('should honour a policy that retries while a provider is left', () => {
    const policies = resolveAgentFailurePolicy({ kinds: { overloaded: { action: 'retry', maxRetries: 1 } } });
    expect(decideFailure(situation(facts('overloaded'), { policies, jitter: 0 }))).toEqual({
      step: 'retry',
      delayMs: 0,
      attempt: 1,
    });
    expect(decideFailure(situation(facts('overloaded'), { policies, attempt: 2 }))).toEqual({
      step: 'fallBack',
      reason: 'retries-exhausted',
    });
  });
});

describe('policyStep', () => {
  it('should wait the Retry-After plus jitter, and fall back when it is over the cap', () => {
    expect(policyStep(RETRY, 1_000, 1, 0)).toEqual({ action: 'retry', delayMs: 1_000 });
    expect(policyStep(RETRY, 1_000, 1, 1)).toEqual({ action: 'retry', delayMs: 1_250 });
    expect(policyStep(RETRY, 31_000, 1, 0.5)).toEqual({ action: 'fallback', reason: 'retry-after-over-cap' });
  });

  it('should be the rule behind decideNextStep', () => {
    const failure = { kind: 'overloaded' as const, retryAfterMs: null };
    expect(decideNextStep(failure, { attempt: 2, random: () => 0.5 })).toEqual(policyStep({ ...RETRY }, null, 2, 0.5));
  });
});

describe('canFallBackIn', () => {
  it('should need a provider left and a fallback allowed', () => {
    expect(canFallBackIn({ fallbacks: { used: 0, max: 1, providersLeft: 1 } })).toBe(true);
    expect(canFallBackIn({ fallbacks: { used: 1, max: 1, providersLeft: 1 } })).toBe(false);
    expect(canFallBackIn({ fallbacks: { used: 0, max: 1, providersLeft: 0 } })).toBe(false);
  });
});

describe('countsForHealth', () => {
  it('should count transient kinds only, and not server throttling under adaptive concurrency', () => {
    expect(countsForHealth({ kind: 'server', throttle: null }, false)).toBe(true);
    expect(countsForHealth({ kind: 'auth', throttle: null }, false)).toBe(false);
    expect(countsForHealth({ kind: 'rate-limit', throttle: 'server' }, false)).toBe(true);
    expect(countsForHealth({ kind: 'rate-limit', throttle: 'server' }, true)).toBe(false);
    expect(countsForHealth({ kind: 'rate-limit', throttle: 'usage-limit' }, true)).toBe(true);
  });
});
