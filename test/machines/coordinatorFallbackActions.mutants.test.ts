/**
 * machines/coordinatorFallbackActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * a session leaving its provider (requeue, fallback admitted, fallback refused) settles its stint through
 * the settleStint slot and is announced; the coordinator group's tests left the slot unbound and never
 * requeued. The real coordinator and sessions, with the side-effect slots bound.
 */
import { createActor, fromCallback } from 'xstate';
import type { ActorRefFrom } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { CoordinatorConfig, CoordinatorEmitted, SideEffectParams } from '../../machines/coordinator.types';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import {
  DAY0,
  DEFAULT_CONFIG,
  NEXT_RESET,
  T0,
  budgetsOf,
  createTestCredentialsActor,
  grantAll,
} from '../helpers/machineHarness';

const POLICIES = resolveAgentFailurePolicy();

function coordinator(openaiLimit: number, config: Partial<CoordinatorConfig> = {}) {
  const settled: SideEffectParams['settleStint'][] = [];
  const emitted: CoordinatorEmitted[] = [];
  const machine = coordinatorMachine.provide({
    actions: { settleStint: (_, params) => void settled.push(params) },
    actors: { clock: fromCallback(() => undefined), credentials: createTestCredentialsActor(grantAll, []) },
  });
  const actor = createActor(machine, {
    systemId: 'coordinator',
    input: {
      config: { ...DEFAULT_CONFIG, failurePolicies: POLICIES, ...config },
      budgets: budgetsOf({
        claude: { dailyLimit: 1_000, maxConcurrent: 2 },
        openai: { dailyLimit: openaiLimit, maxConcurrent: openaiLimit === 0 ? 0 : 2 },
      }),
      now: T0,
      day: DAY0,
      nextResetAt: NEXT_RESET,
    },
  });
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  actor.send({
    type: 'agent.spawn',
    requestId: 'r1',
    sessionId: 's1',
    agentId: 'a1',
    estimatedTokens: 100,
    preferredProvider: null,
    onlyPreferred: false,
    waitMs: 0,
    priority: 0,
    now: T0,
  });
  const session = () => actor.system.get('s1') as ActorRefFrom<AgentSessionMachine> | undefined;
  const of = <T extends CoordinatorEmitted['type']>(type: T) => emitted.filter((e) => e.type === type);
  return { actor, settled, of, session, context: () => actor.getSnapshot().context };
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
});
