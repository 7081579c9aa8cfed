/**
 * The pure helpers of machines/coordinatorContext.ts against the mutation run (docs/testing.md
 * "Mutation testing"): circuit caps, the shared-ledger refusal code, the retry hint of no-provider,
 * the session input's optional terms, the stint a falling-back session returns and the low-quota
 * watermark. Each was reached only by tests outside the coordinator group (orchestrator, model).
 */
import { withBudget } from '../../machines/budget';
import type { QueuedRequest, SpawnRequest } from '../../machines/coordinator.types';
import {
  capsAt,
  confirmsWithLedger,
  decide,
  decideFallback,
  retryAfterMs,
  returnStint,
  sessionInput,
  withoutNotBefore,
} from '../../machines/coordinatorContext';
import type { CoordinatorContext } from '../../machines/coordinatorContext';
import { HEALTHY } from '../../machines/providerHealth';
import type { ProviderHealth } from '../../machines/providerHealth';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { createCoordinatorHarness, NEXT_RESET, providerFailed, T0 } from '../helpers/machineHarness';

const LIMITS = { claude: { dailyLimit: 1_000, maxConcurrent: 4 }, openai: { dailyLimit: 500, maxConcurrent: 2 } };

/** A coordinator's context at T0, read from a real (then stopped) coordinator, with `patch` on top. */
function contextWith(patch: Partial<CoordinatorContext> = {}): CoordinatorContext {
  const harness = createCoordinatorHarness({ limits: LIMITS });
  const context = harness.context();
  harness.stop();
  return { ...context, ...patch };
}

function healthOf(claude: Partial<ProviderHealth>, openai: Partial<ProviderHealth> = {}) {
  return { claude: { ...HEALTHY, ...claude }, openai: { ...HEALTHY, ...openai } };
}

const REQUEST: SpawnRequest = {
  requestId: 'r1',
  sessionId: 's1',
  agentId: 'a1',
  estimatedTokens: 100,
  preferredProvider: null,
  onlyPreferred: false,
  waitMs: 0,
  priority: 0,
  now: T0,
};

function fallback(now: number) {
  return {
    type: 'session.fallbackRequested',
    sessionId: 's1',
    agentId: 'a1',
    from: 'claude',
    returnedTokens: 50,
    usedOnProvider: 50,
    stint: 1,
    candidates: ['claude'],
    estimatedTokens: 100,
    reason: 'overloaded',
    notBefore: null,
    now,
  } as const;
}

