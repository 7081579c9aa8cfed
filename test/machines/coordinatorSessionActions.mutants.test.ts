/**
 * machines/coordinatorSessionActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * what the coordinator does with a session's reports besides counting them (the side effects of its end,
 * a top-up asked of a shared ledger, an adaptive limit that grows, an overrun), through the real
 * coordinator and sessions with the side-effect slots bound; and when a report lets waiting requests in (a success
 * that raises an adaptive limit or closes a half-open circuit) and when it does not, the time a late report
 * leaves, a requeued session that ends beside another, a session that ends while the coordinator stops.
 */
import type { CoordinatorConfig, SideEffectParams } from '../../machines/coordinator.types';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { createCoordinatorHarness, providerFailed, serverThrottled, T0 } from '../helpers/machineHarness';

function coordinator(config: Partial<CoordinatorConfig> = {}, claude = { dailyLimit: 1_000, maxConcurrent: 4 }) {
  const settled: SideEffectParams['settleStint'][] = [];
  const learned: SideEffectParams['learnEstimate'][] = [];
  const h = createCoordinatorHarness({
    limits: { claude },
    config,
    actions: {
      settleStint: (_, params) => void settled.push(params),
      learnEstimate: (_, params) => void learned.push(params),
    },
  });
  h.spawn({ requestId: 'r1', sessionId: 's1', agentId: 'a1', estimatedTokens: 100 });
  const session = h.session('s1')!;
  // `session` is the ref at spawn; liveSession looks again (a shared ledger starts it only once it answers).
  const liveSession = () => h.session('s1')!;
  return { actor: h.actor, settled, learned, session, liveSession, of: h.emittedOf, context: h.context };
}

