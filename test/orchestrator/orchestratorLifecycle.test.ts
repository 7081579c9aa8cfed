import { createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import { BOTH_KEYS_ENV, T0, agentvisorErrorOf, flushMicrotasks } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator lifecycle', () => {
  it('should refuse to spawn, expose the actor or give stats before start with not-started', async () => {
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, clock: createManualClock(T0) });
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'not-started');
    await agentvisorErrorOf(() => orch.actor, 'not-started');
    await agentvisorErrorOf(() => orch.stats(), 'not-started');
    await orch.stop();
  });

  it('should refuse to spawn or start again after stop with stopped', async () => {
    const { orch } = await start();
    await orch.stop();
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'stopped');
    await agentvisorErrorOf(() => orch.start(), 'stopped');
  });

  it('should treat a second start as a no-op', async () => {
    const { orch } = await start();
    const actor = orch.actor;
    await orch.start();
    expect(orch.actor).toBe(actor);
  });

  it('should release live agents with reason stopped, refuse waiting spawns and clear every timer on stop', async () => {
    const { orch, clock, events } = await start({
      limits: { claude: { maxConcurrent: 1 } },
      fallbackChain: ['claude'],
    });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    a.reportUsage({ inputTokens: 300, outputTokens: 0 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', waitMs: 60_000 }));
    await orch.stop();
    await flushMicrotasks();
    // Releasing 'a' must not hand its slot to the waiting 'b' while stopping.
    expect(orch.agents().map((x) => x.id)).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ used: 300, reserved: 0, active: 0 });
    expect(orch.stats().queued).toBe(0);
    const error = await agentvisorErrorOf(() => waiting.promise, 'stopped');
    expect(error.message).toContain('b');
    expect(a.isLive).toBe(false);
    expect(events.of('agent.released')).toEqual([
      {
        agentId: 'a',
        sessionId: a.sessionId,
        provider: 'claude',
        usedTokens: 300,
        returnedTokens: 700,
        reason: 'stopped',
        error: null,
      },
    ]);
    expect(await a.release()).toEqual({
      usedTokens: 300,
      returnedTokens: 700,
      provider: 'claude',
      fallbacks: [],
      reason: 'stopped',
    });
    expect(clock.pending()).toBe(0);
  });
});

describe('Orchestrator.actor', () => {
  it('should expose the coordinator actor with the budgets in its context', async () => {
    const { orch } = await start();
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const snapshot = orch.actor.getSnapshot();
    expect(snapshot.status).toBe('active');
    expect(snapshot.context.budgets.claude).toMatchObject({ reserved: 1_000, active: 1 });
    expect(isAgentvisorError(new Error('x'))).toBe(false);
  });
});
