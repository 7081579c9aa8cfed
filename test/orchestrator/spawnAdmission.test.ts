import { MAX_TOKENS } from '../../src';
import type { ManagedAgent, Orchestrator } from '../../src';
import { HOUR, T0, agentvisorErrorOf, budgetsOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, CLOSED_CIRCUIT, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator.spawnAgent', () => {
  it('should admit on the first provider of the chain with allocation min(estimate, floor(available / 2))', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 100_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 80_000, agentId: 'a', task: 'refactor the parser' });
    expect(a.provider).toBe('claude');
    expect(a.allocatedTokens).toBe(50_000);
    expect(a.id).toBe('a');
    expect(a.task).toBe('refactor the parser');
    expect(a.isLive).toBe(true);
    const b = await orch.spawnAgent({ estimatedTokens: 30_000, agentId: 'b' });
    expect(b.allocatedTokens).toBe(25_000);
    expect(orch.stats().providers.claude).toEqual({
      dailyLimit: 100_000,
      used: 0,
      reserved: 75_000,
      available: 25_000,
      active: 2,
      maxConcurrent: 10,
      effectiveLimit: 10,
      pausedUntil: null,
      overrun: 0,
      circuit: CLOSED_CIRCUIT,
      enabled: true,
      disabledBy: null,
      rolloutPercent: 100,
    });
    expect(events.of('agent.active')).toEqual([
      { agentId: 'a', sessionId: a.sessionId, provider: 'claude', allocatedTokens: 50_000 },
      { agentId: 'b', sessionId: b.sessionId, provider: 'claude', allocatedTokens: 25_000 },
    ]);
    expect(orch.agents().map((x) => x.id)).toEqual(['a', 'b']);
    expect(orch.getAgent('b')).toBe(b);
  });

  it('should give the whole estimate when it is at most half of what is available', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 500_000 });
    expect(a.allocatedTokens).toBe(500_000);
    const b = await orch.spawnAgent({ estimatedTokens: 300_000 });
    expect(b.allocatedTokens).toBe(250_000);
  });

  it('should refuse quota-exhausted when the estimate exceeds what is available, with retryAfterMs to the next reset', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 100_000 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 80_000 });
    await orch.spawnAgent({ estimatedTokens: 30_000 });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 30_000, agentId: 'late' }),
      'quota-exhausted',
    );
    expect(error.retryAfterMs).toBe(14 * HOUR);
    expect(error.retryAfterMs).toBe(Date.parse('2026-03-11T00:00:00Z') - T0);
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(events.of('agent.refused')).toEqual([
      { agentId: 'late', code: 'quota-exhausted', retryAfterMs: 14 * HOUR, waited: false },
    ]);
  });

  it('should use the preferred provider first and the chain after it', async () => {
    const { orch } = await start({ limits: { openai: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    expect(a.provider).toBe('openai');
    const b = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    expect(b.provider).toBe('claude');
  });

  it('should place a session on the next provider when the first is at its concurrency limit', async () => {
    const { orch } = await start({ limits: { claude: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const b = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect([a.provider, b.provider]).toEqual(['claude', 'openai']);
    expect(orch.stats().providers.openai).toMatchObject({ active: 1, reserved: 1_000 });
  });

  it('should reject a duplicate live agentId with duplicate-agent and leave state unchanged', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' }),
      'duplicate-agent',
    );
    expect(error.details).toEqual({ agentId: 'dup' });
    expect(budgetsOf(orch.stats())).toEqual(before);
    await a.release();
    const again = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' });
    expect(again.id).toBe('dup');
  });

  it('should reject the agentId of a waiting spawn with duplicate-agent', async () => {
    const { orch } = await start({ limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 10_000 }));
    await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 10_000 }),
      'duplicate-agent',
    );
    expect(orch.stats().queued).toBe(1);
    expect(waiting.settled()).toBe(false);
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['fractional', 2.5],
    ['infinite', Number.POSITIVE_INFINITY],
    ['absurdly large (> MAX_TOKENS)', MAX_TOKENS + 1],
    ['a string', '100'],
  ])('should reject a %s estimate with invalid-estimate and change nothing', async (_name, estimatedTokens) => {
    const { orch, events } = await start();
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    const eventsBefore = events.all.length;
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: estimatedTokens as number }), 'invalid-estimate');
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(events.all.length).toBe(eventsBefore);
  });

  it('should accept an estimate of exactly MAX_TOKENS as valid input (and refuse it for quota)', async () => {
    const { orch } = await start();
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: MAX_TOKENS }), 'quota-exhausted');
  });

  it.each([
    ['an unknown preferredProvider', { estimatedTokens: 10, preferredProvider: 'gemini' }],
    ['a negative waitMs', { estimatedTokens: 10, waitMs: -1 }],
    ['a fractional waitMs', { estimatedTokens: 10, waitMs: 1.5 }],
    ['a fractional priority', { estimatedTokens: 10, priority: 0.5 }],
    ['an agentId with spaces', { estimatedTokens: 10, agentId: 'has space' }],
    ['an empty agentId', { estimatedTokens: 10, agentId: '' }],
    ['a non-string task', { estimatedTokens: 10, task: 42 }],
  ])('should reject %s with invalid-option and change nothing', async (_name, options) => {
    const { orch } = await start();
    const before = budgetsOf(orch.stats());
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(
      () => orch.spawnAgent(options as unknown as Parameters<Orchestrator['spawnAgent']>[0]),
      'invalid-option',
    );
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should report invalid spawn options as a rejected promise, not a synchronous throw', async () => {
    const { orch } = await start();
    let thrown: unknown = null;
    let returned: Promise<ManagedAgent> | null = null;
    try {
      returned = orch.spawnAgent({ estimatedTokens: -1 });
    } catch (error) {
      thrown = error;
    }
    // A host writing orch.spawnAgent(opts).catch(handle) must not crash on bad input.
    expect(thrown).toBeNull();
    expect(returned).not.toBeNull();
    await expect(returned).rejects.toMatchObject({ code: 'invalid-estimate' });
  });
});
