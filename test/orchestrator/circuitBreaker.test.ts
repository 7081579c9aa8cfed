/**
 * Provider circuit breakers through the public API: failures reported by agents open a provider's
 * circuit, admission goes down the chain, every circuit open refuses with no-provider and a retry
 * time, and after the cooldown a probe's success closes the circuit again.
 */
import { createOrchestrator } from '../../src';
import type { Orchestrator } from '../../src';
import { MINUTE, agentvisorErrorOf, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

/** Spawns on `provider` and reports one failure with `status` (falls back or ends). */
async function failOnce(orch: Orchestrator, provider: 'claude' | 'openai', status: number): Promise<void> {
  const agent = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: provider });
  expect(agent.provider).toBe(provider);
  await agent.reportFailure({ status }).catch(() => undefined);
  await agent.release().catch(() => undefined);
}

describe('provider circuit breaker', () => {
  it('should open after more than allowedFailures failures in the window, skip the provider and say until when', async () => {
    const { orch, clock, events } = await startHarness({
      circuit: { allowedFailures: 2, minRequests: 3, cooldownMs: 30_000 },
    });
    for (let i = 0; i < 2; i += 1) await failOnce(orch, 'claude', 529);
    expect(orch.stats().providers.claude.circuit).toEqual({
      state: 'closed',
      openUntil: null,
      failures: 2,
      requests: 2,
      openings: 0,
    });
    await failOnce(orch, 'claude', 503);
    const openUntil = clock.now() + 30_000;
    expect(events.of('provider.circuit')).toEqual([{ provider: 'claude', state: 'open', openUntil, failures: 3 }]);
    expect(orch.stats().providers.claude.circuit).toEqual({
      state: 'open',
      openUntil,
      failures: 0,
      requests: 0,
      openings: 1,
    });
    // A session that would start on Claude starts on OpenAI, without a fallback.
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(agent.provider).toBe('openai');
    expect(orch.stats().providers.claude.active).toBe(0);
    await orch.stop();
  });

  it('should not count auth failures, quota or bad requests against the provider', async () => {
    const { orch } = await startHarness({ circuit: { allowedFailures: 0, minRequests: 1 } });
    await failOnce(orch, 'claude', 401);
    await failOnce(orch, 'claude', 403);
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agentvisorErrorOf(() => agent.reportFailure({ status: 400 }), 'invalid-request');
    expect(orch.stats().providers.claude.circuit).toMatchObject({ state: 'closed', failures: 0 });
    await orch.stop();
  });

  it('should refuse with no-provider and the time until the first cooldown ends when every circuit is open', async () => {
    const { orch, clock } = await startHarness({ circuit: { allowedFailures: 0, minRequests: 1, cooldownMs: 20_000 } });
    await failOnce(orch, 'claude', 529);
    clock.advance(5_000);
    await failOnce(orch, 'openai', 500);
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'no-provider');
    expect(error.retryAfterMs).toBe(15_000);
    expect(orch.stats().activity.refused).toEqual({ 'no-provider': 1 });
    await orch.stop();
  });

  it('should admit a waiting spawn when the cooldown ends, let halfOpenProbes run, and close on the probe success', async () => {
    const { orch, clock, events } = await startHarness({
      fallbackChain: ['claude'],
      circuit: { allowedFailures: 0, minRequests: 1, cooldownMs: MINUTE, halfOpenProbes: 1 },
    });
    await failOnce(orch, 'claude', 529);
    expect(orch.stats().providers.claude.circuit.state).toBe('open');
    const first = orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'probe', waitMs: 5 * MINUTE });
    const second = orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'second', waitMs: 5 * MINUTE });
    expect(orch.stats().queued).toBe(2);
    clock.advance(MINUTE);
    await flushMicrotasks();
    const probe = await first;
    expect(probe.provider).toBe('claude');
    // Half-open: one probe at a time, so the second keeps waiting.
    expect(orch.stats().queued).toBe(1);
    expect(orch.stats().providers.claude.circuit.state).toBe('halfOpen');
    probe.reportUsage({ inputTokens: 10, outputTokens: 5 });
    const next = await second;
    expect(next.provider).toBe('claude');
    expect(events.of('provider.circuit').map((e) => e.state)).toEqual(['open', 'closed']);
    expect(orch.stats().providers.claude.circuit).toMatchObject({ state: 'closed', openUntil: null, openings: 1 });
    await orch.stop();
  });

  it('should open again for another cooldown when the probe fails', async () => {
    const { orch, clock, events } = await startHarness({
      circuit: { allowedFailures: 0, minRequests: 1, cooldownMs: MINUTE },
    });
    await failOnce(orch, 'claude', 529);
    clock.advance(MINUTE);
    await failOnce(orch, 'claude', 529);
    expect(events.of('provider.circuit')).toEqual([
      expect.objectContaining({ state: 'open' }),
      expect.objectContaining({ state: 'open', openUntil: clock.now() + MINUTE }),
    ]);
    expect(orch.stats().providers.claude.circuit.openings).toBe(2);
    await orch.stop();
  });

  it.each([
    [{ windowMs: 0 }, /circuit\.windowMs must be a whole number from 1/],
    [{ halfOpenProbes: 0 }, /circuit\.halfOpenProbes must be a whole number from 1/],
    [{ allowedFailures: -1 }, /circuit\.allowedFailures must be a whole number from 0/],
    [
      { cooldown: 5 },
      /circuit\.cooldown is not an option; did you mean cooldownMs\? \(known: windowMs, allowedFailures, minRequests, cooldownMs, halfOpenProbes\)/,
    ],
  ])('should refuse circuit %j with invalid-option', async (circuit, message) => {
    const error = await agentvisorErrorOf(
      () => createOrchestrator({ env: {}, circuit: circuit as never }),
      'invalid-option',
    );
    expect(error.message).toMatch(message);
  });
});

describe('whenPreferredBusy', () => {
  it('should admit further down the chain by default when the preferred provider is full', async () => {
    const { orch } = await startHarness({ limits: { claude: { maxConcurrent: 1 } } });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const next = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(next.provider).toBe('openai');
    await orch.stop();
  });

  it("should refuse at once, or wait for the preferred provider only, with 'wait'", async () => {
    const { orch } = await startHarness({ limits: { claude: { maxConcurrent: 1 } }, whenPreferredBusy: 'wait' });
    const first = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'concurrency-limit');
    const waiting = orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'waits', waitMs: MINUTE });
    // A spawn may still choose fallback for itself.
    const elsewhere = await orch.spawnAgent({ estimatedTokens: 1_000, whenPreferredBusy: 'fallback' });
    expect(elsewhere.provider).toBe('openai');
    expect(orch.stats().queued).toBe(1);
    await first.release();
    const admitted = await waiting;
    expect(admitted.provider).toBe('claude');
    // The chain still applies to failures after admission.
    expect(await admitted.reportFailure({ status: 529 })).toMatchObject({ action: 'fallback', to: 'openai' });
    await orch.stop();
  });

  it('should refuse an unknown whenPreferredBusy with invalid-option', async () => {
    await agentvisorErrorOf(
      () => createOrchestrator({ env: {}, whenPreferredBusy: 'queue' as never }),
      'invalid-option',
    );
    const { orch } = await startHarness();
    await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1, whenPreferredBusy: 'later' as never }),
      'invalid-option',
    );
    await orch.stop();
  });
});
