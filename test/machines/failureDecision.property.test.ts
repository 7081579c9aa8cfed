/**
 * The failure decision is total and bounded: every situation gets exactly one step, a fallback only
 * while the chain allows one (never beyond maxFallbacks), a retry only within the policy's
 * maxRetries, a requeue only within maxRequeues, and never a retry or fallback for a request at fault.
 */
import fc from 'fast-check';
import { canFallBackIn, decideFailure } from '../../machines/failureDecision';
import type { FailureSituation } from '../../machines/failureDecision';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { PROVIDER_FAILURE_KINDS } from '../../src/providers';
import type { FailurePolicyOptions } from '../../src/providers';

const KINDS = [...PROVIDER_FAILURE_KINDS, 'unknown-kind'];
const kindOptions = fc.record(
  {
    action: fc.constantFrom('retry' as const, 'fallback' as const, 'fail' as const),
    maxRetries: fc.integer({ min: 0, max: 4 }),
  },
  { requiredKeys: [] },
);
// Valid options only: a base delay within the cap, and invalid-request left at its one action (fail).
const optionsArb: fc.Arbitrary<FailurePolicyOptions> = fc
  .record({
    maxRetries: fc.integer({ min: 0, max: 5 }),
    baseDelayMs: fc.integer({ min: 0, max: 5_000 }),
    extraDelayMs: fc.integer({ min: 0, max: 60_000 }),
    kinds: fc.dictionary(
      fc.constantFrom(...PROVIDER_FAILURE_KINDS.filter((k) => k !== 'invalid-request')),
      kindOptions,
    ),
  })
  .map(({ extraDelayMs, ...o }) => ({ ...o, maxDelayMs: o.baseDelayMs + extraDelayMs }));

const situationArb = fc
  .record({
    options: optionsArb,
    withPolicies: fc.boolean(),
    kind: fc.constantFrom(...KINDS),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }),
    throttle: fc.constantFrom('server' as const, 'usage-limit' as const, null),
    attempt: fc.integer({ min: 1, max: 12 }),
    requeues: fc.integer({ min: 0, max: 5 }),
    maxRequeues: fc.integer({ min: 0, max: 5 }),
    usedOnProvider: fc.constantFrom(0, 1, 500),
    used: fc.integer({ min: 0, max: 3 }),
    max: fc.integer({ min: 0, max: 3 }),
    providersLeft: fc.integer({ min: 0, max: 2 }),
    jitter: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(Number.NaN)),
  })
  .map((s): FailureSituation => ({
    failure: { kind: s.kind, retryAfterMs: s.retryAfterMs, throttle: s.throttle },
    attempt: s.attempt,
    requeues: s.requeues,
    maxRequeues: s.maxRequeues,
    usedOnProvider: s.usedOnProvider,
    fallbacks: { used: s.used, max: s.max, providersLeft: s.providersLeft },
    policies: s.withPolicies ? resolveAgentFailurePolicy(s.options) : null,
    jitter: s.jitter,
  }));

describe('decideFailure (property)', () => {
  it('should give every situation one bounded step', () => {
    fc.assert(
      fc.property(situationArb, (situation) => {
        const decision = decideFailure(situation);
        const canFallBack = canFallBackIn(situation);
        switch (decision.step) {
          case 'fallBack':
            expect(canFallBack).toBe(true);
            expect(situation.fallbacks.used).toBeLessThan(situation.fallbacks.max);
            break;
          case 'retry': {
            const policies = situation.policies!;
            const settings = (canFallBack ? policies.policy : policies.withoutFallback)[situation.failure.kind]!;
            expect(situation.attempt).toBeLessThanOrEqual(settings.maxRetries);
            expect(decision.attempt).toBe(situation.attempt);
            expect(Number.isInteger(decision.delayMs) && decision.delayMs >= 0).toBe(true);
            expect(decision.delayMs).toBeLessThanOrEqual(Math.max(settings.maxDelayMs, settings.maxRetryAfterMs));
            expect(situation.failure.kind).not.toBe('invalid-request');
            break;
          }
          case 'requeue':
            expect(situation.requeues).toBeLessThan(situation.maxRequeues);
            expect(situation.usedOnProvider).toBe(0);
            expect(situation.failure.throttle).toBe('server');
            expect(Number.isFinite(decision.delayMs) && decision.delayMs >= 0).toBe(true);
            break;
          case 'giveUp':
            expect(['invalid-request', 'no-provider']).toContain(decision.code);
            if (decision.code === 'no-provider' && situation.policies !== null) expect(canFallBack).toBe(false);
            break;
          default:
            throw new Error(`not a step: ${JSON.stringify(decision)}`);
        }
        if (
          situation.policies !== null &&
          situation.failure.kind === 'invalid-request' &&
          decision.step !== 'requeue'
        ) {
          expect(decision).toEqual({ step: 'giveUp', code: 'invalid-request' });
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
