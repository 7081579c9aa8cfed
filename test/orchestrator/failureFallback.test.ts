import type { ManagedAgent } from '../../src';
import { agentvisorErrorOf, budgetsOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('ManagedAgent.reportFailure', () => {
  it('should fall back claude → openai, return the unused allocation and keep the ids and usage', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'f' });
    a.reportUsage({ inputTokens: 2_000, outputTokens: 1_000 });
    const sessionId = a.sessionId;
    await a.reportFailure({ status: 529, message: 'Overloaded' });
    expect(a.provider).toBe('openai');
    expect(a.sessionId).toBe(sessionId);
    expect(a.usedTokens).toBe(3_000);
    expect(a.allocatedTokens).toBe(10_000);
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ used: 0, reserved: 10_000, active: 1 });
    expect(events.of('agent.fallback')).toEqual([
      { agentId: 'f', sessionId, from: 'claude', to: 'openai', reason: 'overloaded', latencyMs: 0 },
    ]);
    expect(events.of('agent.active').map((e) => e.provider)).toEqual(['claude', 'openai']);
    a.reportUsage({ inputTokens: 500, outputTokens: 0 });
    expect(await a.release()).toEqual({
      usedTokens: 3_500,
      returnedTokens: 7_000 + 9_500,
      provider: 'openai',
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
      reason: 'released',
    });
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ used: 500, reserved: 0, active: 0 });
  });

  it.each([
    [429, 'rate-limit'],
    [401, 'auth'],
    [403, 'auth'],
    [500, 'server'],
    [503, 'overloaded'],
    [0, 'network'],
  ])('should classify status %d as %s in the fallback event', async (status, reason) => {
    // A fresh session throttled by the server would be requeued (requeue.test.ts); here every kind falls back.
    const { orch, events } = await start({ requeueThrottled: false });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await a.reportFailure({ status });
    expect(events.of('agent.fallback')).toMatchObject([{ from: 'claude', to: 'openai', reason }]);
  });

  it('should reject a 4xx request error with invalid-request and keep the session', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => a.reportFailure({ status: 400 }), 'invalid-request');
    expect(a.isLive).toBe(true);
    expect(a.provider).toBe('claude');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it.each([
    ['a status of 200', { status: 200 }],
    ['a status above 599', { status: 600 }],
    ['a string status', { status: '500' }],
    ['a negative retryAfterMs', { status: 429, retryAfterMs: -1 }],
    ['a kind with a status above 599', { kind: 'server', status: 9999 }],
    ['a kind with a string status', { kind: 'server', status: '500' }],
    ['a kind with a NaN status', { kind: 'server', status: Number.NaN }],
    ['headers given as a string', { status: 429, headers: 'retry-after: 5' }],
    ['headers given as an array of pairs', { status: 429, headers: [['retry-after', '5']] }],
    ['null headers', { status: 429, headers: null }],
  ])('should reject %s with invalid-failure and change nothing', async (_name, report) => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(
      () => a.reportFailure(report as unknown as Parameters<ManagedAgent['reportFailure']>[0]),
      'invalid-failure',
    );
    expect(a.provider).toBe('claude');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it("should not blame the provider an agent fell back to for a parallel request's failure on the one it left", async () => {
    const { orch, events } = await start({ requeueThrottled: false });
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 100, outputTokens: 0 });
    // Two requests went to Claude together and both failed; the first failure moves the agent to OpenAI.
    const first = a.reportFailure({ status: 500, provider: 'claude' });
    expect(await first).toMatchObject({ action: 'fallback', from: 'claude', to: 'openai' });
    const second = await a.reportFailure({ status: 500, provider: 'claude' });
    expect(second).toEqual({ action: 'fallback', kind: 'server', from: 'claude', to: 'openai', latencyMs: 0 });
    expect(a.provider).toBe('openai');
    expect(events.of('agent.fallback')).toHaveLength(1);
    const { claude, openai } = orch.stats().providers;
    expect(openai.circuit).toMatchObject({ failures: 0 });
    expect(claude.circuit).toMatchObject({ failures: 2 });
    expect(openai).toMatchObject({ reserved: 10_000, active: 1 });
    expect(claude).toMatchObject({ used: 100, reserved: 0, active: 0 });
    // A parallel request the old provider refused as malformed would fail the same way here.
    await agentvisorErrorOf(() => a.reportFailure({ status: 400, provider: 'claude' }), 'invalid-request');
    expect(a.provider).toBe('openai');
    expect(a.isLive).toBe(true);
    await agentvisorErrorOf(
      () => a.reportFailure({ status: 500, provider: 'gemini' as unknown as 'claude' }),
      'invalid-failure',
    );
  });

  it('should end the session with no-provider when no fallback is left', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'n' });
    expect(await a.reportFailure({ status: 500 })).toEqual({
      action: 'fallback',
      kind: 'server',
      from: 'claude',
      to: 'openai',
      latencyMs: 0,
    });
    a.reportUsage({ inputTokens: 100, outputTokens: 0 });
    // Nothing left to fall back to: a server fault may pass, so it is retried twice with backoff, then given up.
    const first = await a.reportFailure({ status: 500 });
    expect(first).toMatchObject({ action: 'retry', kind: 'server', provider: 'openai', attempt: 1 });
    expect(first.action === 'retry' && first.delayMs >= 0 && first.delayMs <= 250).toBe(true);
    const second = await a.reportFailure({ status: 500 });
    expect(second).toMatchObject({ action: 'retry', attempt: 2 });
    expect(second.action === 'retry' && second.delayMs <= 500).toBe(true);
    expect(orch.stats().providers.openai).toMatchObject({ active: 1, reserved: 900 });
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    expect(a.isLive).toBe(false);
    expect(events.of('agent.released')).toMatchObject([
      {
        agentId: 'n',
        provider: 'openai',
        reason: 'failed',
        usedTokens: 100,
        returnedTokens: 1_900,
        error: { code: 'no-provider' },
      },
    ]);
    expect(orch.stats().providers.openai).toMatchObject({ used: 100, reserved: 0, active: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should not fall back when maxFallbacks is 0', async () => {
    const { orch } = await start({ maxFallbacks: 0 });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(await a.reportFailure({ status: 529, headers: { 'retry-after': '3' } })).toMatchObject({
      action: 'retry',
      provider: 'claude',
      kind: 'overloaded',
    });
    await agentvisorErrorOf(() => a.reportFailure({ status: 401 }), 'no-provider');
    expect(orch.stats().providers.openai).toMatchObject({ active: 0, reserved: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
  });

  it('should emit a fallback to null and end with no-provider when the next provider cannot take the session', async () => {
    const { orch, events } = await start({ limits: { openai: { maxConcurrent: 1 } }, requeueThrottled: false });
    await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'r' });
    await agentvisorErrorOf(() => a.reportFailure({ status: 429 }), 'no-provider');
    expect(events.of('agent.fallback')).toEqual([
      { agentId: 'r', sessionId: a.sessionId, from: 'claude', to: null, reason: 'rate-limit', latencyMs: 0 },
    ]);
    expect(await a.release()).toMatchObject({ reason: 'no-provider', returnedTokens: 1_000, provider: 'claude' });
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 1_000, active: 1 });
  });
});