describe('coordinatorContext (mutation edges)', () => {
  it('should have no caps while every circuit is closed, and cap each provider once one is not', () => {
    expect(capsAt(contextWith(), T0)).toBeUndefined();
    const openaiOpen = contextWith({ health: healthOf({}, { state: 'open', openUntil: T0 + 5_000 }) });
    expect(capsAt(openaiOpen, T0)).toEqual({ claude: Number.POSITIVE_INFINITY, openai: 0 });
    const claudePaused = contextWith({ health: healthOf({ pausedUntil: T0 + 5_000 }) });
    expect(capsAt(claudePaused, T0)).toEqual({ claude: 0, openai: Number.POSITIVE_INFINITY });
  });

  describe('decide on a shared ledger', () => {
    // The ledger's refusals taught these budgets: claude has no slot, openai no tokens (both configured).
    const learned = withBudget(withBudget(contextWith().budgets, 'claude', { maxConcurrent: 0 }), 'openai', {
      dailyLimit: 0,
    });
    const shared = { ...contextWith().config, sharedLedger: true, globalLimits: LIMITS };

    it('should report a refusal as what the ledger taught, not as no provider', () => {
      expect(decide(contextWith({ budgets: learned, config: shared }), REQUEST, T0)).toEqual({
        status: 'refuse',
        code: 'concurrency-limit',
      });
    });

    it('should report no provider without a shared ledger or without its global limits', () => {
      const local = { ...shared, sharedLedger: false };
      expect(decide(contextWith({ budgets: learned, config: local }), REQUEST, T0)).toEqual({
        status: 'refuse',
        code: 'no-provider',
      });
      const { globalLimits: _none, ...noLimits } = shared;
      expect(decide(contextWith({ budgets: learned, config: noLimits }), REQUEST, T0)).toEqual({
        status: 'refuse',
        code: 'no-provider',
      });
    });

    it('should admit as decided on a shared ledger', () => {
      expect(decide(contextWith({ config: shared }), REQUEST, T0)).toEqual({
        status: 'admit',
        provider: 'claude',
        allocation: 100,
      });
    });
  });

  it('should confirm with the ledger only a new spawn on a shared ledger', () => {
    const shared = contextWith({ config: { ...contextWith().config, sharedLedger: true } });
    const queued: QueuedRequest = { ...REQUEST, deadline: T0, seq: 0 };
    expect(confirmsWithLedger(shared, REQUEST)).toBe(true);
    expect(confirmsWithLedger(shared, { ...queued, readmit: false })).toBe(true);
    expect(confirmsWithLedger(shared, { ...queued, readmit: true })).toBe(false);
    expect(confirmsWithLedger(contextWith(), REQUEST)).toBe(false);
  });

  describe('retryAfterMs', () => {
    it('should hint the reset for quota and the configured hint for concurrency', () => {
      const context = contextWith();
      expect(retryAfterMs(context, 'quota-exhausted', T0)).toBe(NEXT_RESET - T0);
      expect(retryAfterMs(context, 'concurrency-limit', T0)).toBe(context.config.retryHintMs);
      expect(retryAfterMs(context, 'queue-full', T0)).toBe(context.config.retryHintMs);
    });

    it('should hint the first end of an open circuit or a pause for no provider', () => {
      const context = contextWith({
        health: healthOf({ state: 'open', openUntil: T0 + 5_000 }, { pausedUntil: T0 + 3_000 }),
      });
      expect(retryAfterMs(context, 'no-provider', T0)).toBe(3_000);
      expect(retryAfterMs(context, 'no-provider', T0, ['claude'])).toBe(5_000);
      const both = contextWith({ health: healthOf({ state: 'open', openUntil: T0 + 5_000, pausedUntil: T0 + 8_000 }) });
      expect(retryAfterMs(both, 'no-provider', T0, ['claude'])).toBe(8_000);
    });

    it('should hint nothing for no provider when nothing ends later, nor for a stop', () => {
      const ended = contextWith({ health: healthOf({ state: 'open', openUntil: T0 }, { pausedUntil: T0 }) });
      expect(retryAfterMs(ended, 'no-provider', T0)).toBeNull();
      const closed = contextWith({ health: healthOf({ state: 'closed', openUntil: T0 + 5_000 }) });
      expect(retryAfterMs(closed, 'no-provider', T0)).toBeNull();
      const open = contextWith({ health: healthOf({ state: 'open', openUntil: T0 + 5_000 }) });
      expect(retryAfterMs(open, 'stopped', T0)).toBeNull();
    });
  });

  it('should give a session the optional terms only when configured', () => {
    const bare = sessionInput(contextWith(), REQUEST, 'claude', 100, T0);
    expect(bare).not.toHaveProperty('failurePolicies');
    expect(bare).not.toHaveProperty('maxRequeues');
    expect(bare).not.toHaveProperty('sharedLedger');
    const failurePolicies = resolveAgentFailurePolicy();
    const config = { ...contextWith().config, failurePolicies, maxRequeues: 3, sharedLedger: true };
    expect(sessionInput(contextWith({ config }), REQUEST, 'claude', 100, T0)).toMatchObject({
      failurePolicies,
      maxRequeues: 3,
      sharedLedger: true,
    });
  });

  it('should drop the pending top-up of a session that leaves its provider, and keep the context without one', () => {
    const context = contextWith({ budgets: withBudget(contextWith().budgets, 'claude', { reserved: 300, active: 1 }) });
    const without = returnStint(context, fallback(T0));
    expect(without.context).toBe(context);
    expect(without.budgets.claude).toMatchObject({ reserved: 250, active: 0 });
    const pending = {
      provider: 'claude',
      stint: 1,
      asked: 80,
      extra: 30,
      uncovered: 0,
      estimate: 100,
      usedOnProvider: 50,
    } as const;
    const withTopUp = returnStint({ ...context, topUps: { s1: pending } }, fallback(T0));
    expect(withTopUp.context.topUps).toEqual({});
    expect(withTopUp.budgets.claude).toMatchObject({ reserved: 220, active: 0 });
  });

  it('should judge a fallback at the later of the coordinator time and the failure time', () => {
    // claude's circuit opened until T0 + 5s: half-open (one probe) at the coordinator's T0 + 6s.
    const context = contextWith({ now: T0 + 6_000, health: healthOf({ state: 'open', openUntil: T0 + 5_000 }) });
    expect(decideFallback(context, fallback(T0 + 1_000))).toMatchObject({ status: 'admit', provider: 'claude' });
  });

  it('should drop only the not-before time of a queued request', () => {
    const queued: QueuedRequest = { ...REQUEST, deadline: T0, seq: 3, notBefore: T0 + 1 };
    expect(withoutNotBefore(queued)).toEqual({ ...REQUEST, deadline: T0, seq: 3 });
    expect(withoutNotBefore(queued)).not.toHaveProperty('notBefore');
  });

  it('should count a waiter admitted by a drain as admitted', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } } });
    const a = h.spawn({ estimatedTokens: 100 });
    h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    expect(h.context()).toMatchObject({ admitted: 1, queue: [{ requestId: 'r-2' }] });
    h.toSession(a.sessionId, { type: 'session.release', now: T0 });
    expect(h.context()).toMatchObject({ admitted: 2, queue: [] });
    h.stop();
  });

  it('should announce low quota below the watermark only, not at it', () => {
    // limit 200, watermark 0.5: a session of 100 leaves exactly 100 available, the watermark itself.
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 200, maxConcurrent: 4 } },
      config: { lowWatermark: 0.5 },
    });
    h.spawn({ estimatedTokens: 100 });
    expect(h.emittedOf('quota.low')).toEqual([]);
    h.spawn({ estimatedTokens: 10 });
    expect(h.emittedOf('quota.low')).toEqual([
      { type: 'quota.low', provider: 'claude', available: 90, dailyLimit: 200 },
    ]);
    h.stop();
  });

  it('should ask the shared ledger for a drained waiter before starting it', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } },
      config: { sharedLedger: true },
    });
    const a = h.spawn({ estimatedTokens: 100 });
    h.actor.send({
      type: 'ledger.reserveAnswered',
      requestId: a.requestId,
      granted: true,
      now: T0,
    });
    expect(h.supervisedSessions()).toEqual([a.sessionId]);
    const b = h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    h.toSession(a.sessionId, { type: 'session.release', now: T0 });
    expect(h.emittedOf('ledger.reserveAsked')).toEqual([
      { type: 'ledger.reserveAsked', requestId: a.requestId, sessionId: a.sessionId, provider: 'claude', tokens: 100 },
      { type: 'ledger.reserveAsked', requestId: b.requestId, sessionId: b.sessionId, provider: 'claude', tokens: 100 },
    ]);
    expect(Object.keys(h.context().confirming)).toEqual([b.requestId]);
    expect(h.context().confirming[b.requestId]).toMatchObject({ provider: 'claude', allocation: 100 });
    expect(h.supervisedSessions()).toEqual([]);
    h.stop();
  });

  it('should keep awaiting a reservation asked of the shared ledger across a drain that asks nothing', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
      config: { sharedLedger: true },
    });
    const a = h.spawn({ estimatedTokens: 100 });
    h.tick(T0 + 1_000);
    expect(Object.keys(h.context().confirming)).toEqual([a.requestId]);
    h.actor.send({ type: 'ledger.reserveAnswered', requestId: a.requestId, granted: true, now: T0 + 1_001 });
    expect(h.supervisedSessions()).toEqual([a.sessionId]);
    h.stop();
  });

  it('should tell the host when a success closes a half-open circuit', () => {
    const circuit = { windowMs: 60_000, allowedFailures: 1, minRequests: 2, cooldownMs: 30_000, halfOpenProbes: 1 };
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
      config: { circuit },
    });
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    for (let i = 0; i < 2; i += 1) h.actor.send(providerFailed('overloaded', T0));
    h.tick(T0 + 30_000);
    h.toSession(sessionId, { type: 'session.usage', tokens: 10, now: T0 + 30_001 });
    expect(h.emittedOf('provider.circuit')).toEqual([
      { type: 'provider.circuit', provider: 'claude', state: 'open', openUntil: T0 + 30_000, failures: 2, now: T0 },
      { type: 'provider.circuit', provider: 'claude', state: 'closed', openUntil: null, failures: 0, now: T0 + 30_001 },
    ]);
    h.stop();
  });
});
