/**
 * machines/coordinatorClockActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * what a clock tick does besides draining the queue (a moved reset time, a pause that ends, a circuit
 * that cools down, the lease sweep's grid), through the real coordinator with its side-effect slots bound.
 */
import type { CoordinatorConfig, SideEffectParams } from '../../machines/coordinator.types';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import {
  createCoordinatorHarness,
  DAY0,
  DEFAULT_CONFIG,
  NEXT_RESET,
  providerFailed,
  T0,
} from '../helpers/machineHarness';

const CIRCUIT = { windowMs: 60_000, allowedFailures: 1, minRequests: 2, cooldownMs: 30_000, halfOpenProbes: 1 };

function coordinator(config: Partial<CoordinatorConfig> = {}, now = T0) {
  const pauses: SideEffectParams['recordPause'][] = [];
  const h = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 8 } },
    config: { circuit: CIRCUIT, usageLimitPauseMs: 60_000, ...config },
    now,
    actions: { recordPause: (_, params) => void pauses.push(params) },
  });
  const tick = (at: number, day = DAY0, nextResetAt = NEXT_RESET) => h.tick(at, { day, nextResetAt });
  return { actor: h.actor, pauses, emitted: h.emitted, tick, context: h.context };
}

describe('coordinator clock actions (mutation edges)', () => {
  it('should move only the end of the same window when the reset time changed', () => {
    const c = coordinator();
    c.tick(T0 + 1, DAY0, NEXT_RESET + 5);
    expect(c.context()).toMatchObject({ day: DAY0, nextResetAt: NEXT_RESET + 5 });
    expect(c.emitted).toEqual([]);
    c.actor.stop();
  });

  it('should never move time back on a new window', () => {
    const c = coordinator({}, T0 + 5_000);
    c.tick(T0, 'next-day', NEXT_RESET + 86_400_000);
    expect(c.context()).toMatchObject({ day: 'next-day', now: T0 + 5_000 });
    c.actor.stop();
  });

  it('should resume a paused provider when its pause ends, not before', () => {
    const c = coordinator();
    c.actor.send(providerFailed('usage-limit', T0, { throttle: 'usage-limit', resetAt: T0 + 5_000 }));
    c.tick(T0 + 4_999);
    expect(c.context().health.claude.pausedUntil).toBe(T0 + 5_000);
    expect(c.pauses).toHaveLength(1);
    c.tick(T0 + 5_000);
    expect(c.context().health.claude).toMatchObject({ pausedUntil: 0, state: 'closed' });
    expect(c.pauses.at(-1)).toEqual({ provider: 'claude', pause: null });
    expect(c.emitted.filter((e) => e.type === 'provider.resumed')).toEqual([
      { type: 'provider.resumed', provider: 'claude' },
    ]);
    c.actor.stop();
  });

  it('should store a cooled-down circuit half-open without resuming anything', () => {
    const c = coordinator();
    for (let i = 0; i < 2; i += 1) c.actor.send(providerFailed('overloaded', T0));
    expect(c.context().health.claude).toMatchObject({ state: 'open', openUntil: T0 + 30_000 });
    c.tick(T0 + 29_999);
    expect(c.context().health.claude.state).toBe('open');
    c.tick(T0 + 30_000);
    expect(c.context().health.claude).toMatchObject({ state: 'halfOpen', pausedUntil: 0 });
    expect(c.context().now).toBe(T0 + 30_000);
    expect(c.pauses).toEqual([]);
    expect(c.emitted.some((e) => e.type === 'provider.resumed')).toBe(false);
    c.actor.stop();
  });

  it('should sweep the leases on the grid of the sweep interval, however late the tick', () => {
    const c = coordinator({ sweepIntervalMs: 1_000 });
    const start = c.context().sweptAt;
    c.tick(start + 999);
    expect(c.context().sweptAt).toBe(start);
    c.tick(start + 2_500);
    expect(c.context()).toMatchObject({ sweptAt: start + 2_000, now: start + 2_500 });
    c.actor.stop();
  });
});

const throttled = (retryAfterMs: number) => ({ kind: 'rate-limit', retryAfterMs, throttle: 'server' as const });

/** A coordinator whose sessions are requeued when throttled (the default agent failure policy), claude only. */
function requeueing(config: Partial<CoordinatorConfig> = {}) {
  const h = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
    config: { failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2, fallbackChain: ['claude'], ...config },
  });
  const throttle = (sessionId: string, retryAfterMs: number) =>
    h.toSession(sessionId, {
      type: 'session.failure',
      reason: 'rate-limit',
      failure: throttled(retryAfterMs),
      jitter: 0,
      now: T0 + 10,
    });
  return { h, throttle };
}