describe('coordinator session actions (mutation edges)', () => {
  it('should settle the stint and learn the estimate when a session ends', () => {
    const c = coordinator();
    expect(c.of('agent.active')).toEqual([
      { type: 'agent.active', sessionId: 's1', agentId: 'a1', provider: 'claude' },
    ]);
    c.session.send({ type: 'session.usage', tokens: 30, now: T0 + 1 });
    c.session.send({ type: 'session.release', now: T0 + 2 });
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 30 }]);
    expect(c.learned).toEqual([{ sessionId: 's1', reason: 'released', usedTokens: 30 }]);
    expect(c.context().budgets.claude).toMatchObject({ used: 30, reserved: 0, active: 0 });
    c.actor.stop();
  });

  it('should ask a shared ledger for a top-up beyond the allocation', () => {
    const c = coordinator({ sharedLedger: true });
    c.actor.send({ type: 'ledger.reserveAnswered', requestId: 'r1', granted: true, now: T0 });
    const session = c.liveSession();
    session.send({ type: 'session.usage', tokens: 60, now: T0 + 1 });
    expect(c.of('quota.topUpAsked')).toEqual([]);
    session.send({ type: 'session.usage', tokens: 70, now: T0 + 1 });
    // 130 reported in all, 100 within: the overage of 30 plus min(estimate 100, floor(free 870 / 2)).
    expect(c.of('quota.topUpAsked')).toEqual([
      { type: 'quota.topUpAsked', sessionId: 's1', provider: 'claude', stint: 0, tokens: 130, usedOnProvider: 130 },
    ]);
    expect(c.context().topUps).toEqual({
      s1: { provider: 'claude', stint: 0, estimate: 100, usedOnProvider: 130, asked: 130, extra: 100, uncovered: 0 },
    });
    // While the top-up is pending, a further overage eats into its extra; the entry follows the session's use.
    session.send({ type: 'session.usage', tokens: 50, now: T0 + 2 });
    expect(c.context().topUps.s1).toMatchObject({ usedOnProvider: 180, extra: 50 });
    session.send({ type: 'session.release', now: T0 + 3 });
    expect(c.context().topUps).toEqual({});
    c.actor.stop();
  });

  it('should ask a shared ledger for a top-up on the stint the report names', () => {
    const c = coordinator({ sharedLedger: true });
    c.actor.send({
      type: 'session.usageReported',
      sessionId: 's9',
      provider: 'claude',
      tokens: 40,
      withinTokens: 0,
      estimatedTokens: 100,
      stint: 1,
      usedOnProvider: 40,
      now: T0 + 1,
    });
    expect(c.of('quota.topUpAsked')).toEqual([
      { type: 'quota.topUpAsked', sessionId: 's9', provider: 'claude', stint: 1, tokens: 140, usedOnProvider: 40 },
    ]);
    c.actor.stop();
  });

  it('should grow an adaptive limit after enough successes', () => {
    const adaptive = { initial: { claude: 1, openai: 1 }, growAfter: 2, decreaseIntervalMs: 1_000 };
    const c = coordinator({ adaptive });
    c.session.send({ type: 'session.usage', tokens: 10, now: T0 + 1 });
    c.session.send({ type: 'session.usage', tokens: 10, now: T0 + 2 });
    expect(c.of('provider.limit')).toEqual([
      { type: 'provider.limit', provider: 'claude', limit: 2, previous: 1, reason: 'grow' },
    ]);
    expect(c.context().health.claude).toMatchObject({ limit: 2, successRun: 0 });
    c.actor.stop();
  });

  it('should tell a session its usage went beyond the window', () => {
    const c = coordinator({}, { dailyLimit: 200, maxConcurrent: 4 });
    c.session.send({ type: 'session.usage', tokens: 300, now: T0 + 1 });
    expect(c.of('quota.overrun')).toEqual([
      { type: 'quota.overrun', provider: 'claude', sessionId: 's1', overrunTokens: 100 },
    ]);
    expect(c.session.getSnapshot().output).toMatchObject({ reason: 'quota-exhausted', usedTokens: 300 });
    c.actor.stop();
  });

  it('should take a requeued session that ends out of the queue', () => {
    const c = coordinator({ failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 });
    const failure = { kind: 'rate-limit', retryAfterMs: 3_000, throttle: 'server' as const };
    c.session.send({ type: 'session.failure', reason: 'rate-limit', failure, jitter: 0, now: T0 + 10 });
    expect(c.context().queue).toMatchObject([{ sessionId: 's1', readmit: true }]);
    c.session.send({ type: 'session.release', now: T0 + 20 });
    expect(c.context().queue).toEqual([]);
    expect(c.of('agent.released')).toMatchObject([{ output: { sessionId: 's1', heldSlot: false } }]);
    // The stint was settled when the session was requeued; holding no slot, its end settles nothing more.
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 0 }]);
    c.actor.stop();
  });
});

const CIRCUIT = { windowMs: 60_000, allowedFailures: 1, minRequests: 2, cooldownMs: 30_000, halfOpenProbes: 1 };
function withQueue(config: Partial<CoordinatorConfig> = {}, maxConcurrent = 4) {
  const settled: SideEffectParams['settleStint'][] = [];
  const learned: SideEffectParams['learnEstimate'][] = [];
  const h = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent } },
    config: { fallbackChain: ['claude'], ...config },
    actions: {
      settleStint: (_, params) => void settled.push(params),
      learnEstimate: (_, params) => void learned.push(params),
    },
  });
  return { h, settled, learned };
}

