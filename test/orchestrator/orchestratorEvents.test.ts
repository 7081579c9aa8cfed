import { HOUR, agentvisorErrorOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator events', () => {
  it('should announce quota.low once when available falls below the watermark after usage', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 400 });
    a.reportUsage({ inputTokens: 400, outputTokens: 0 });
    expect(events.of('quota.low')).toEqual([]);
    expect(a.reportUsage({ inputTokens: 500, outputTokens: 0 })).toEqual({
      usedTokens: 900,
      allocatedTokens: 950,
      remainingTokens: 50,
    });
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 50, dailyLimit: 1_000 }]);
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    expect(events.of('quota.low')).toHaveLength(1);
  });

  it('should announce quota.low when reservations alone take available below the watermark', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    for (const estimate of [450, 275, 137]) await orch.spawnAgent({ estimatedTokens: estimate });
    await orch.spawnAgent({ estimatedTokens: 69 });
    // 1000 - 450 - 275 - 137 - 69 = 69 available, below 10 % of 1000.
    expect(orch.stats().providers.claude.available).toBe(69);
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 69, dailyLimit: 1_000 }]);
  });

  it.each([null, undefined, 'draw', { handleEvent: () => undefined }])(
    'should refuse %p as a listener with invalid-option at once, and keep running',
    async (listener) => {
      const { orch } = await start({});
      const given = listener as unknown as () => void;
      for (const subscribe of [
        () => orch.subscribeStats(given),
        () => orch.on('agent.active', given),
        () => orch.once('agent.released', given),
        () => orch.off('agent.active', given),
      ]) {
        const error = await agentvisorErrorOf(subscribe, 'invalid-option');
        expect(error.message).toMatch(/listener must be a function/);
      }
      // A refused listener was not kept: the next change of the stats calls nothing that could throw.
      const agent = await orch.spawnAgent({ estimatedTokens: 100 });
      await agent.release();
    },
  );

  it('should refuse an event name it never emits with invalid-option and a did-you-mean hint', async () => {
    const { orch } = await start({});
    const listener = (): void => undefined;
    for (const subscribe of [
      () => orch.on('agent.activ' as never, listener),
      () => orch.once('agent.activ' as never, listener),
      () => orch.off('agent.activ' as never, listener),
    ]) {
      const error = await agentvisorErrorOf(subscribe, 'invalid-option');
      expect(error.message).toMatch(/"agent\.activ" is not an event; did you mean agent\.active\?/);
    }
    expect(() => orch.on('provider.circuit', listener).off('provider.circuit', listener)).not.toThrow();
  });

  it('should emit the lifecycle events in order', async () => {
    const { orch, clock, events } = await start(
      { limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 }, openai: { dailyLimit: 1_000 } } },
      Date.parse('2026-03-10T23:00:00Z'),
    );
    const a = await orch.spawnAgent({ estimatedTokens: 400, agentId: 'a' });
    // b goes to openai at once: claude is at its concurrency limit, openai has room.
    const bAgent = await orch.spawnAgent({
      estimatedTokens: 400,
      agentId: 'b',
      waitMs: 60_000,
      preferredProvider: 'claude',
    });
    expect(bAgent.provider).toBe('openai');
    // claude is full (concurrency) and openai lacks budget (quota): concurrency is the reason given.
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c' }), 'concurrency-limit');
    await a.reportFailure({ status: 529 });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 2_000, outputTokens: 0 }), 'quota-exhausted');
    clock.advance(HOUR);
    await bAgent.release();
    expect(events.names()).toEqual([
      'agent.active', // a on claude
      'agent.active', // b on openai
      'agent.refused', // c
      'agent.fallback', // a claude → openai
      'agent.active', // a on openai
      'quota.overrun',
      'quota.low',
      'agent.released', // a, quota-exhausted
      'quota.reset',
      'agent.released', // b
    ]);
    expect(events.of('agent.fallback')[0]).toMatchObject({
      agentId: 'a',
      from: 'claude',
      to: 'openai',
      reason: 'overloaded',
    });
    // a got min(400, floor(600 / 2)) = 300 on openai; 2000 used leaves 1000 - 2000 - 400 (b) = -1400.
    expect(events.of('quota.overrun')).toEqual([
      { provider: 'openai', agentId: 'a', sessionId: a.sessionId, overrunTokens: 1_400 },
    ]);
  });

  it('should emit agent.queued with the reason and position', async () => {
    const { orch, events } = await start({ limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 100 });
    void orch.spawnAgent({ estimatedTokens: 100, agentId: 'q', waitMs: 1_000 }).catch(() => undefined);
    expect(events.of('agent.queued')).toEqual([{ agentId: 'q', position: 0, code: 'concurrency-limit' }]);
  });

  it('should stop calling a listener removed with off and call a once listener once', async () => {
    const { orch } = await start();
    const seen: string[] = [];
    const listener = (e: { agentId: string }) => seen.push(`on:${e.agentId}`);
    orch.on('agent.active', listener);
    orch.once('agent.active', (e) => seen.push(`once:${e.agentId}`));
    await orch.spawnAgent({ estimatedTokens: 100, agentId: 'x' });
    orch.off('agent.active', listener);
    await orch.spawnAgent({ estimatedTokens: 100, agentId: 'y' });
    expect(seen).toEqual(['on:x', 'once:x']);
  });
});
