/**
 * An API-driven agent end to end: it calls the loopback fakes of the provider APIs over HTTP with
 * the env agentvisor gave it, hands the real failure answers (status, headers, body) to
 * reportFailure, and falls back, retries or stops as the policy says.
 */
import { createOrchestrator, fakeStep, startProviderApiFake } from '../../src';
import type { ManagedAgent, Orchestrator, OrchestratorEventMap, ProviderApiFake } from '../../src';
import { callModel } from '../helpers/apiAgentCall';

const CLAUDE_KEY = 'sk-ant-api03-FAILOVERclaudeKEY-abcd';
const OPENAI_KEY = 'sk-proj-FAILOVERopenaiKEY-wxyz';

let fake: ProviderApiFake;
let orch: Orchestrator;
const logLines: string[] = [];

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  logLines.length = 0;
});

afterEach(async () => {
  await orch?.stop();
  await fake.close();
});

async function start(options: Parameters<typeof createOrchestrator>[0] = {}): Promise<void> {
  orch = createOrchestrator({
    env: {
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
    },
    credentialSources: ['env'],
    providerPriority: 'prefer-claude',
    ...options,
  });
  await orch.start();
}

/** Sends the answer to agentvisor: usage on success, the whole failure otherwise. */
async function report(agent: ManagedAgent, res: Response) {
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) {
    const usage = (body as { usage: Record<string, number> }).usage;
    const inputTokens = usage.input_tokens ?? usage.prompt_tokens ?? 0;
    const outputTokens = usage.output_tokens ?? usage.completion_tokens ?? 0;
    return { usage: agent.reportUsage({ inputTokens, outputTokens }) };
  }
  return { failure: await agent.reportFailure({ status: res.status, headers: res.headers, body }) };
}