describe('coordinator clock actions on the queue (mutation edges)', () => {
  it('should drop a not-before time once it is reached even when no slot is free, and keep a later one', () => {
    const { h, throttle } = requeueing();
    const s1 = h.spawn({ estimatedTokens: 100 });
    const s2 = h.spawn({ estimatedTokens: 100 });
    throttle(s1.sessionId, 3_000);
    throttle(s2.sessionId, 6_000);
    // Two newcomers take both freed slots: the requeued sessions must wait past their not-before times.
    h.spawn({ estimatedTokens: 100, now: T0 + 20 });
    h.spawn({ estimatedTokens: 100, now: T0 + 20 });
    h.tick(T0 + 3_009);
    expect(h.context().queue.map((q) => q.notBefore)).toEqual([T0 + 3_010, T0 + 6_010]);
    h.tick(T0 + 3_010);
    const [first, second] = h.context().queue;
    expect(first).toMatchObject({ sessionId: s1.sessionId, readmit: true });
    expect(first).not.toHaveProperty('notBefore');
    expect(second).toMatchObject({ sessionId: s2.sessionId, notBefore: T0 + 6_010 });
    // The last not-before time in the queue is dropped as well once it is reached.
    h.tick(T0 + 6_010);
    expect(h.context().queue.map((q) => [q.sessionId, q.notBefore])).toEqual([
      [s1.sessionId, undefined],
      [s2.sessionId, undefined],
    ]);
    h.stop();
  });

  it('should tell a requeued session whose wait ran out that no provider took it back, and why', () => {
    const { h, throttle } = requeueing();
    const s1 = h.spawn({ estimatedTokens: 100 });
    h.spawn({ estimatedTokens: 100 });
    throttle(s1.sessionId, 3_000);
    h.spawn({ estimatedTokens: 100, now: T0 + 20 });
    const session = h.session(s1.sessionId)!;
    h.tick(T0 + 10 + DEFAULT_CONFIG.leaseMs - 1);
    expect(session.getSnapshot().status).toBe('active');
    h.tick(T0 + 10 + DEFAULT_CONFIG.leaseMs);
    expect(session.getSnapshot().output).toMatchObject({
      reason: 'no-provider',
      error: {
        code: 'no-provider',
        message: `the session waited ${DEFAULT_CONFIG.leaseMs} ms to be re-admitted on claude after throttling (concurrency-limit)`,
      },
    });
    expect(h.context().queue).toEqual([]);
    expect(h.emittedOf('agent.refused')).toEqual([]);
    h.stop();
  });

  it('should name concurrency when a requeued session runs out of wait before its not-before time', () => {
    const { h, throttle } = requeueing({ leaseMs: 1_000 });
    const s1 = h.spawn({ estimatedTokens: 100 });
    throttle(s1.sessionId, 3_000);
    const session = h.session(s1.sessionId)!;
    // The wait (leaseMs) ends at T0 + 1_010, before the not-before time T0 + 3_010, with a slot free.
    h.tick(T0 + 1_010);
    expect(session.getSnapshot().output?.error?.message).toBe(
      'the session waited 1000 ms to be re-admitted on claude after throttling (concurrency-limit)',
    );
    h.stop();
  });

  it('should refuse a request whose wait ran out with the refusal it meets then, and keep the others waiting', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000, maxConcurrent: 4 } } });
    h.spawn({ estimatedTokens: 600 });
    const late = h.spawn({ estimatedTokens: 600, waitMs: 1_000 });
    const patient = h.spawn({ estimatedTokens: 600, waitMs: 5_000 });
    expect(h.context().queue.map((q) => q.requestId)).toEqual([late.requestId, patient.requestId]);
    h.tick(T0 + 999);
    expect(h.emittedOf('agent.refused')).toEqual([]);
    h.tick(T0 + 1_000);
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: late.requestId,
        agentId: late.agentId,
        code: 'quota-exhausted',
        retryAfterMs: NEXT_RESET - (T0 + 1_000),
        waited: true,
      },
    ]);
    expect(h.context().queue.map((q) => q.requestId)).toEqual([patient.requestId]);
    h.stop();
  });
});

describe('coordinator clock actions and the time of a tick (mutation edges)', () => {
  it('should not move time back when a late tick ends a pause', () => {
    const c = coordinator();
    c.actor.send(providerFailed('usage-limit', T0, { throttle: 'usage-limit', resetAt: T0 + 5_000 }));
    c.actor.send(providerFailed('overloaded', T0 + 10_000));
    c.tick(T0 + 6_000);
    expect(c.context().health.claude.pausedUntil).toBe(0);
    expect(c.context().now).toBe(T0 + 10_000);
    c.actor.stop();
  });

  it('should not move time back when a late tick ends a wait', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } } });
    h.spawn({ estimatedTokens: 100 });
    h.spawn({ estimatedTokens: 100, waitMs: 1_000 });
    h.actor.send(providerFailed('overloaded', T0 + 5_000));
    h.tick(T0 + 2_000);
    expect(h.context().queue).toEqual([]);
    expect(h.context().now).toBe(T0 + 5_000);
    h.stop();
  });

  it('should not move time back when a late tick sweeps', () => {
    const c = coordinator({ sweepIntervalMs: 1_000 });
    c.actor.send(providerFailed('overloaded', T0 + 5_000));
    c.tick(T0 + 1_000);
    expect(c.context()).toMatchObject({ sweptAt: T0 + 1_000, now: T0 + 5_000 });
    c.actor.stop();
  });

  it('should end a session whose lease passed only at the next sweep', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } },
      config: { sweepIntervalMs: 1_000, leaseMs: 500 },
    });
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    h.tick(T0 + 600);
    expect(h.supervisedSessions()).toEqual([sessionId]);
    h.tick(T0 + 1_000);
    expect(h.supervisedSessions()).toEqual([]);
    expect(h.emittedOf('agent.released')).toMatchObject([{ output: { sessionId, reason: 'expired' } }]);
    h.stop();
  });
});
