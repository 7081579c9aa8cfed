/**
 * Provider-reported limits end to end: an API-driven agent calls the loopback provider fakes with
 * its env and hands each answer's headers to agentvisor (reportUsage on success, reportFailure on
 * a 429). When the provider's own rate-limit headers say nothing is left, new sessions go down the
 * chain until the reset the headers give.
 */
import { createManualClock, createOrchestrator, fakeStep, startProviderApiFake } from '../../src';
import type { ManualClock, Orchestrator, OrchestratorEventMap, ProviderApiFake } from '../../src';
import { callModel } from '../helpers/apiAgentCall';

const CLAUDE_KEY = 'sk-ant-api03-LIMITSclaudeKEY-abcd';
const OPENAI_KEY = 'sk-proj-LIMITSopenaiKEY-wxyz';

let fake: ProviderApiFake;
let orch: Orchestrator;
let clock: ManualClock;
let paused: OrchestratorEventMap['provider.paused'][0][];

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  // The fake stamps resets with the wall clock; the orchestrator's clock starts there and moves only when told.
  clock = createManualClock(Date.now());
  orch = createOrchestrator({
    env: {
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
    },
    credentialSources: ['env'],
    providerPriority: 'prefer-claude',
    requeueThrottled: false,
    clock,
  });
  paused = [];
  orch.on('provider.paused', (e) => paused.push(e));
  await orch.start();
});

afterEach(async () => {
  await orch.stop();
  await fake.close();
});

describe('provider-reported limits against the loopback fakes', () => {
  it("should stop admitting onto Claude when a successful answer's headers say 0 tokens remain, until their reset", async () => {
    const resetAt = clock.now() + 120_000;
    fake.enqueue(
      'claude',
      fakeStep.reply({
        headers: {
          'anthropic-ratelimit-tokens-remaining': '0',
          'anthropic-ratelimit-tokens-reset': new Date(resetAt).toISOString(),
        },
      }),
    );
    const agent = await orch.spawnAgent({ estimatedTokens: 5_000 });
    const res = await callModel(agent);
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: { input_tokens: number; output_tokens: number } };
    agent.reportUsage({ inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, headers: res.headers });
    expect(paused).toEqual([{ provider: 'claude', until: resetAt, reason: 'reported-limit' }]);
    const next = await orch.spawnAgent({ estimatedTokens: 5_000 });
    expect(next.provider).toBe('openai');
    expect((await callModel(next)).status).toBe(200);
    clock.advance(120_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await orch.spawnAgent({ estimatedTokens: 5_000 })).provider).toBe('claude');
  });

  it("should read a 429's rate-limit headers (OpenAI x-ratelimit-*) and keep new sessions off OpenAI until the reset", async () => {
    await orch.stop();
    orch = createOrchestrator({
      env: {
        ANTHROPIC_API_KEY: CLAUDE_KEY,
        OPENAI_API_KEY: OPENAI_KEY,
        ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        OPENAI_BASE_URL: fake.openaiBaseUrl,
      },
      credentialSources: ['env'],
      providerPriority: 'prefer-openai',
      requeueThrottled: false,
      clock,
    });
    orch.on('provider.paused', (e) => paused.push(e));
    await orch.start();
    fake.enqueue('openai', fakeStep.error('rateLimited', { retryAfterSeconds: 30 }));
    const agent = await orch.spawnAgent({ estimatedTokens: 5_000 });
    expect(agent.provider).toBe('openai');
    const res = await callModel(agent);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    const outcome = await agent.reportFailure({ status: res.status, headers: res.headers, body: await res.json() });
    expect(outcome).toMatchObject({ action: 'fallback', kind: 'rate-limit', from: 'openai', to: 'claude' });
    // x-ratelimit-reset-tokens is "30s" from when the answer arrived.
    expect(paused).toEqual([{ provider: 'openai', until: clock.now() + 30_000, reason: 'reported-limit' }]);
    expect(orch.stats().providers.openai.pausedUntil).toBe(clock.now() + 30_000);
    expect((await orch.spawnAgent({ estimatedTokens: 5_000 })).provider).toBe('claude');
  });
});
