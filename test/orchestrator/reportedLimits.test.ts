/**
 * Provider-reported limits: rate-limit headers handed to reportUsage / reportFailure that say 0
 * tokens or 0 requests are left until a reset keep new sessions off the provider until then
 * (a pause, reason `reported-limit`), down the chain or waiting, per `whenPreferredBusy`.
 */
import { MINUTE, T0, agentvisorErrorOf, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

const iso = (at: number) => new Date(at).toISOString();

/** Anthropic's headers on an answer: `left` tokens until `resetAt`. */
function anthropicHeaders(left: number, resetAt: number): Record<string, string> {
  return {
    'anthropic-ratelimit-requests-remaining': '40',
    'anthropic-ratelimit-requests-reset': iso(resetAt),
    'anthropic-ratelimit-tokens-remaining': String(left),
    'anthropic-ratelimit-tokens-reset': iso(resetAt),
  };
}

describe('provider-reported limits', () => {
  it('should pause a provider that reports 0 tokens left until the reset, send new sessions down the chain, then resume', async () => {
    const { orch, clock, events } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    agent.reportUsage({ inputTokens: 800, outputTokens: 200, headers: anthropicHeaders(0, T0 + 45_000) });
    expect(events.of('provider.paused')).toEqual([
      { provider: 'claude', until: T0 + 45_000, reason: 'reported-limit' },
    ]);
    expect(orch.stats().providers.claude).toMatchObject({ pausedUntil: T0 + 45_000, used: 1_000, active: 1 });
    // The session that reported keeps running; new ones go to openai.
    expect(agent.isLive).toBe(true);
    const next = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' });
    expect(next.provider).toBe('openai');
    clock.advance(45_000);
    await flushMicrotasks();
    expect(events.of('provider.resumed')).toEqual([{ provider: 'claude' }]);
    expect(orch.stats().providers.claude.pausedUntil).toBeNull();
    expect((await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c' })).provider).toBe('claude');
    await orch.stop();
  });

  it("should keep a 'wait' spawn for the paused provider in the queue and admit it at the reset", async () => {
    const { orch, clock } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    agent.reportUsage({
      inputTokens: 10,
      outputTokens: 5,
      headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s' },
    });
    const refused = await agentvisorErrorOf(
      () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'now', whenPreferredBusy: 'wait' }),
      'no-provider',
    );
    expect(refused.retryAfterMs).toBe(20_000);
    let admitted: string | null = null;
    const waiting = orch
      .spawnAgent({ estimatedTokens: 1_000, agentId: 'later', whenPreferredBusy: 'wait', waitMs: MINUTE })
      .then((a) => {
        admitted = a.provider;
        return a;
      });
    clock.advance(19_999);
    await flushMicrotasks();
    expect(admitted).toBeNull();
    clock.advance(1);
    await waiting;
    expect(admitted).toBe('claude');
    await orch.stop();
  });

  it('should change nothing when tokens and requests are left, or when no reset in the future is given', async () => {
    const { orch, events } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    agent.reportUsage({ inputTokens: 1, outputTokens: 1, headers: anthropicHeaders(1, T0 + 60_000) });
    agent.reportUsage({ inputTokens: 1, outputTokens: 1, headers: { 'anthropic-ratelimit-tokens-remaining': '0' } });
    agent.reportUsage({ inputTokens: 1, outputTokens: 1, headers: anthropicHeaders(0, T0 - 1) });
    agent.reportUsage({
      inputTokens: 1,
      outputTokens: 1,
      headers: new Headers({ 'content-type': 'application/json' }),
    });
    expect(events.of('provider.paused')).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ pausedUntil: null, used: 8 });
    await orch.stop();
  });

  it('should read the headers of a failure too: a 429 saying 0 left pauses the provider for new sessions until the reset', async () => {
    const { orch, events } = await startHarness({ requeueThrottled: false });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const outcome = await agent.reportFailure({
      status: 429,
      headers: { 'retry-after': '30', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '30s' },
      body: {
        type: 'error',
        error: {
          type: 'rate_limit_error',
          message: 'Number of request tokens has exceeded your per-minute rate limit',
        },
      },
    });
    expect(outcome).toMatchObject({ action: 'fallback', from: 'claude', to: 'openai' });
    expect(events.of('provider.paused')).toEqual([
      { provider: 'claude', until: T0 + 30_000, reason: 'reported-limit' },
    ]);
    expect((await orch.spawnAgent({ estimatedTokens: 1_000 })).provider).toBe('openai');
    await orch.stop();
  });

  it('should refuse headers that are not an object with invalid-usage and count nothing', async () => {
    const { orch } = await startHarness();
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const error = await agentvisorErrorOf(
      () => agent.reportUsage({ inputTokens: 5, outputTokens: 5, headers: 'x-ratelimit-remaining-tokens: 0' as never }),
      'invalid-usage',
    );
    expect(error.message).toBe(
      'headers must be the response headers: a plain object of header names to values, or a Fetch Headers',
    );
    expect(orch.stats().providers.claude.used).toBe(0);
    await orch.stop();
  });
});
