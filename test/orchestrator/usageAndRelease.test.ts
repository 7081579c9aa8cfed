import { MAX_TOKENS } from '../../src';
import type { ManagedAgent } from '../../src';
import { HOUR, MINUTE, agentvisorErrorOf, budgetsOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, CLOSED_CIRCUIT } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('ManagedAgent.reportUsage', () => {
  it('should move usage from reserved to used and return an exact receipt', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 2_500, outputTokens: 500 })).toEqual({
      usedTokens: 3_000,
      allocatedTokens: 10_000,
      remainingTokens: 7_000,
    });
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 7_000, available: 990_000 });
    expect(a.usedTokens).toBe(3_000);
  });

  it('should top up an allocation that usage went beyond: the overage plus min(estimate, floor(free / 2))', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 9_000, outputTokens: 3_000 })).toEqual({
      usedTokens: 12_000,
      allocatedTokens: 22_000,
      remainingTokens: 10_000,
    });
    expect(orch.stats().providers.claude).toMatchObject({ used: 12_000, reserved: 10_000, overrun: 0 });
  });

  it('should record usage the budget cannot cover, emit quota.overrun, end the session and throw quota-exhausted', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 250, agentId: 'b' });
    expect([a.allocatedTokens, b.allocatedTokens]).toEqual([500, 250]);
    const error = await agentvisorErrorOf(
      () => a.reportUsage({ inputTokens: 800, outputTokens: 200 }),
      'quota-exhausted',
    );
    expect(error.details).toEqual({ agentId: 'a', provider: 'claude' });
    expect(a.isLive).toBe(false);
    expect(orch.stats().providers.claude).toEqual({
      dailyLimit: 1_000,
      used: 1_000,
      reserved: 250,
      available: 0,
      active: 1,
      maxConcurrent: 10,
      effectiveLimit: 10,
      pausedUntil: null,
      overrun: 250,
      circuit: CLOSED_CIRCUIT,
      enabled: true,
      disabledBy: null,
      rolloutPercent: 100,
    });
    expect(events.of('quota.overrun')).toEqual([
      { provider: 'claude', agentId: 'a', sessionId: a.sessionId, overrunTokens: 250 },
    ]);
    expect(events.of('agent.released')).toMatchObject([
      {
        agentId: 'a',
        reason: 'quota-exhausted',
        usedTokens: 1_000,
        returnedTokens: 0,
        error: { code: 'quota-exhausted' },
      },
    ]);
    expect(await a.release()).toMatchObject({ usedTokens: 1_000, returnedTokens: 0, reason: 'quota-exhausted' });
    expect(await b.release()).toMatchObject({ usedTokens: 0, returnedTokens: 250 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 0, active: 0, overrun: 250 });
  });

  it('should count as new overrun only the overage of the report, not an earlier overrun again', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 250, agentId: 'b' });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1_000, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 250, overrun: 250 });
    // b uses its 250 and 50 more: only those 50 are new overrun.
    await agentvisorErrorOf(() => b.reportUsage({ inputTokens: 300, outputTokens: 0 }), 'quota-exhausted');
    expect(events.of('quota.overrun').map((e) => [e.agentId, e.overrunTokens])).toEqual([
      ['a', 250],
      ['b', 50],
    ]);
    expect(orch.stats().providers.claude).toMatchObject({
      dailyLimit: 1_000,
      used: 1_300,
      reserved: 0,
      available: 0,
      active: 0,
      maxConcurrent: 10,
      overrun: 300,
    });
  });

  it('should renew the lease on usage', async () => {
    const { orch, clock } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(90 * MINUTE);
    a.reportUsage({ inputTokens: 100, outputTokens: 0 });
    clock.advance(90 * MINUTE); // T0 + 3 h: sweeps at 1 h, 2 h and 3 h found the lease (until T0 + 3.5 h) running
    expect(a.isLive).toBe(true);
    clock.advance(HOUR); // T0 + 4 h
    expect(a.isLive).toBe(false);
    expect(await a.release()).toEqual({
      usedTokens: 100,
      returnedTokens: 9_900,
      provider: 'claude',
      fallbacks: [],
      reason: 'expired',
    });
  });

  it.each([
    ['negative input', { inputTokens: -1, outputTokens: 0 }],
    ['negative output', { inputTokens: 0, outputTokens: -7 }],
    ['NaN', { inputTokens: Number.NaN, outputTokens: 0 }],
    ['fractional', { inputTokens: 1.5, outputTokens: 0 }],
    ['infinite', { inputTokens: 0, outputTokens: Number.POSITIVE_INFINITY }],
    ['absurdly large (> MAX_TOKENS)', { inputTokens: MAX_TOKENS + 1, outputTokens: 0 }],
    ['a sum beyond MAX_TOKENS', { inputTokens: 600_000_000, outputTokens: 600_000_000 }],
    ['a string', { inputTokens: '5', outputTokens: 0 }],
    ['missing fields', {}],
  ])('should reject %s usage with invalid-usage and change nothing', async (_name, report) => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    const before = budgetsOf(orch.stats());
    const eventsBefore = events.all.length;
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(
      () => a.reportUsage(report as unknown as Parameters<ManagedAgent['reportUsage']>[0]),
      'invalid-usage',
    );
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(a.usedTokens).toBe(10);
    expect(events.all.length).toBe(eventsBefore);
  });

  it('should accept zero usage', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 0, outputTokens: 0 })).toEqual({
      usedTokens: 0,
      allocatedTokens: 10_000,
      remainingTokens: 10_000,
    });
  });
});

describe('ManagedAgent.release', () => {
  it('should settle usage, return the rest and emit agent.released', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'rel' });
    a.reportUsage({ inputTokens: 1_234, outputTokens: 0 });
    expect(await a.release()).toEqual({
      usedTokens: 1_234,
      returnedTokens: 8_766,
      provider: 'claude',
      fallbacks: [],
      reason: 'released',
    });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_234, reserved: 0, active: 0, available: 998_766 });
    expect(events.of('agent.released')).toEqual([
      {
        agentId: 'rel',
        sessionId: a.sessionId,
        provider: 'claude',
        usedTokens: 1_234,
        returnedTokens: 8_766,
        reason: 'released',
        error: null,
      },
    ]);
    expect(a.isLive).toBe(false);
    expect(orch.agents()).toEqual([]);
  });

  it('should throw already-released on a second release and change nothing', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    await a.release();
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(() => a.release(), 'already-released');
    expect(error.details).toEqual({ agentId: a.id });
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should throw agent-released for usage or a failure after release and change nothing', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    await a.release();
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 5, outputTokens: 5 }), 'agent-released');
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'agent-released');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should throw unknown-agent for an id that is not live', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'gone' });
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => orch.getAgent('nobody'), 'unknown-agent');
    await a.release();
    const error = await agentvisorErrorOf(() => orch.getAgent('gone'), 'unknown-agent');
    expect(error.details).toEqual({ agentId: 'gone' });
    expect(budgetsOf(orch.stats()).claude.active).toBe(before.claude.active - 1);
  });
});
