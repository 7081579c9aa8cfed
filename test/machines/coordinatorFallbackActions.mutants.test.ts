/**
 * machines/coordinatorFallbackActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * a session leaving its provider (requeue, fallback admitted, fallback refused) settles its stint through
 * the settleStint slot and is announced; the coordinator group's tests left the slot unbound and never
 * requeued. The real coordinator and sessions, with the side-effect slots bound.
 */
import type { CoordinatorConfig, SideEffectParams } from '../../machines/coordinator.types';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { DEFAULT_CONFIG, T0, createCoordinatorHarness } from '../helpers/machineHarness';

const POLICIES = resolveAgentFailurePolicy();
const AUTH = { kind: 'auth', retryAfterMs: null, throttle: null };

function coordinator(openaiLimit: number, config: Partial<CoordinatorConfig> = {}) {
  const settled: SideEffectParams['settleStint'][] = [];
  const h = createCoordinatorHarness({
    limits: {
      claude: { dailyLimit: 1_000, maxConcurrent: 2 },
      openai: { dailyLimit: openaiLimit, maxConcurrent: openaiLimit === 0 ? 0 : 2 },
    },
    config: { failurePolicies: POLICIES, ...config },
    actions: { settleStint: (_, params) => void settled.push(params) },
  });
  h.spawn({ requestId: 'r1', sessionId: 's1', agentId: 'a1', estimatedTokens: 100 });
  return { actor: h.actor, settled, of: h.emittedOf, session: () => h.session('s1'), context: h.context };
}

describe('coordinator fallback actions (mutation edges)', () => {
  it('should requeue a throttled session on its own provider, first in the queue, and settle its stint', () => {
    const c = coordinator(0, { maxRequeues: 2 });
    const seq = c.context().queueSeq;
    const failure = { kind: 'rate-limit', retryAfterMs: 3_000, throttle: 'server' as const };
    c.session()!.send({ type: 'session.failure', reason: 'rate-limit', failure, jitter: 0, now: T0 + 10 });
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 0 }]);
    const deadline = T0 + 10 + DEFAULT_CONFIG.leaseMs;
    expect(c.of('agent.requeued')).toEqual([
      {
        type: 'agent.requeued',
        requestId: 'requeue:s1',
        sessionId: 's1',
        agentId: 'a1',
        provider: 'claude',
        reason: 'rate-limit',
        notBefore: T0 + 3_010,
        deadline,
        stint: 0,
        usedOnProvider: 0,
      },
    ]);
    expect(c.context().queue).toMatchObject([
      {
        requestId: 'requeue:s1',
        preferredProvider: 'claude',
        onlyPreferred: true,
        priority: Number.MAX_SAFE_INTEGER,
        deadline,
        seq,
        readmit: true,
      },
    ]);
    expect(c.context().queueSeq).toBe(seq + 1);
    expect(c.context().budgets.claude).toMatchObject({ reserved: 0, active: 0 });
    c.actor.stop();
  });

  it('should move a session down the chain, settle its stint on the provider it left and announce it', () => {
    const c = coordinator(1_000);
    c.session()!.send({
      type: 'session.failure',
      reason: 'auth',
      failure: { kind: 'auth', retryAfterMs: null, throttle: null },
      now: T0 + 10,
    });
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 0 }]);
    expect(c.of('agent.fallback')).toMatchObject([
      { sessionId: 's1', from: 'claude', to: 'openai', reason: 'auth', allocatedTokens: 100 },
    ]);
    expect(c.session()!.getSnapshot().context.provider).toBe('openai');
    expect(c.context().budgets.openai).toMatchObject({ reserved: 100, active: 1 });
    expect(c.context().budgets.claude).toMatchObject({ reserved: 0, active: 0 });
    c.actor.stop();
  });

  it('should refuse a fallback no provider can take, settle the stint and say why', () => {
    const c = coordinator(0);
    const session = c.session()!;
    session.send({
      type: 'session.failure',
      reason: 'auth',
      failure: { kind: 'auth', retryAfterMs: null, throttle: null },
      now: T0 + 10,
    });
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 0 }]);
    expect(c.of('agent.fallback')).toMatchObject([{ sessionId: 's1', from: 'claude', to: null, allocatedTokens: 0 }]);
    expect(session.getSnapshot().output).toMatchObject({
      error: { message: expect.stringContaining('(no-provider on openai)') },
    });
    c.actor.stop();
  });

  it('should refuse a fallback while stopping, settle the stint and give its slot and allocation back', () => {
    const c = coordinator(1_000);
    const session = c.session()!;
    c.actor.send({ type: 'coordinator.stop' });
    session.send({ type: 'session.failure', reason: 'auth', failure: AUTH, now: T0 + 10 });
    expect(c.settled).toEqual([{ sessionId: 's1', stint: 0, provider: 'claude', usedOnProvider: 0 }]);
    expect(c.of('agent.fallback')).toMatchObject([{ sessionId: 's1', from: 'claude', to: null, allocatedTokens: 0 }]);
    expect(session.getSnapshot().output).toMatchObject({
      error: { code: 'stopped', message: 'the orchestrator is stopping' },
    });
    expect(c.context().budgets.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(c.context().budgets.openai).toMatchObject({ reserved: 0, active: 0 });
    c.actor.stop();
  });

  it('should keep the later time when a fallback is admitted or refused with an older one', () => {
    for (const openaiLimit of [1_000, 0]) {
      const h = createCoordinatorHarness({
        limits: {
          claude: { dailyLimit: 1_000, maxConcurrent: 2 },
          openai: { dailyLimit: openaiLimit, maxConcurrent: 2 },
        },
        config: { failurePolicies: POLICIES },
      });
      const a = h.spawn({ estimatedTokens: 100 });
      h.tick(T0 + 1_000);
      // The session's own clock is still at T0 + 10 when it asks to fall back.
      h.toSession(a.sessionId, { type: 'session.failure', reason: 'auth', failure: AUTH, now: T0 + 10 });
      expect(h.emittedOf('agent.fallback')).toMatchObject([{ to: openaiLimit === 0 ? null : 'openai' }]);
      expect(h.context().now).toBe(T0 + 1_000);
      h.stop();
    }
  });

  it('should drop the pending top-up of a session that falls back, whether it is admitted elsewhere or not', () => {
    for (const openaiLimit of [1_000, 0]) {
      const h = createCoordinatorHarness({
        limits: {
          claude: { dailyLimit: 1_000, maxConcurrent: 2 },
          openai: { dailyLimit: openaiLimit, maxConcurrent: 2 },
        },
        config: { failurePolicies: POLICIES, sharedLedger: true },
      });
      const a = h.spawn({ estimatedTokens: 100 });
      h.actor.send({ type: 'ledger.reserveAnswered', requestId: a.requestId, granted: true, now: T0 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 130, now: T0 + 1 });
      expect(Object.keys(h.context().topUps)).toEqual([a.sessionId]);
      h.toSession(a.sessionId, { type: 'session.failure', reason: 'auth', failure: AUTH, now: T0 + 10 });
      expect(h.emittedOf('agent.fallback')).toMatchObject([{ to: openaiLimit === 0 ? null : 'openai' }]);
      expect(h.context().topUps).toEqual({});
      // The share held for the top-up is back with the rest of the stint's allocation.
      expect(h.counters('claude')).toMatchObject({ used: 130, reserved: 0, active: 0 });
      h.stop();
    }
  });
});
