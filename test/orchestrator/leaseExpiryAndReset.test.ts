import { HOUR, MINUTE, agentvisorErrorOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator expiry and daily reset', () => {
  it('should expire an idle allocation after the default 2 h lease on the hourly sweep', async () => {
    const { orch, clock, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'idle' });
    clock.advance(HOUR);
    expect(a.isLive).toBe(true);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 10_000, active: 1 });
    clock.advance(HOUR - 1);
    expect(a.isLive).toBe(true);
    clock.advance(1);
    expect(a.isLive).toBe(false);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 0, active: 0 });
    expect(events.of('agent.released')).toEqual([
      {
        agentId: 'idle',
        sessionId: a.sessionId,
        provider: 'claude',
        usedTokens: 0,
        returnedTokens: 10_000,
        reason: 'expired',
        error: { code: 'allocation-expired', message: expect.any(String) as unknown as string },
      },
    ]);
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1, outputTokens: 0 }), 'agent-released');
    expect(await a.release()).toMatchObject({ reason: 'expired', returnedTokens: 10_000 });
    await agentvisorErrorOf(() => orch.getAgent('idle'), 'unknown-agent');
  });

  it('should honour a custom leaseMs and sweepIntervalMs', async () => {
    const { orch, clock } = await start({ leaseMs: 10 * MINUTE, sweepIntervalMs: MINUTE });
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(9 * MINUTE);
    expect(a.isLive).toBe(true);
    clock.advance(MINUTE);
    expect(a.isLive).toBe(false);
  });

  it('should expire only on a sweep, not at the instant the lease ends', async () => {
    const { orch, clock } = await start({ leaseMs: 90 * MINUTE });
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(119 * MINUTE);
    expect(a.isLive).toBe(true);
    clock.advance(MINUTE);
    expect(a.isLive).toBe(false);
  });

  it('should start the lease of a waiter admitted by a fallback at its admission, not at an earlier time', async () => {
    const { orch, clock } = await start({ limits: { claude: { maxConcurrent: 1 }, openai: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', preferredProvider: 'openai' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 3 * HOUR }));
    clock.advance(50 * MINUTE);
    // a fails; openai is full, so a ends and its claude slot goes to the waiting c at T0 + 50 min.
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    const c = await waiting.promise;
    clock.advance(70 * MINUTE); // T0 + 2 h: c has been idle for 70 min, well inside its 2 h lease
    expect(c.isLive).toBe(true);
    clock.advance(2 * HOUR); // T0 + 4 h: the sweep after T0 + 2 h 50 min expires it
    expect(c.isLive).toBe(false);
  });

  it('should give the allocation on the fallback provider a lease of its own from the failure', async () => {
    const { orch, clock } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    clock.advance(90 * MINUTE);
    await a.reportFailure({ status: 529 });
    clock.advance(90 * MINUTE); // T0 + 3 h: the lease runs until T0 + 3.5 h
    expect(a.isLive).toBe(true);
    clock.advance(HOUR);
    expect(a.isLive).toBe(false);
  });

  it('should reset used to 0 at 00:00 UTC by default and emit quota.reset', async () => {
    const { orch, clock, events } = await start({}, Date.parse('2026-03-10T23:00:00Z'));
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 4_000, outputTokens: 0 });
    clock.advance(HOUR - 1);
    expect(events.of('quota.reset')).toEqual([]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }]);
    expect(orch.stats()).toMatchObject({ day: '2026-03-11', nextResetAt: Date.parse('2026-03-12T00:00:00Z') });
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 6_000, active: 1 });
    expect(a.isLive).toBe(true);
    a.reportUsage({ inputTokens: 1_000, outputTokens: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 5_000 });
  });

  it('should reset at a configured time of day', async () => {
    const { orch, clock, events } = await start({ dailyReset: { at: '06:30', timeZone: 'UTC' } });
    expect(orch.stats()).toMatchObject({ day: '2026-03-10', nextResetAt: Date.parse('2026-03-11T06:30:00Z') });
    clock.set(Date.parse('2026-03-11T06:29:59.999Z'));
    expect(events.of('quota.reset')).toEqual([]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }]);
  });

  it('should reset at local midnight across a DST change (America/New_York: a 23 h and a 25 h day)', async () => {
    const { orch, clock, events } = await start(
      { dailyReset: { at: '00:00', timeZone: 'America/New_York' } },
      Date.parse('2026-03-07T12:00:00Z'),
    );
    expect(orch.stats()).toMatchObject({ day: '2026-03-07', nextResetAt: Date.parse('2026-03-08T05:00:00Z') });
    clock.set(Date.parse('2026-03-08T05:00:00Z'));
    expect(orch.stats()).toMatchObject({ day: '2026-03-08', nextResetAt: Date.parse('2026-03-09T04:00:00Z') });
    clock.set(Date.parse('2026-03-09T04:00:00Z') - 1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-08' }]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-08' }, { day: '2026-03-09' }]);
    clock.set(Date.parse('2026-11-01T04:00:00Z'));
    expect(orch.stats()).toMatchObject({ day: '2026-11-01', nextResetAt: Date.parse('2026-11-02T05:00:00Z') });
  });

  it('should reset once per day when the clock moves over several days', async () => {
    const { orch, clock, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, waitMs: 0 });
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    clock.set(Date.parse('2026-03-13T10:00:00Z'));
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }, { day: '2026-03-12' }, { day: '2026-03-13' }]);
    expect(orch.stats()).toMatchObject({ day: '2026-03-13', nextResetAt: Date.parse('2026-03-14T00:00:00Z') });
    expect(orch.stats().providers.claude.used).toBe(0);
  });

  it('should clear an overrun and announce quota.low again after the reset', async () => {
    const { orch, clock, events } = await start(
      { limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] },
      Date.parse('2026-03-10T23:00:00Z'),
    );
    const a = await orch.spawnAgent({ estimatedTokens: 400 });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1_500, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_500, overrun: 500 });
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 0, dailyLimit: 1_000 }]);
    clock.advance(HOUR);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, overrun: 0, reserved: 0, available: 1_000 });
    const b = await orch.spawnAgent({ estimatedTokens: 400 });
    b.reportUsage({ inputTokens: 950, outputTokens: 0 });
    expect(events.of('quota.low')).toHaveLength(2);
  });
});
