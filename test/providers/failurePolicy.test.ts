import fc from 'fast-check';
import { isAgentvisorError } from '../../src';
import {
  DEFAULT_FAILURE_POLICY,
  PROVIDER_FAILURE_KINDS,
  classifyHttpFailure,
  decideNextStep,
} from '../../src/providers';
import { resolveFailurePolicy } from '../../src/options/failurePolicyOptions';
import type {
  FailurePolicy,
  FailurePolicyOptions,
  NextStep,
  ProviderFailure,
  ProviderFailureKind,
} from '../../src/providers';

const half = (): number => 0.5;

function failure(
  kind: ProviderFailureKind,
  retryAfterMs: number | null = null,
): Pick<ProviderFailure, 'kind' | 'retryAfterMs'> {
  return { kind, retryAfterMs };
}

/** The message of the `invalid-option` error a call throws, or a note that it did not throw one. */
function optionErrorOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (isAgentvisorError(error, 'invalid-option')) return error.message;
    throw error;
  }
  return 'no error';
}

/** Malformed input, as a host in plain JavaScript could pass it. */
function loose<T>(value: unknown): T {
  return value as T;
}

describe('decideNextStep with the default policy', () => {
  it.each<[ProviderFailureKind, NextStep]>([
    ['auth', { action: 'fallback', reason: 'policy' }],
    ['quota', { action: 'fallback', reason: 'policy' }],
    ['invalid-request', { action: 'fail', reason: 'policy' }],
    ['rate-limit', { action: 'retry', delayMs: 125 }],
    ['overloaded', { action: 'retry', delayMs: 125 }],
    ['server', { action: 'retry', delayMs: 125 }],
    ['network', { action: 'retry', delayMs: 125 }],
    ['timeout', { action: 'retry', delayMs: 125 }],
    ['truncated', { action: 'retry', delayMs: 125 }],
  ])('should answer %s on the first attempt with %j', (kind, step) => {
    expect(decideNextStep(failure(kind), { attempt: 1, random: half })).toEqual(step);
  });

  it('should double the backoff ceiling per attempt, then fall back after 2 retries', () => {
    expect(decideNextStep(failure('overloaded'), { attempt: 2, random: half })).toEqual({
      action: 'retry',
      delayMs: 250,
    });
    expect(decideNextStep(failure('overloaded'), { attempt: 3, random: half })).toEqual({
      action: 'fallback',
      reason: 'retries-exhausted',
    });
  });

  it('should wait the Retry-After plus jitter, never sooner', () => {
    expect(decideNextStep(failure('rate-limit', 5_000), { attempt: 1, random: half })).toEqual({
      action: 'retry',
      delayMs: 5_125,
    });
    expect(decideNextStep(failure('rate-limit', 5_000), { attempt: 1, random: () => 0 })).toEqual({
      action: 'retry',
      delayMs: 5_000,
    });
    expect(decideNextStep(failure('rate-limit', 1_499.2), { attempt: 1, random: () => 0 })).toEqual({
      action: 'retry',
      delayMs: 1_500,
    });
  });

  it('should keep the jitter under the cap and fall back when the Retry-After is over it', () => {
    expect(decideNextStep(failure('rate-limit', 29_900), { attempt: 1, random: half })).toEqual({
      action: 'retry',
      delayMs: 29_950,
    });
    expect(decideNextStep(failure('rate-limit', 29_900), { attempt: 1, random: () => 0.999 })).toEqual({
      action: 'retry',
      delayMs: 30_000,
    });
    expect(decideNextStep(failure('rate-limit', 30_000), { attempt: 1, random: () => 0.999 })).toEqual({
      action: 'retry',
      delayMs: 30_000,
    });
    expect(decideNextStep(failure('rate-limit', 30_001), { attempt: 1, random: half })).toEqual({
      action: 'fallback',
      reason: 'retry-after-over-cap',
    });
  });

  it('should not let a Retry-After turn a fallback or fail kind into a retry', () => {
    expect(decideNextStep(failure('quota', 1_000), { attempt: 1, random: half })).toEqual({
      action: 'fallback',
      reason: 'policy',
    });
    expect(decideNextStep(failure('invalid-request', 1_000), { attempt: 1, random: half })).toEqual({
      action: 'fail',
      reason: 'policy',
    });
  });

  it('should cap the backoff at maxDelayMs', () => {
    const policy = resolveFailurePolicy({ maxRetries: 10 });
    expect(decideNextStep(failure('server'), { attempt: 10, policy, random: () => 0.999 })).toEqual({
      action: 'retry',
      delayMs: 9_990,
    });
  });

  it('should take a classified failure as it comes', () => {
    const overloaded = classifyHttpFailure({
      provider: 'claude',
      status: 529,
      headers: { 'retry-after': '3' },
      body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      now: 0,
    });
    expect(decideNextStep(overloaded, { attempt: 1, random: () => 0 })).toEqual({ action: 'retry', delayMs: 3_000 });
  });

  it('should treat a random() outside [0, 1) as its nearest end', () => {
    expect(decideNextStep(failure('server'), { attempt: 1, random: () => 7 })).toEqual({
      action: 'retry',
      delayMs: 250,
    });
    expect(decideNextStep(failure('server'), { attempt: 1, random: () => Number.NaN })).toEqual({
      action: 'retry',
      delayMs: 0,
    });
  });

  it.each([0, -1, 1.5, Number.NaN, '1'])('should refuse attempt %p with invalid-option', (attempt) => {
    expect(optionErrorOf(() => decideNextStep(failure('server'), { attempt: loose(attempt) }))).toMatch(
      /^attempt must be a whole number from 1/,
    );
  });

  it('should refuse an unknown kind with invalid-failure', () => {
    expect(() => decideNextStep(loose({ kind: 'mystery', retryAfterMs: null }), { attempt: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid-failure' }),
    );
  });
});

describe('resolveFailurePolicy', () => {
  it('should fill in every kind with the documented defaults', () => {
    expect(DEFAULT_FAILURE_POLICY).toEqual({
      auth: { action: 'fallback', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      'rate-limit': { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      quota: { action: 'fallback', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      overloaded: { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      server: { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      network: { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      timeout: { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      truncated: { action: 'retry', maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
      'invalid-request': {
        action: 'fail',
        maxRetries: 2,
        baseDelayMs: 250,
        maxDelayMs: 10_000,
        maxRetryAfterMs: 30_000,
      },
    });
    expect(Object.isFrozen(DEFAULT_FAILURE_POLICY)).toBe(true);
  });

  it('should apply top-level settings to every kind and per-kind settings on top', () => {
    const policy = resolveFailurePolicy({
      maxRetries: 4,
      baseDelayMs: 100,
      kinds: { auth: { action: 'retry', maxRetries: 1 }, overloaded: { maxRetryAfterMs: 60_000 } },
    });
    expect(policy.server).toEqual({
      action: 'retry',
      maxRetries: 4,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      maxRetryAfterMs: 30_000,
    });
    expect(policy.auth).toEqual({
      action: 'retry',
      maxRetries: 1,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      maxRetryAfterMs: 30_000,
    });
    expect(decideNextStep(failure('auth'), { attempt: 1, policy, random: half })).toEqual({
      action: 'retry',
      delayMs: 50,
    });
    expect(decideNextStep(failure('auth'), { attempt: 2, policy, random: half })).toEqual({
      action: 'fallback',
      reason: 'retries-exhausted',
    });
    expect(decideNextStep(failure('overloaded', 45_000), { attempt: 1, policy, random: () => 0 })).toEqual({
      action: 'retry',
      delayMs: 45_000,
    });
  });

  it('should fall back at once when maxRetries is 0 and let any kind but invalid-request fail', () => {
    const policy = resolveFailurePolicy({ maxRetries: 0, kinds: { auth: { action: 'fail' } } });
    expect(decideNextStep(failure('network'), { attempt: 1, policy })).toEqual({
      action: 'fallback',
      reason: 'retries-exhausted',
    });
    expect(decideNextStep(failure('auth'), { attempt: 1, policy })).toEqual({ action: 'fail', reason: 'policy' });
  });

  it.each<[string, unknown, string]>([
    [
      'a negative maxRetries',
      { maxRetries: -1 },
      'failurePolicy.maxRetries must be a whole number from 0 to 10, got -1',
    ],
    [
      'a fractional maxRetries',
      { maxRetries: 1.5 },
      'failurePolicy.maxRetries must be a whole number from 0 to 10, got 1.5',
    ],
    [
      'too many retries',
      { kinds: { server: { maxRetries: 11 } } },
      'failurePolicy.kinds.server.maxRetries must be a whole number from 0 to 10, got 11',
    ],
    [
      'a string delay',
      { maxDelayMs: '10s' },
      'failurePolicy.maxDelayMs must be a whole number from 0 to 2147483647, got "10s"',
    ],
    [
      'a base above the max',
      { baseDelayMs: 20_000 },
      'failurePolicy.baseDelayMs must be at most maxDelayMs (10000), got 20000',
    ],
    [
      'a misspelt option',
      { maxRetrys: 3 },
      'failurePolicy.maxRetrys is not an option; did you mean maxRetries? (known: maxRetries, baseDelayMs, maxDelayMs, maxRetryAfterMs, kinds)',
    ],
    [
      'a misspelt kind',
      { kinds: { overloded: {} } },
      'failurePolicy.kinds.overloded is not an option; did you mean overloaded? ' +
        '(known: auth, rate-limit, quota, overloaded, server, network, timeout, truncated, invalid-request)',
    ],
    [
      'an unknown action',
      { kinds: { auth: { action: 'skip' } } },
      'failurePolicy.kinds.auth.action must be one of retry, fallback, fail, got "skip"',
    ],
    [
      'a kind that is not an object',
      { kinds: { auth: 'retry' } },
      'failurePolicy.kinds.auth must be an object, got "retry"',
    ],
    ['kinds that is not an object', { kinds: 3 }, 'failurePolicy.kinds must be an object, got 3'],
    ['options that are not an object', null, 'failurePolicy must be an object such as { maxRetries: 2 }'],
    [
      'retrying invalid-request',
      { kinds: { 'invalid-request': { action: 'retry' } } },
      'failurePolicy.kinds.invalid-request.action must be \'fail\' (a request at fault fails on every provider), got "retry"',
    ],
  ])('should refuse %s with invalid-option', (_name, options, message) => {
    expect(optionErrorOf(() => resolveFailurePolicy(loose<FailurePolicyOptions>(options)))).toBe(message);
  });

  it('should name the option in details', () => {
    try {
      resolveFailurePolicy({ kinds: { server: { baseDelayMs: -5 } } });
      throw new Error('expected a throw');
    } catch (error) {
      expect(isAgentvisorError(error, 'invalid-option') && error.details).toEqual({
        option: 'failurePolicy.kinds.server.baseDelayMs',
      });
    }
  });
});

describe('decideNextStep properties', () => {
  const settingsArb = fc.record(
    {
      maxRetries: fc.integer({ min: 0, max: 10 }),
      baseDelayMs: fc.integer({ min: 0, max: 5_000 }),
      maxDelayMs: fc.integer({ min: 5_000, max: 60_000 }),
      maxRetryAfterMs: fc.integer({ min: 0, max: 120_000 }),
    },
    { requiredKeys: [] },
  );
  const kindArb = fc.constantFrom(...PROVIDER_FAILURE_KINDS);
  const overridableKinds = PROVIDER_FAILURE_KINDS.filter((kind) => kind !== 'invalid-request');
  const kindsArb = fc.dictionary(
    fc.constantFrom(...overridableKinds),
    fc.record(
      {
        action: fc.constantFrom('retry' as const, 'fallback' as const, 'fail' as const),
        maxRetries: fc.integer({ min: 0, max: 10 }),
      },
      { requiredKeys: [] },
    ),
  );
  const policyArb = fc
    .tuple(settingsArb, kindsArb)
    .map(([settings, kinds]) => resolveFailurePolicy({ ...settings, kinds }));
  const retryAfterArb = fc.option(
    fc.oneof(fc.integer({ min: 0, max: 150_000 }), fc.double({ min: 0, max: 150_000, noNaN: true })),
    { nil: null },
  );
  const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  function decide(
    policy: FailurePolicy,
    kind: ProviderFailureKind,
    retryAfterMs: number | null,
    attempt: number,
    random: number,
  ): NextStep {
    return decideNextStep({ kind, retryAfterMs }, { attempt, policy, random: () => random });
  }

  it('should never retry sooner than the Retry-After, nor later than the cap, nor past maxRetries', () => {
    fc.assert(
      fc.property(
        policyArb,
        kindArb,
        retryAfterArb,
        fc.integer({ min: 1, max: 20 }),
        randomArb,
        (policy, kind, retryAfterMs, attempt, random) => {
          const step = decide(policy, kind, retryAfterMs, attempt, random);
          if (step.action !== 'retry') return;
          const { maxRetries, maxDelayMs, maxRetryAfterMs } = policy[kind];
          expect(policy[kind].action).toBe('retry');
          expect(attempt).toBeLessThanOrEqual(maxRetries);
          expect(Number.isInteger(step.delayMs)).toBe(true);
          expect(step.delayMs).toBeGreaterThanOrEqual(retryAfterMs ?? 0);
          expect(step.delayMs).toBeLessThanOrEqual(retryAfterMs === null ? maxDelayMs : maxRetryAfterMs);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('should fall back instead of retrying whenever the Retry-After is over the cap', () => {
    fc.assert(
      fc.property(
        policyArb,
        kindArb,
        retryAfterArb,
        fc.integer({ min: 1, max: 20 }),
        randomArb,
        (policy, kind, retryAfterMs, attempt, random) => {
          fc.pre(retryAfterMs !== null && retryAfterMs > policy[kind].maxRetryAfterMs);
          expect(decide(policy, kind, retryAfterMs, attempt, random).action).not.toBe('retry');
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('should end every run of attempts within maxRetries + 1 tries', () => {
    fc.assert(
      fc.property(policyArb, kindArb, retryAfterArb, randomArb, (policy, kind, retryAfterMs, random) => {
        let attempt = 1;
        while (decide(policy, kind, retryAfterMs, attempt, random).action === 'retry') attempt += 1;
        expect(attempt).toBeLessThanOrEqual(policy[kind].maxRetries + 1);
      }),
      { numRuns: 1_000 },
    );
  });

  it('should never retry or fall back an invalid-request, under any valid policy', () => {
    fc.assert(
      fc.property(
        policyArb,
        retryAfterArb,
        fc.integer({ min: 1, max: 20 }),
        randomArb,
        (policy, retryAfterMs, attempt, random) => {
          expect(decide(policy, 'invalid-request', retryAfterMs, attempt, random)).toEqual({
            action: 'fail',
            reason: 'policy',
          });
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('should decide the same way for the same random draw', () => {
    fc.assert(
      fc.property(
        policyArb,
        kindArb,
        retryAfterArb,
        fc.integer({ min: 1, max: 20 }),
        randomArb,
        (policy, kind, retryAfterMs, attempt, random) => {
          expect(decide(policy, kind, retryAfterMs, attempt, random)).toEqual(
            decide(policy, kind, retryAfterMs, attempt, random),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
