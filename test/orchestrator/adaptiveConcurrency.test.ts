/**
 * Adaptive concurrency (AIMD) and usage-limit pauses through the public API: the effective limit
 * starts low, grows with successes, halves once per throttling burst; a usage limit pauses the
 * provider until its reset and it resumes by itself.
 */
import { createOrchestrator } from '../../src';
import type { FailureReport } from '../../src';
import { MINUTE, T0, agentvisorErrorOf, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

/** Anthropic's own words for server-side throttling. */
const THROTTLED: FailureReport = {
  status: 429,
  headers: { 'retry-after': '1' },
  body: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
  },
};

describe('adaptive concurrency', () => {
  it('should start at the initial limit, grow by one after growAfter successes and admit waiting spawns then', async () => {
    const { orch, events } = await startHarness({
      fallbackChain: ['claude'],
      adaptiveConcurrency: { initial: { claude: 2 }, growAfter: 3 },
    });
    expect(orch.stats().providers.claude).toMatchObject({ maxConcurrent: 10, effectiveLimit: 2 });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'concurrency-limit');
    const waiting = orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'third', waitMs: MINUTE });
    a.reportUsage({ inputTokens: 1, outputTokens: 1 });
    a.reportUsage({ inputTokens: 1, outputTokens: 1 });
    expect(orch.stats().queued).toBe(1);
    a.reportUsage({ inputTokens: 1, outputTokens: 1 });
    expect((await waiting).provider).toBe('claude');
    expect(events.of('provider.limit')).toEqual([{ provider: 'claude', limit: 3, previous: 2, reason: 'grow' }]);
    expect(orch.stats().providers.claude).toMatchObject({ effectiveLimit: 3, active: 3 });
    await orch.stop();
  });

  it('should halve on server-side throttling once per burst, to a floor of 1, and never grow past maxConcurrent', async () => {
    const { orch, clock, events } = await startHarness({
      fallbackChain: ['claude'],
      limits: { claude: { maxConcurrent: 9 } },
      adaptiveConcurrency: { initial: { claude: 8 }, growAfter: 1, decreaseIntervalMs: 2_000 },
      // The limit alone: requeueing (on by default) is tested in requeue.test.ts.
      requeueThrottled: false,
    });
    const agents = await Promise.all(Array.from({ length: 4 }, () => orch.spawnAgent({ estimatedTokens: 1_000 })));
    // Four agents throttled together: one halving.
    for (const agent of agents)
      expect(await agent.reportFailure(THROTTLED)).toMatchObject({ action: 'retry', kind: 'rate-limit' });
    expect(orch.stats().providers.claude.effectiveLimit).toBe(4);
    clock.advance(2_000);
    await agents[0]!.reportFailure(THROTTLED);
    clock.advance(2_000);
    await agents[1]!.reportFailure(THROTTLED);
    clock.advance(2_000);
    await agents[2]!.reportFailure(THROTTLED);
    expect(orch.stats().providers.claude.effectiveLimit).toBe(1);
    expect(events.of('provider.limit').map((e) => [e.previous, e.limit, e.reason])).toEqual([
      [8, 4, 'throttle'],
      [4, 2, 'throttle'],
      [2, 1, 'throttle'],
    ]);
    for (let i = 0; i < 20; i += 1) agents[3]!.reportUsage({ inputTokens: 1, outputTokens: 0 });
    expect(orch.stats().providers.claude.effectiveLimit).toBe(9);
    await orch.stop();
  });

  it('should leave the limit at maxConcurrent when adaptive concurrency is off (the default)', async () => {
    const { orch } = await startHarness({ fallbackChain: ['claude'], requeueThrottled: false });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agent.reportFailure(THROTTLED);
    expect(orch.stats().providers.claude).toMatchObject({ effectiveLimit: 10, maxConcurrent: 10 });
    await orch.stop();
  });

  it.each([
    [{ initial: { claude: 0 } }, /adaptiveConcurrency\.initial\.claude must be a whole number from 1/],
    [{ initial: { gemini: 2 } }, /adaptiveConcurrency\.initial\.gemini is not an option \(known: claude, openai\)/],
    [{ growAfter: 0 }, /adaptiveConcurrency\.growAfter must be a whole number from 1/],
    ['yes', /adaptiveConcurrency must be true, false or/],
  ])('should refuse adaptiveConcurrency %j with invalid-option', async (value, message) => {
    const error = await agentvisorErrorOf(
      () => createOrchestrator({ env: {}, adaptiveConcurrency: value as never }),
      'invalid-option',
    );
    expect(error.message).toMatch(message);
  });
});

