import type { OrchestratorOptions } from '../../src';
import { HOUR, MINUTE, agentvisorErrorOf, budgetsOf, flushMicrotasks } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator waiting admission', () => {
  const oneSlot: OrchestratorOptions = { limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] };

  it('should refuse at once with concurrency-limit and retryAfterMs when waitMs is 0', async () => {
    const { orch, events } = await start({ ...oneSlot, retryHintMs: 2_500 });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' }),
      'concurrency-limit',
    );
    expect(error.retryAfterMs).toBe(2_500);
    expect(error.details).toEqual({ agentId: 'b' });
    expect(events.of('agent.refused')).toEqual([
      { agentId: 'b', code: 'concurrency-limit', retryAfterMs: 2_500, waited: false },
    ]);
    expect(events.of('agent.queued')).toEqual([]);
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should queue waiting spawns FIFO and admit each when a slot frees', async () => {
    const { orch, events } = await start(oneSlot);
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const b = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', waitMs: 60_000 }));
    const c = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 60_000 }));
    expect(events.of('agent.queued')).toEqual([
      { agentId: 'b', position: 0, code: 'concurrency-limit' },
      { agentId: 'c', position: 1, code: 'concurrency-limit' },
    ]);
    expect(orch.stats().queued).toBe(2);
    await flushMicrotasks();
    expect([b.settled(), c.settled()]).toEqual([false, false]);
    await a.release();
    const bAgent = await b.promise;
    expect(bAgent.id).toBe('b');
    expect(c.settled()).toBe(false);
    expect(orch.stats()).toMatchObject({ queued: 1, providers: { claude: { active: 1, reserved: 1_000 } } });
    await bAgent.release();
    expect((await c.promise).id).toBe('c');
    expect(orch.stats().queued).toBe(0);
  });

  it('should admit higher priorities first and keep arrival order within a priority', async () => {
    const { orch, events } = await start(oneSlot);
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const order: string[] = [];
    const spawn = (agentId: string, priority: number) =>
      orch.spawnAgent({ estimatedTokens: 1_000, agentId, waitMs: 60_000, priority }).then(async (agent) => {
        order.push(agent.id);
        await agent.release();
      });
    const all = [spawn('low-1', 0), spawn('low-2', 0), spawn('high', 5), spawn('mid', 2)];
    expect(events.of('agent.queued').map((e) => [e.agentId, e.position])).toEqual([
      ['low-1', 0],
      ['low-2', 1],
      ['high', 0],
      ['mid', 1],
    ]);
    await a.release();
    await Promise.all(all);
    expect(order).toEqual(['high', 'mid', 'low-1', 'low-2']);
  });

  it('should refuse with queue-full when the queue is at maxQueue', async () => {
    const { orch, events } = await start({ ...oneSlot, maxQueue: 1 });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 60_000 }));
    const error = await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x', waitMs: 60_000 }),
      'queue-full',
    );
    expect(error.retryAfterMs).toBe(1_000);
    expect(events.of('agent.refused')).toEqual([
      { agentId: 'x', code: 'queue-full', retryAfterMs: 1_000, waited: false },
    ]);
    expect(orch.stats().queued).toBe(1);
    expect(waiting.settled()).toBe(false);
  });

  it('should time out a waiting spawn with concurrency-limit and retryAfterMs after waitMs', async () => {
    const { orch, clock, events } = await start(oneSlot);
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 30_000 }));
    clock.advance(29_999);
    await flushMicrotasks();
    expect(waiting.settled()).toBe(false);
    clock.advance(1);
    const error = await agentvisorErrorOf(() => waiting.promise, 'concurrency-limit');
    expect(error.retryAfterMs).toBe(1_000);
    expect(events.of('agent.refused')).toEqual([
      { agentId: 'w', code: 'concurrency-limit', retryAfterMs: 1_000, waited: true },
    ]);
    expect(orch.stats().queued).toBe(0);
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
  });

  it('should time out a spawn waiting for budget with quota-exhausted and retryAfterMs to the next reset', async () => {
    const { orch, clock, events } = await start({
      limits: { claude: { dailyLimit: 1_000 } },
      fallbackChain: ['claude'],
    });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 600, agentId: 'w', waitMs: 60_000 }));
    expect(events.of('agent.queued')).toEqual([{ agentId: 'w', position: 0, code: 'quota-exhausted' }]);
    clock.advance(60_000);
    const error = await agentvisorErrorOf(() => waiting.promise, 'quota-exhausted');
    expect(error.retryAfterMs).toBe(14 * HOUR - 60_000);
    expect(error.retryAfterMs).toBe(orch.stats().nextResetAt - clock.now());
  });

  it('should admit a spawn waiting for budget at the daily reset', async () => {
    const { orch, clock } = await start(
      { limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] },
      Date.parse('2026-03-10T23:50:00Z'),
    );
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    a.reportUsage({ inputTokens: 500, outputTokens: 0 });
    await a.release();
    const waiting = track(orch.spawnAgent({ estimatedTokens: 600, agentId: 'w', waitMs: 20 * MINUTE }));
    clock.advance(10 * MINUTE - 1);
    await flushMicrotasks();
    expect(waiting.settled()).toBe(false);
    clock.advance(1);
    const w = await waiting.promise;
    expect(w.allocatedTokens).toBe(500);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 500, active: 1 });
  });

  it('should admit a waiting spawn when an idle agent expires', async () => {
    const { orch, clock } = await start(oneSlot);
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'idle' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 3 * HOUR }));
    clock.advance(2 * HOUR);
    const w = await waiting.promise;
    expect(w.id).toBe('w');
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
  });
});
