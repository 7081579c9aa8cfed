/**
 * The read model: events published on the relay go in, stats come out. Budgets come from a real
 * coordinator's snapshot; the activity from the @xstate/store the relay feeds.
 */
import { createActor } from 'xstate';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { AgentRegistry } from '../../src/orchestrator/agentRegistry';
import { createManualClock } from '../../src/orchestrator/clock';
import { coordinatorInputOf } from '../../src/orchestrator/coordinatorInput';
import { EventRelay } from '../../src/orchestrator/eventRelay';
import { resolveOptions } from '../../src/orchestrator/options';
import { createReadModel, projectStats } from '../../src/orchestrator/readModel';
import type { RecordedActivity } from '../../src/orchestrator/readModel';
import { T0 } from '../helpers/orchestratorFixtures';

function relay(): EventRelay {
  const unused = () => {
    throw new Error('not used by these tests');
  };
  return new EventRelay({
    registry: new AgentRegistry(),
    clock: createManualClock(T0),
    makeAgent: unused,
    refusalError: unused,
    askReserve: unused,
    askTopUp: unused,
  });
}

describe('readModel', () => {
  it('should count what the relay publishes, and tell its subscribers', () => {
    const events = relay();
    const store = createReadModel(events);
    const seen: RecordedActivity[] = [];
    const subscription = store.subscribe((snapshot) => seen.push(snapshot.context));
    events.publish('agent.admitted', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'claude',
      allocatedTokens: 10,
      waitedMs: 0,
    });
    events.publish('agent.queued', { agentId: 'a2', position: 0, code: 'concurrency-limit' });
    events.publish('agent.refused', { agentId: 'a2', code: 'concurrency-limit', retryAfterMs: 1_000, waited: true });
    events.publish('agent.refused', { agentId: 'a3', code: 'concurrency-limit', retryAfterMs: 1_000, waited: false });
    events.publish('agent.refused', { agentId: 'a4', code: 'queue-full', retryAfterMs: null, waited: false });
    events.publish('agent.fallback', {
      agentId: 'a1',
      sessionId: 's1',
      from: 'claude',
      to: 'openai',
      reason: 'overloaded',
      latencyMs: 3,
    });
    events.publish('agent.fallback', {
      agentId: 'a5',
      sessionId: 's5',
      from: 'claude',
      to: null,
      reason: 'server',
      latencyMs: 0,
    });
    events.publish('agent.requeued', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'openai',
      reason: 'rate-limit',
      notBefore: T0,
    });
    events.publish('quota.overrun', { provider: 'openai', agentId: 'a1', sessionId: 's1', overrunTokens: 40 });
    events.publish('quota.overrun', { provider: 'openai', agentId: 'a1', sessionId: 's1', overrunTokens: 2 });
    events.publish('agent.released', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'openai',
      usedTokens: 52,
      returnedTokens: 0,
      reason: 'released',
      error: null,
    });
    events.publish('provider.limit', { provider: 'claude', limit: 2, previous: 4, reason: 'throttle' });
    events.publish('provider.limit', { provider: 'claude', limit: 3, previous: 2, reason: 'grow' });
    events.publish('provider.paused', { provider: 'openai', until: T0 + 60_000, reason: 'quota' });
    events.publish('provider.paused', { provider: 'claude', until: T0 + 60_000, reason: 'quota' });
    events.publish('provider.resumed', { provider: 'claude' });
    events.publish('quota.reset', { day: '2026-03-11' });
    // Events the read model does not aggregate change nothing.
    events.publish('quota.low', { provider: 'claude', available: 10, dailyLimit: 1_000 });
    events.publish('provider.circuit', { provider: 'claude', state: 'open', openUntil: T0 + 1_000, failures: 3 });
    subscription.unsubscribe();
    expect(store.getSnapshot().context).toEqual({
      admitted: 1,
      queued: 1,
      refused: { 'concurrency-limit': 2, 'queue-full': 1 },
      released: { released: 1 },
      resets: 1,
      providers: {
        claude: {
          limitChanges: 2,
          lowestLimit: 2,
          pauses: 1,
          pauseReason: null,
          fallbacks: { overloaded: 1, server: 1 },
          requeued: 0,
          overrunTokens: 0,
        },
        openai: {
          limitChanges: 0,
          lowestLimit: null,
          pauses: 1,
          pauseReason: 'quota',
          fallbacks: {},
          requeued: 1,
          overrunTokens: 42,
        },
      },
    });
    expect(seen).toHaveLength(17);
  });

  it('should copy only the records an event changes (the admission cycle leaves the per-provider records shared)', () => {
    const events = relay();
    const store = createReadModel(events);
    const before = store.getSnapshot().context;
    events.publish('agent.admitted', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'claude',
      allocatedTokens: 10,
      waitedMs: 0,
    });
    events.publish('agent.released', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'claude',
      usedTokens: 5,
      returnedTokens: 5,
      reason: 'released',
      error: null,
    });
    const cycled = store.getSnapshot().context;
    expect(cycled.providers).toBe(before.providers);
    expect(cycled.refused).toBe(before.refused);
    events.publish('agent.requeued', {
      agentId: 'a1',
      sessionId: 's1',
      provider: 'claude',
      reason: 'x',
      notBefore: T0,
    });
    const requeued = store.getSnapshot().context;
    expect(requeued.providers.claude).not.toBe(cycled.providers.claude);
    expect(requeued.providers.openai).toBe(cycled.providers.openai);
    expect(requeued.released).toBe(cycled.released);
  });

  it('should sum the totals of stats().activity from the per-provider figures, both providers counted', () => {
    const options = resolveOptions({ clock: createManualClock(T0) });
    const context = createActor(coordinatorMachine, {
      input: coordinatorInputOf(options, { sharedLedger: false, budgets: options.budgets, now: T0 }),
    }).getSnapshot().context;
    const events = relay();
    const store = createReadModel(events);
    const activity = () =>
      projectStats(store.getSnapshot().context, { context, now: T0, options, ledger: null, taskKinds: {} }).activity;
    expect(activity()).toMatchObject({ fallbacks: 0, requeued: 0, overrunTokens: 0 });
    const session = { agentId: 'a', sessionId: 's' };
    for (const [from, reason] of [
      ['claude', 'overloaded'],
      ['claude', 'server'],
      ['openai', 'auth'],
    ] as const)
      events.publish('agent.fallback', { ...session, from, to: null, reason, latencyMs: 0 });
    for (const provider of ['claude', 'openai', 'openai'] as const)
      events.publish('agent.requeued', { ...session, provider, reason: 'rate-limit', notBefore: T0 });
    events.publish('quota.overrun', { ...session, provider: 'claude', overrunTokens: 5 });
    events.publish('quota.overrun', { ...session, provider: 'openai', overrunTokens: 40 });
    const first = activity();
    expect(first).toMatchObject({ fallbacks: 3, requeued: 3, overrunTokens: 45 });
    expect(first.providers.openai).toMatchObject({ fallbacks: { auth: 1 }, requeued: 2, overrunTokens: 40 });
    expect(activity()).toBe(first);
    events.publish('agent.admitted', { ...session, provider: 'claude', allocatedTokens: 10, waitedMs: 0 });
    expect(activity()).not.toBe(first);
    expect(activity()).toMatchObject({ admitted: 1, fallbacks: 3, requeued: 3, overrunTokens: 45 });
  });

  it('should project stats from the coordinator snapshot, the options, the shared ledger view and the activity', () => {
    const options = resolveOptions({
      clock: createManualClock(T0),
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 }, openai: { dailyLimit: 500, maxConcurrent: 1 } },
    });
    const actor = createActor(coordinatorMachine, {
      input: coordinatorInputOf(options, { sharedLedger: false, budgets: options.budgets, now: T0 }),
    });
    const events = relay();
    const store = createReadModel(events);
    events.publish('agent.queued', { agentId: 'a2', position: 0, code: 'concurrency-limit' });
    const context = actor.getSnapshot().context;
    const local = projectStats(store.getSnapshot().context, { context, now: T0, options, ledger: null, taskKinds: {} });
    expect(local.activity.queued).toBe(1);
    expect(local.providers.claude).toMatchObject({
      dailyLimit: 1_000,
      used: 0,
      reserved: 0,
      available: 1_000,
      active: 0,
      maxConcurrent: 2,
      pausedUntil: null,
      circuit: { state: 'closed' },
    });
    expect(local.ledger).toEqual({ backend: 'memory', state: 'ok', unsettled: 0 });
    expect(local.day).toBe(context.day);

    const others = { claude: { used: 300, reserved: 100, active: 1 }, openai: { used: 0, reserved: 0, active: 0 } };
    const shared = projectStats(store.getSnapshot().context, {
      context,
      now: T0,
      options,
      ledger: { state: 'degraded', unsettled: 2, others },
      taskKinds: {},
    });
    expect(shared.providers.claude).toMatchObject({ used: 300, reserved: 100, available: 600, active: 1 });
    expect(shared.ledger).toMatchObject({ state: 'degraded', unsettled: 2 });
  });
});
