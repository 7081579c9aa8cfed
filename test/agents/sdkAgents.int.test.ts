/**
 * API-driven agents written with the official SDKs (`@anthropic-ai/sdk`, `openai`, latest, as
 * devDependencies) against the loopback provider fake, through a real orchestrator: the SDK is
 * built from `agent.env` with its own retries off, usage goes through usageFromAnthropic /
 * usageFromOpenAI, failures through reportFailureFrom.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  createOrchestrator,
  fakeStep,
  reportFailureFrom,
  runAgentTask,
  startProviderApiFake,
  usageFromAnthropic,
  usageFromOpenAI,
} from '../../src';
import type { ManagedAgent, Orchestrator, ProviderApiFake } from '../../src';
import type { FailureOutcome } from '../../src/orchestrator';
import { agentBin } from '../helpers/cliHome';

// Test credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'SdkAgentKey'}${'k'.repeat(60)}Sa12`;
const OAUTH_TOKEN = `sk-ant-oat01-${'SdkAgentToken'}${'t'.repeat(50)}So34`;
const OPENAI_KEY = `sk-proj-${'SdkAgentKey'}${'o'.repeat(40)}Sk56`;
const OAUTH_BETA = 'oauth-2025-04-20';
const PROMPT = [{ role: 'user' as const, content: 'ping' }];

let fake: ProviderApiFake;
let orch: Orchestrator | undefined;

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: [CLAUDE_KEY, OAUTH_TOKEN], openai: OPENAI_KEY } });
});

afterEach(async () => {
  await orch?.stop();
  orch = undefined;
  await fake.close();
});

async function start(
  claudeCredential: Record<string, string> = { ANTHROPIC_API_KEY: CLAUDE_KEY },
  priority: 'prefer-claude' | 'prefer-openai' = 'prefer-claude',
): Promise<Orchestrator> {
  orch = createOrchestrator({
    env: {
      ...claudeCredential,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
    },
    credentialSources: ['env'],
    providerPriority: priority,
  });
  await orch.start();
  return orch;
}

/** The Anthropic SDK from what the agent holds now: its key, or its login (which needs the oauth beta). */
function anthropicFor(agent: ManagedAgent, options: { oauthBeta?: boolean; timeout?: number } = {}): Anthropic {
  const env = agent.env;
  const login = env.ANTHROPIC_AUTH_TOKEN !== undefined && options.oauthBeta !== false;
  return new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY ?? null,
    authToken: env.ANTHROPIC_AUTH_TOKEN ?? null,
    baseURL: env.ANTHROPIC_BASE_URL ?? null,
    maxRetries: 0,
    ...(login ? { defaultHeaders: { 'anthropic-beta': OAUTH_BETA } } : {}),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
}

function openaiFor(agent: ManagedAgent): OpenAI {
  return new OpenAI({
    apiKey: agent.env.OPENAI_API_KEY ?? null,
    baseURL: agent.env.OPENAI_BASE_URL ?? null,
    maxRetries: 0,
  });
}

/** What an agent loop does with whatever a call threw. */
async function failWith(agent: ManagedAgent, call: () => Promise<unknown>): Promise<FailureOutcome> {
  const error = await call().then(
    () => {
      throw new Error('the call was expected to fail');
    },
    (thrown: unknown) => thrown,
  );
  return agent.reportFailure(reportFailureFrom(error));
}

/** What a call that must fail threw. */
async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('the call was expected to fail');
    },
    (thrown: unknown) => thrown,
  );
}

