/**
 * Requeue, don't fail: a session the server throttles before it did any work gives its slot back,
 * waits in the queue for the same provider (Retry-After honoured) and becomes active again,
 * neither counted as failed nor sent down the fallback chain.
 */
import type { FailureReport } from '../../src';
import { MINUTE, T0, agentvisorErrorOf, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

const THROTTLED = (retryAfterSeconds: number): FailureReport => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  body: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
  },
});

/** Tracks a promise's state without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { status: 'pending' };
  promise.then(
    (value) => Object.assign(state, { status: 'resolved', value }),
    (error: unknown) => Object.assign(state, { status: 'rejected', error }),
  );
  return state;
}

describe('requeue after server-side throttling', () => {
  it('should give the slot back, wait out the Retry-After in the queue and come back on the same provider', async () => {
    const { orch, clock, events } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'early' });
    const outcome = track(agent.reportFailure(THROTTLED(2)));
    await flushMicrotasks();
    expect(outcome.status).toBe('pending');
    expect(events.of('agent.requeued')).toEqual([
      { agentId: 'early', sessionId: agent.sessionId, provider: 'claude', reason: 'rate-limit', notBefore: T0 + 2_000 },
    ]);
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
    expect(orch.stats().queued).toBe(1);
    clock.advance(1_999);
    await flushMicrotasks();
    expect(outcome.status).toBe('pending');
    clock.advance(1);
    await flushMicrotasks();
    expect(outcome).toMatchObject({
      status: 'resolved',
      value: { action: 'requeued', kind: 'rate-limit', provider: 'claude', waitedMs: 2_000 },
    });
    expect(agent.provider).toBe('claude');
    expect(agent.env.ANTHROPIC_API_KEY).toBeDefined();
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
    expect(events.of('agent.fallback')).toEqual([]);
    expect(orch.stats().activity).toMatchObject({ requeued: 1, fallbacks: 0, released: {} });
    agent.reportUsage({ inputTokens: 10, outputTokens: 5 });
    expect(await agent.release()).toMatchObject({
      usedTokens: 15,
      provider: 'claude',
      fallbacks: [],
      reason: 'released',
    });
    await orch.stop();
  });

  it('should go back in line ahead of new spawns waiting for the same provider', async () => {
    const { orch, clock } = await startHarness({ fallbackChain: ['claude'], limits: { claude: { maxConcurrent: 1 } } });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'throttled' });
    const outcome = track(agent.reportFailure(THROTTLED(1)));
    await flushMicrotasks();
    // Before the Retry-After is over, a newcomer takes the free slot.
    const newcomer = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'newcomer', waitMs: MINUTE });
    const later = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'later', waitMs: MINUTE }));
    clock.advance(1_000);
    await newcomer.release();
    await flushMicrotasks();
    expect(outcome.status).toBe('resolved');
    expect(later.status).toBe('pending');
    await orch.stop();
  });

  it('should fall back as usual when the session already did work on the provider', async () => {
    const { orch, events } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    agent.reportUsage({ inputTokens: 100, outputTokens: 0 });
    expect(await agent.reportFailure(THROTTLED(1))).toMatchObject({ action: 'fallback', to: 'openai' });
    expect(events.of('agent.requeued')).toEqual([]);
    await orch.stop();
  });

  it('should fall back at once instead of waiting in the queue for a Retry-After beyond maxRetryAfterMs', async () => {
    const { orch, events } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    // An hour (or a date years ahead, capped to 7 days) would keep reportFailure pending that long.
    expect(await agent.reportFailure(THROTTLED(3_600))).toMatchObject({ action: 'fallback', to: 'openai' });
    expect(events.of('agent.requeued')).toEqual([]);
    await orch.stop();
  });

  it('should requeue at most maxRequeues times, then follow the failure policy', async () => {
    const { orch, clock } = await startHarness({ requeueThrottled: { maxRequeues: 1 } });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const first = agent.reportFailure(THROTTLED(1));
    clock.advance(1_000);
    expect(await first).toMatchObject({ action: 'requeued' });
    expect(await agent.reportFailure(THROTTLED(1))).toMatchObject({ action: 'fallback', to: 'openai' });
    await orch.stop();
  });

  it('should treat throttling like any failure with requeueThrottled: false', async () => {
    const { orch } = await startHarness({ requeueThrottled: false });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(await agent.reportFailure(THROTTLED(1))).toMatchObject({ action: 'fallback', to: 'openai' });
    await orch.stop();
  });

  it('should end a requeued session with no-provider when it cannot come back within its lease, leaving nothing reserved', async () => {
    const { orch, clock } = await startHarness({
      fallbackChain: ['claude'],
      limits: { claude: { maxConcurrent: 1 } },
      leaseMs: 10 * MINUTE,
    });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const outcome = agent.reportFailure(THROTTLED(1));
    const blocker = await orch.spawnAgent({ estimatedTokens: 1_000 });
    clock.advance(10 * MINUTE);
    await agentvisorErrorOf(() => outcome, 'no-provider');
    expect(agent.isLive).toBe(false);
    expect(orch.stats().queued).toBe(0);
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
    await blocker.release();
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
    await orch.stop();
  });

  it('should drop the requeue when the host releases the agent while it waits', async () => {
    const { orch, clock } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const outcome = agent.reportFailure(THROTTLED(5));
    const refused = agentvisorErrorOf(() => outcome, 'agent-released');
    // One timer for all of time (the clock actor's), here on the requeue's Retry-After.
    expect(clock.pending()).toBe(1);
    expect(await agent.release()).toMatchObject({ usedTokens: 0, returnedTokens: 1_000 });
    // The requeue's times went with its queue entry: the one timer moved on, none was left behind.
    expect(clock.pending()).toBe(1);
    await refused;
    expect(orch.stats().queued).toBe(0);
    clock.advance(5_000);
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
    await orch.stop();
  });
});