describe('API-driven agent against the loopback provider fakes', () => {
  it('should fall back from an overloaded Claude to OpenAI, swap the env and finish there', async () => {
    await start();
    const fallbacks: OrchestratorEventMap['agent.fallback'][0][] = [];
    orch.on('agent.fallback', (e) => fallbacks.push(e));
    fake.enqueue('claude', fakeStep.error('overloaded'));
    const agent = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'api-1' });
    const first = await report(agent, await callModel(agent));
    expect(first.failure).toEqual({
      action: 'fallback',
      kind: 'overloaded',
      from: 'claude',
      to: 'openai',
      latencyMs: expect.any(Number),
    });
    expect(agent.env.OPENAI_API_KEY).toBe(OPENAI_KEY);
    expect(agent.env).not.toHaveProperty('ANTHROPIC_API_KEY');
    const second = await report(agent, await callModel(agent));
    expect(second.usage).toMatchObject({ usedTokens: 15 });
    expect(fallbacks).toEqual([
      {
        agentId: 'api-1',
        sessionId: agent.sessionId,
        from: 'claude',
        to: 'openai',
        reason: 'overloaded',
        latencyMs: expect.any(Number),
      },
    ]);
    expect(fallbacks[0]!.latencyMs).toBeLessThan(50);
    const result = await agent.release();
    expect(result).toMatchObject({
      usedTokens: 15,
      provider: 'openai',
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
    });
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0, used: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 0, active: 0, used: 15 });
    expect(fake.requests.map((r) => [r.provider, r.auth.scheme, r.answer?.status])).toEqual([
      ['claude', 'x-api-key', 529],
      ['openai', 'bearer', 200],
    ]);
  });

  it('should read insufficient_quota from the body of an OpenAI 429 and fall back as quota, not as a rate limit', async () => {
    await start({ providerPriority: 'prefer-openai' });
    fake.enqueue('openai', fakeStep.error('insufficientQuota'));
    const agent = await orch.spawnAgent({ estimatedTokens: 10_000 });
    const outcome = await report(agent, await callModel(agent));
    expect(outcome.failure).toMatchObject({ action: 'fallback', kind: 'quota', from: 'openai', to: 'claude' });
    // A spent quota says nothing about the provider's health.
    expect(orch.stats().providers.openai.circuit.failures).toBe(0);
  });

  it('should requeue a session throttled before any work, no sooner than the Retry-After, then succeed on the same provider', async () => {
    await start({ fallbackChain: ['claude'] });
    fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 1 }));
    const agent = await orch.spawnAgent({ estimatedTokens: 10_000 });
    const outcome = await report(agent, await callModel(agent));
    expect(outcome.failure).toMatchObject({ action: 'requeued', kind: 'rate-limit', provider: 'claude' });
    const waitedMs = outcome.failure?.action === 'requeued' ? outcome.failure.waitedMs : -1;
    expect(waitedMs).toBeGreaterThanOrEqual(1_000);
    const again = await report(agent, await callModel(agent));
    expect(again.usage).toMatchObject({ usedTokens: 15 });
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, used: 15 });
    expect(orch.stats().activity).toMatchObject({ requeued: 1, fallbacks: 0 });
    // A 1 s Retry-After must not need 30 s: the re-admission happens when it is due, even when the
    // wake-up timer fires a little before the wall clock gets there (as it does on a loaded machine).
  }, 10_000);

  it('should answer retry no sooner than the Retry-After when a session that did work has no provider left', async () => {
    await start({ fallbackChain: ['claude'] });
    const agent = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect((await report(agent, await callModel(agent))).usage).toMatchObject({ usedTokens: 15 });
    fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 2 }));
    const outcome = await report(agent, await callModel(agent));
    expect(outcome.failure).toMatchObject({ action: 'retry', kind: 'rate-limit', provider: 'claude', attempt: 1 });
    const delayMs = outcome.failure?.action === 'retry' ? outcome.failure.delayMs : -1;
    expect(delayMs).toBeGreaterThanOrEqual(2_000);
    expect(delayMs).toBeLessThanOrEqual(30_000);
  });

  it('should open the circuit after repeated 500s from real answers and start new agents on the next provider', async () => {
    await start({ circuit: { allowedFailures: 1, minRequests: 2 } });
    const circuits: OrchestratorEventMap['provider.circuit'][0][] = [];
    orch.on('provider.circuit', (e) => circuits.push(e));
    for (let i = 0; i < 2; i += 1) {
      fake.enqueue('claude', fakeStep.error('serverError'));
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
      await report(agent, await callModel(agent));
      await agent.release();
    }
    expect(circuits).toMatchObject([{ provider: 'claude', state: 'open', failures: 2 }]);
    const next = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(next.provider).toBe('openai');
  });

  it('should fall back on a rejected key (401), a timeout and a cut connection, each classified from what fetch saw', async () => {
    await start({ maxFallbacks: 3, fallbackChain: ['claude', 'openai'] });
    fake.enqueue('claude', fakeStep.error('unauthorized'));
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect((await report(a, await callModel(a))).failure).toMatchObject({
      action: 'fallback',
      kind: 'auth',
      to: 'openai',
    });

    fake.enqueue('claude', fakeStep.reply({ delayMs: 2_000 }));
    const b = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const timedOut = await fetch(`${b.env.ANTHROPIC_BASE_URL}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': b.env.ANTHROPIC_API_KEY ?? '',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'ping' }],
      }),
      signal: AbortSignal.timeout(100),
    }).catch((error: unknown) => error);
    expect(await b.reportFailure({ error: timedOut })).toMatchObject({
      action: 'fallback',
      kind: 'timeout',
      to: 'openai',
    });

    fake.enqueue('claude', fakeStep.cut());
    const c = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const cut = await callModel(c).catch((error: unknown) => error);
    expect(await c.reportFailure({ error: cut })).toMatchObject({ action: 'fallback', kind: 'network', to: 'openai' });
    // Auth does not count against the circuit; the timeout and the cut do.
    expect(orch.stats().providers.claude.circuit).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('should refuse a request the provider calls invalid without falling back, and keep the agent', async () => {
    await start();
    fake.enqueue('claude', fakeStep.error('invalidRequest'));
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const res = await callModel(agent);
    const error = await agent
      .reportFailure({ status: res.status, headers: res.headers, body: await res.json() })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid-request' });
    expect(agent.isLive).toBe(true);
    expect(agent.provider).toBe('claude');
    const text = JSON.stringify({ error, message: (error as Error).message, logLines });
    expect(text).not.toContain(CLAUDE_KEY);
    expect(text).not.toContain(OPENAI_KEY);
  });
});