describe('coordinator session actions and the queue (mutation edges)', () => {
  it('should let a waiting request in as soon as a success raises the adaptive limit', () => {
    const adaptive = { initial: { claude: 1, openai: 1 }, growAfter: 2, decreaseIntervalMs: 1_000 };
    const { h } = withQueue({ adaptive });
    const first = h.spawn({ estimatedTokens: 100 });
    const waiting = h.spawn({ estimatedTokens: 100, waitMs: 60_000 });
    expect(h.context().queue.map((q) => q.requestId)).toEqual([waiting.requestId]);
    h.toSession(first.sessionId, { type: 'session.usage', tokens: 10, now: T0 + 1 });
    expect(h.context().queue).toHaveLength(1);
    h.toSession(first.sessionId, { type: 'session.usage', tokens: 10, now: T0 + 2 });
    expect(h.context().queue).toEqual([]);
    expect(h.emittedOf('agent.admitted').map((e) => e.requestId)).toEqual([first.requestId, waiting.requestId]);
    h.stop();
  });

  it('should let a waiting request in as soon as a success closes a half-open circuit', () => {
    const { h } = withQueue({ circuit: CIRCUIT });
    const probe = h.spawn({ estimatedTokens: 100 });
    for (let i = 0; i < 2; i += 1) h.actor.send(providerFailed('overloaded', T0));
    const waiting = h.spawn({ estimatedTokens: 100, waitMs: 120_000 });
    h.tick(T0 + 30_000);
    // Half-open: one probe at a time, and the session already running is it.
    expect(h.context().health.claude.state).toBe('halfOpen');
    expect(h.context().queue.map((q) => q.requestId)).toEqual([waiting.requestId]);
    h.toSession(probe.sessionId, { type: 'session.usage', tokens: 10, now: T0 + 30_001 });
    expect(h.context().health.claude.state).toBe('closed');
    expect(h.context().queue).toEqual([]);
    expect(h.emittedOf('agent.admitted').map((e) => e.requestId)).toEqual([probe.requestId, waiting.requestId]);
    h.stop();
  });

  it('should leave a requeued session that is due to the clock when another session reports usage', () => {
    const { h } = withQueue({ failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 });
    const requeued = h.spawn({ estimatedTokens: 100 });
    const other = h.spawn({ estimatedTokens: 100 });
    h.toSession(requeued.sessionId, serverThrottled(T0 + 10));
    // Past its not-before time (T0 + 3_010), with room: the report frees nothing, so it waits for the tick.
    h.toSession(other.sessionId, { type: 'session.usage', tokens: 10, now: T0 + 4_000 });
    expect(h.context().queue).toMatchObject([{ sessionId: requeued.sessionId, readmit: true }]);
    h.tick(T0 + 4_000);
    expect(h.context().queue).toEqual([]);
    h.stop();
  });

  it('should keep the coordinator time when a usage report comes late', () => {
    const { h } = withQueue();
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    h.spawn({ estimatedTokens: 100, now: T0 + 5_000 });
    h.toSession(sessionId, { type: 'session.usage', tokens: 10, now: T0 + 1_000 });
    expect(h.context().now).toBe(T0 + 5_000);
    h.stop();
  });

  it('should keep another requeued session waiting when one ends', () => {
    const { h } = withQueue({ failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 }, 2);
    const a = h.spawn({ estimatedTokens: 100 });
    const b = h.spawn({ estimatedTokens: 100 });
    for (const { sessionId } of [a, b]) h.toSession(sessionId, serverThrottled(T0 + 10));
    expect(h.context().queue.map((q) => q.sessionId)).toEqual([a.sessionId, b.sessionId]);
    h.toSession(a.sessionId, { type: 'session.release', now: T0 + 20 });
    expect(h.context().queue).toMatchObject([{ sessionId: b.sessionId, readmit: true }]);
    h.stop();
  });

  it('should settle a session that ends while the coordinator stops, and admit nothing', () => {
    const { h, settled, learned } = withQueue({}, 1);
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    h.toSession(sessionId, { type: 'session.usage', tokens: 30, now: T0 + 1 });
    h.actor.send({ type: 'coordinator.stop' });
    h.toSession(sessionId, { type: 'session.release', now: T0 + 2 });
    expect(h.emittedOf('agent.released')).toMatchObject([
      { type: 'agent.released', output: { sessionId, usedTokens: 30 } },
    ]);
    expect(h.counters('claude')).toEqual({ used: 30, reserved: 0, active: 0, overrun: 0 });
    expect(settled).toEqual([{ sessionId, stint: 0, provider: 'claude', usedOnProvider: 30 }]);
    expect(learned).toEqual([{ sessionId, reason: 'released', usedTokens: 30 }]);
    h.stop();
  });
});
