/**
 * machines/coordinatorSessionActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * what the coordinator does with a session's reports besides counting them (the side effects of its end,
 * a top-up asked of a shared ledger, an adaptive limit that grows, an overrun), through the real
 * coordinator and sessions with the side-effect slots bound.
 */
import type { CoordinatorConfig, SideEffectParams } from '../../machines/coordinator.types';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

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
    session.send({ type: 'session.usage', tokens: 130, now: T0 + 1 });
    // 130 reported, 100 within: the overage of 30 plus min(estimate 100, floor(free 870 / 2)).
    expect(c.of('quota.topUpAsked')).toEqual([
      { type: 'quota.topUpAsked', sessionId: 's1', provider: 'claude', stint: 0, tokens: 130, usedOnProvider: 130 },
    ]);
    expect(c.context().topUps).toEqual({
      s1: { provider: 'claude', stint: 0, estimate: 100, usedOnProvider: 130, asked: 130, extra: 100, uncovered: 0 },
    });
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
    c.actor.stop();
  });
});