describe('API-driven agents on the official SDKs', () => {
  it('should accept the Anthropic SDK key as a Bearer, and count a plain message with its cache tokens', async () => {
    const o = await start();
    fake.enqueue(
      'claude',
      fakeStep.reply({
        text: 'hello',
        usage: { inputTokens: 3, outputTokens: 7, cachedInputTokens: 100, cacheCreationInputTokens: 20 },
      }),
    );
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    const { data: message, response } = await anthropicFor(agent)
      .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT })
      .withResponse();
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'hello' })]);
    expect(agent.reportUsage({ ...usageFromAnthropic(message), headers: response.headers })).toMatchObject({
      usedTokens: 130,
    });
    const [request] = fake.requests;
    // @anthropic-ai/sdk 1.x sends an API key as `Authorization: Bearer`, never as x-api-key, and no oauth beta.
    expect(request).toMatchObject({
      route: 'anthropic.messages',
      stream: false,
      auth: { scheme: 'bearer', hint: 'sk-ant-api03-…Sa12' },
      answer: { status: 200, step: 'reply' },
    });
    expect(request?.auth.credential?.reveal()).toBe(CLAUDE_KEY);
    expect(request?.headers['user-agent']).toMatch(/^Anthropic\/JS 1\./);
    expect(request?.headers).not.toHaveProperty('anthropic-beta');
    expect(await agent.release()).toMatchObject({ usedTokens: 130, provider: 'claude' });
    expect(o.stats().providers.claude).toMatchObject({ used: 130, reserved: 0, active: 0 });
  });

  it('should count a streamed message from its final message, cache tokens included', async () => {
    const o = await start();
    fake.enqueue(
      'claude',
      fakeStep.reply({
        text: 'streamed',
        usage: { inputTokens: 12, outputTokens: 9, cachedInputTokens: 300, cacheCreationInputTokens: 40 },
      }),
    );
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    const stream = anthropicFor(agent).messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: PROMPT,
    });
    const message = await stream.finalMessage();
    expect(await stream.finalText()).toBe('streamed');
    expect(usageFromAnthropic(message)).toEqual({ inputTokens: 352, outputTokens: 9 });
    agent.reportUsage(usageFromAnthropic(message));
    expect(fake.requests.map((r) => [r.route, r.stream, r.auth.scheme])).toEqual([
      ['anthropic.messages', true, 'bearer'],
    ]);
    expect(await agent.release()).toMatchObject({ usedTokens: 361 });
    expect(o.stats().providers.claude.used).toBe(361);
  });

  it('should fall back from an overloaded Claude (529) to OpenAI and finish there on the openai SDK', async () => {
    const o = await start();
    fake.enqueue('claude', fakeStep.error('overloaded'));
    fake.enqueue(
      'openai',
      fakeStep.reply({
        text: 'from openai',
        usage: { inputTokens: 50, outputTokens: 9, cachedInputTokens: 40, reasoningTokens: 4 },
      }),
    );
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    const outcome = await failWith(agent, () =>
      anthropicFor(agent).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT }),
    );
    expect(outcome).toMatchObject({ action: 'fallback', kind: 'overloaded', from: 'claude', to: 'openai' });
    expect(agent.provider).toBe('openai');
    expect(agent.env.OPENAI_API_KEY).toBe(OPENAI_KEY);
    const response = await openaiFor(agent).responses.create({ model: 'gpt-5', input: 'ping' });
    expect(response.output_text).toBe('from openai');
    // Cached input is inside input_tokens and reasoning inside output_tokens: 50 + 9.
    agent.reportUsage(usageFromOpenAI(response));
    expect(await agent.release()).toMatchObject({
      usedTokens: 59,
      provider: 'openai',
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
    });
    expect(o.stats().providers.claude).toMatchObject({ used: 0, reserved: 0 });
    expect(o.stats().providers.openai).toMatchObject({ used: 59, reserved: 0 });
    expect(fake.requests.map((r) => [r.provider, r.auth.scheme, r.answer?.status])).toEqual([
      ['claude', 'bearer', 529],
      ['openai', 'bearer', 200],
    ]);
    // No SDK retried on its own: one request each.
    expect(fake.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '0']);
  });

  it('should fall back on an error event in the middle of a Claude stream', async () => {
    const o = await start();
    fake.enqueue('claude', fakeStep.streamError('overloaded'));
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    const outcome = await failWith(agent, () =>
      anthropicFor(agent)
        .messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT })
        .finalMessage(),
    );
    expect(outcome).toMatchObject({ action: 'fallback', kind: 'overloaded', from: 'claude', to: 'openai' });
    expect(fake.requests.map((r) => [r.route, r.stream, r.answer?.status, r.answer?.step])).toEqual([
      ['anthropic.messages', true, 200, 'streamError'],
    ]);
    await agent.release();
  });

  it('should fall back when an OpenAI Responses stream ends failed, and count OpenAI streams and Chat Completions exactly', async () => {
    const o = await start({ ANTHROPIC_API_KEY: CLAUDE_KEY }, 'prefer-openai');
    fake.enqueue('openai', fakeStep.streamError('serverError'));
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    // The openai SDK does not throw here: finalResponse() gives the failed response.
    const failed = await openaiFor(agent).responses.stream({ model: 'gpt-5', input: 'ping' }).finalResponse();
    expect(failed.status).toBe('failed');
    expect(await agent.reportFailure(reportFailureFrom(failed))).toMatchObject({
      action: 'fallback',
      kind: 'server',
      from: 'openai',
      to: 'claude',
    });
    await agent.release();

    const second = await o.spawnAgent({ estimatedTokens: 10_000, preferredProvider: 'openai' });
    const client = openaiFor(second);
    fake.enqueue('openai', fakeStep.reply({ usage: { inputTokens: 30, outputTokens: 6, cachedInputTokens: 20 } }));
    second.reportUsage(
      usageFromOpenAI(await client.responses.stream({ model: 'gpt-5', input: 'ping' }).finalResponse()),
    );
    fake.enqueue(
      'openai',
      fakeStep.reply({ usage: { inputTokens: 40, outputTokens: 5, cachedInputTokens: 10, reasoningTokens: 2 } }),
    );
    second.reportUsage(usageFromOpenAI(await client.chat.completions.create({ model: 'gpt-5', messages: PROMPT })));
    fake.enqueue('openai', fakeStep.reply({ usage: { inputTokens: 7, outputTokens: 3 } }));
    const chunks = await client.chat.completions.create({
      model: 'gpt-5',
      messages: PROMPT,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of chunks) if (chunk.usage) second.reportUsage(usageFromOpenAI(chunk));
    expect(await second.release()).toMatchObject({ usedTokens: 36 + 45 + 10, provider: 'openai' });
    expect(o.stats().providers.openai.used).toBe(91);
  });

  it('should report timeouts, cut connections and cut streams from the SDK as timeout, network and truncated', async () => {
    const o = await start();
    const kinds: string[] = [];
    const steps = [fakeStep.reply({ delayMs: 2_000 }), fakeStep.cut(), fakeStep.truncate({ ending: 'destroy' })];
    for (const [index, step] of steps.entries()) {
      fake.enqueue('claude', step);
      const agent = await o.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
      const client = anthropicFor(agent, { timeout: 200 });
      const call =
        index === 2
          ? () =>
              client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT }).finalMessage()
          : () => client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT });
      const outcome = await failWith(agent, call);
      kinds.push(outcome.kind);
      expect(outcome).toMatchObject({ action: 'fallback', from: 'claude', to: 'openai' });
      await agent.release();
    }
    expect(kinds).toEqual(['timeout', 'network', 'truncated']);
  });

  it('should report as truncated a reset Responses stream, one closed before response.completed, and a JSON body cut in half', async () => {
    const o = await start({ ANTHROPIC_API_KEY: CLAUDE_KEY }, 'prefer-openai');
    const kinds: string[] = [];
    const report = async (agent: ManagedAgent, outcome: unknown): Promise<void> => {
      const answer = await agent.reportFailure(reportFailureFrom(outcome));
      kinds.push(answer.kind);
      expect(answer).toMatchObject({ action: 'fallback', from: 'openai', to: 'claude' });
      await agent.release();
    };
    // The openai SDK's ResponseStream rethrows undici's "terminated" as OpenAIError('TypeError: terminated').
    fake.enqueue('openai', fakeStep.truncate({ ending: 'destroy' }));
    let agent = await o.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    await report(
      agent,
      await failureOf(openaiFor(agent).responses.stream({ model: 'gpt-5', input: 'ping' }).finalResponse()),
    );
    // Closed cleanly before response.completed: finalResponse() resolves with the response still in_progress.
    fake.enqueue('openai', fakeStep.truncate({ ending: 'end' }));
    agent = await o.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    const unfinished = await openaiFor(agent).responses.stream({ model: 'gpt-5', input: 'ping' }).finalResponse();
    expect(unfinished.status).toBe('in_progress');
    await report(agent, unfinished);
    // A non-streamed answer cut in half: the SDK's JSON parse of the body throws a SyntaxError.
    fake.enqueue('openai', fakeStep.truncate({ ending: 'end' }));
    agent = await o.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    await report(
      agent,
      await failureOf(openaiFor(agent).chat.completions.create({ model: 'gpt-5', messages: PROMPT })),
    );
    fake.enqueue('claude', fakeStep.truncate({ ending: 'end' }));
    agent = await o.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
    const cutClaude = await failureOf(
      anthropicFor(agent).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT }),
    );
    const claudeOutcome = await agent.reportFailure(reportFailureFrom(cutClaude));
    kinds.push(claudeOutcome.kind);
    await agent.release();
    expect(kinds).toEqual(['truncated', 'truncated', 'truncated', 'truncated']);
  });

  it('should give a Claude login to the SDK as ANTHROPIC_AUTH_TOKEN: accepted with the oauth beta, refused (and fallen back from) without', async () => {
    const o = await start({ CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN });
    fake.enqueue('claude', fakeStep.reply({ usage: { inputTokens: 4, outputTokens: 2, cachedInputTokens: 10 } }));
    const agent = await o.spawnAgent({ estimatedTokens: 10_000 });
    expect(agent.env.ANTHROPIC_AUTH_TOKEN).toBe(OAUTH_TOKEN);
    expect(agent.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(OAUTH_TOKEN);
    expect(agent.env).not.toHaveProperty('ANTHROPIC_API_KEY');
    agent.reportUsage(
      usageFromAnthropic(
        await anthropicFor(agent).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: PROMPT }),
      ),
    );
    expect(fake.requests[0]).toMatchObject({
      auth: { scheme: 'bearer', hint: 'sk-ant-oat01-…So34' },
      answer: { status: 200 },
    });
    expect(fake.requests[0]?.headers['anthropic-beta']).toBe(OAUTH_BETA);

    const outcome = await failWith(agent, () =>
      anthropicFor(agent, { oauthBeta: false }).messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        messages: PROMPT,
      }),
    );
    expect(outcome).toMatchObject({ action: 'fallback', kind: 'auth', to: 'openai' });
    expect(fake.requests[1]).toMatchObject({ auth: { scheme: 'bearer' }, answer: { status: 401, step: 'auth' } });
    expect(agent.env).not.toHaveProperty('ANTHROPIC_AUTH_TOKEN');
    expect(await agent.release()).toMatchObject({ usedTokens: 16 });
  });

  it('should still run the real Claude Code on the same login: it gets CLAUDE_CODE_OAUTH_TOKEN alone and sends the oauth beta', async () => {
    agentBin('claude');
    const o = await start({ CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN });
    fake.setScript(
      'claude',
      fakeStep.reply({ text: 'pong', usage: { inputTokens: 17, outputTokens: 4, cachedInputTokens: 30 } }),
    );
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-agents-')));
    try {
      fs.mkdirSync(path.join(dir, 'homes'));
      const hostEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const result = await runAgentTask(o, {
        task: 'say pong',
        agent: 'claude-code',
        estimatedTokens: 20_000,
        cwd: dir,
        tempDir: path.join(dir, 'homes'),
        hostEnv,
      });
      expect(result).toMatchObject({
        ok: true,
        provider: 'claude',
        result: 'pong',
        usage: { inputTokens: 47, outputTokens: 4 },
      });
      const sent = fake.requests.filter((r) => r.route === 'anthropic.messages');
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        auth: { scheme: 'bearer', hint: 'sk-ant-oat01-…So34' },
        answer: { status: 200 },
      });
      expect(sent[0]?.headers['anthropic-beta']?.split(',')).toContain(OAUTH_BETA);
      expect(o.stats().providers.claude.used).toBe(51);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