describe('usage limits pause the provider', () => {
  it('should pause until the reset the message names, send nothing there meanwhile, and resume by itself', async () => {
    const { orch, clock, events } = await startHarness({}, T0);
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'limited' });
    const limitHit: FailureReport = {
      status: 429,
      body: {
        type: 'error',
        error: { type: 'rate_limit_error', message: "You've hit your limit · resets 10:20am (UTC)" },
      },
    };
    expect(await agent.reportFailure(limitHit)).toMatchObject({ action: 'fallback', kind: 'quota', to: 'openai' });
    // 10:20am is 20 minutes after T0 (10:00 UTC).
    const until = T0 + 20 * MINUTE;
    expect(events.of('provider.paused')).toEqual([{ provider: 'claude', until, reason: 'quota' }]);
    expect(orch.stats().providers.claude.pausedUntil).toBe(until);
    // New sessions skip Claude while it is paused; a session that must have Claude waits.
    expect((await orch.spawnAgent({ estimatedTokens: 1_000 })).provider).toBe('openai');
    const waiting = orch.spawnAgent({
      estimatedTokens: 1_000,
      preferredProvider: 'claude',
      whenPreferredBusy: 'wait',
      waitMs: 60 * MINUTE,
    });
    clock.set(until - 1);
    await flushMicrotasks();
    expect(orch.stats().queued).toBe(1);
    clock.set(until);
    expect((await waiting).provider).toBe('claude');
    expect(events.of('provider.resumed')).toEqual([{ provider: 'claude' }]);
    expect(orch.stats().providers.claude.pausedUntil).toBeNull();
    await orch.stop();
  });

  it('should pause for usageLimitPauseMs when the provider does not say when the limit resets, and refuse with the wait', async () => {
    const { orch, events } = await startHarness({ fallbackChain: ['openai'], usageLimitPauseMs: 15 * MINUTE });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agentvisorErrorOf(
      () =>
        agent.reportFailure({
          status: 429,
          body: {
            error: {
              message: 'You exceeded your current quota',
              type: 'insufficient_quota',
              code: 'insufficient_quota',
            },
          },
        }),
      'no-provider',
    );
    expect(events.of('provider.paused')).toEqual([{ provider: 'openai', until: T0 + 15 * MINUTE, reason: 'quota' }]);
    const refusal = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'no-provider');
    expect(refusal.retryAfterMs).toBe(15 * MINUTE);
    await orch.stop();
  });
});

describe('adaptive concurrency with requeues', () => {
  it('should halve again at once when a session admitted after the last halving is throttled, and keep the circuit out of it', async () => {
    const { orch, clock } = await startHarness({
      fallbackChain: ['claude'],
      adaptiveConcurrency: { initial: { claude: 8 }, decreaseIntervalMs: 60_000 },
      circuit: { allowedFailures: 0, minRequests: 1 },
    });
    const first = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const requeued = first.reportFailure(THROTTLED);
    expect(orch.stats().providers.claude.effectiveLimit).toBe(4);
    clock.advance(1_000);
    await requeued;
    // Re-admitted under the halved limit and throttled again within the interval: that is news.
    const again = first.reportFailure(THROTTLED);
    expect(orch.stats().providers.claude.effectiveLimit).toBe(2);
    clock.advance(5_000);
    await again;
    // Throttling is the adaptive limit's job: the circuit stays closed.
    expect(orch.stats().providers.claude.circuit).toMatchObject({ state: 'closed', failures: 0 });
    await orch.stop();
  });
});

describe('reportFailure resetAt', () => {
  it('should pause until the reset time the host gives with an already classified usage limit', async () => {
    const { orch, events } = await startHarness({}, T0);
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agent.reportFailure({ kind: 'quota', message: 'session limit reached', resetAt: T0 + 90 * MINUTE });
    expect(events.of('provider.paused')).toEqual([{ provider: 'claude', until: T0 + 90 * MINUTE, reason: 'quota' }]);
    await agentvisorErrorOf(() => agent.reportFailure({ kind: 'quota', resetAt: Number.NaN }), 'invalid-failure');
    await orch.stop();
  });
});
