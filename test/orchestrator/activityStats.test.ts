import { agentvisorErrorOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator.stats activity', () => {
  const noProviderActivity = {
    limitChanges: 0,
    lowestLimit: null,
    pauses: 0,
    pauseReason: null,
    fallbacks: {},
    requeued: 0,
    overrunTokens: 0,
  };

  it('should count admissions, queued and refused spawns, fallbacks, releases by reason and overrun tokens', async () => {
    const { orch, clock } = await start({
      limits: { claude: { maxConcurrent: 1 }, openai: { dailyLimit: 2_000, maxConcurrent: 1 } },
      requeueThrottled: false,
    });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' });
    expect([a.provider, b.provider]).toEqual(['claude', 'openai']);
    const c = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 1_000 }));
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'd' }), 'concurrency-limit');
    clock.advance(1_000);
    await agentvisorErrorOf(() => c.promise, 'concurrency-limit');
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    await agentvisorErrorOf(() => b.reportUsage({ inputTokens: 5_000, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().activity).toEqual({
      admitted: 2,
      queued: 1,
      refused: { 'concurrency-limit': 2 },
      fallbacks: 1,
      requeued: 0,
      released: { 'no-provider': 1, 'quota-exhausted': 1 },
      overrunTokens: 3_000,
      resets: 0,
      providers: {
        claude: { ...noProviderActivity, fallbacks: { server: 1 } },
        openai: { ...noProviderActivity, overrunTokens: 3_000 },
      },
    });
  });
});
