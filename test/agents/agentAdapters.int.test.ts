/**
 * The agent adapters end to end: runAgentTask drives the real claude and codex CLIs (devDependencies)
 * against the loopback provider API fake, through a real orchestrator: admission, the session's env,
 * usage into the budget, fallback between the CLIs, retries, timeouts, aborts and missing binaries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAgentTask } from '../../src/agents';
import type { AgentTaskEvent, AgentTaskOptions } from '../../src/agents';
import { createOrchestrator } from '../../src/orchestrator';
import type { Orchestrator, OrchestratorOptions } from '../../src/orchestrator';
import { fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { agentBin, makeCliHome, writeChatGptLogin } from '../helpers/cliHome';
import type { CliHome } from '../helpers/cliHome';

// Test credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'AdapterTestKey'}${'a'.repeat(60)}Ad1a`;
const OPENAI_KEY = `sk-proj-${'AdapterTestKey'}${'b'.repeat(40)}Ad2b`;
const WRONG_CLAUDE_KEY = `sk-ant-api03-${'AdapterWrongKey'}${'w'.repeat(60)}Ad3c`;
const WRONG_OPENAI_KEY = `sk-proj-${'AdapterWrongKey'}${'x'.repeat(40)}Ad4d`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY, WRONG_CLAUDE_KEY, WRONG_OPENAI_KEY];
const USAGE = { inputTokens: 17, outputTokens: 4 };

let fake: ProviderApiFake;
let orch: Orchestrator | undefined;
let dir: string;
let tempDir: string;
let workdir: string;
const outputs: string[] = [];

beforeAll(() => {
  agentBin('claude');
  agentBin('codex');
});

beforeEach(async () => {
  fake = await startProviderApiFake({
    keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY },
    script: {
      claude: fakeStep.reply({ text: 'pong', usage: USAGE }),
      openai: fakeStep.reply({ text: 'pong from codex', usage: { inputTokens: 12, outputTokens: 3 } }),
    },
  });
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-adapters-')));
  tempDir = path.join(dir, 'homes');
  workdir = path.join(dir, 'work');
  fs.mkdirSync(tempDir);
  fs.mkdirSync(workdir);
});

afterEach(async () => {
  await orch?.stop();
  orch = undefined;
  await fake.close();
  // Every per-task home was removed.
  expect(fs.readdirSync(tempDir)).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const text of outputs) for (const secret of SECRETS) expect(text).not.toContain(secret.slice(10, 40));
  outputs.length = 0;
});

async function start(
  options: OrchestratorOptions = {},
  keys = { claude: CLAUDE_KEY, openai: OPENAI_KEY },
): Promise<Orchestrator> {
  orch = createOrchestrator({
    env: {
      ANTHROPIC_API_KEY: keys.claude,
      OPENAI_API_KEY: keys.openai,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
    },
    credentialSources: ['env'],
    providerPriority: 'prefer-claude',
    ...options,
  });
  await orch.start();
  return orch;
}

function hostEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', AGENTVISOR_HOST_CANARY: 'must-not-reach-agents', ...extra };
}

async function task(o: Orchestrator, options: Partial<AgentTaskOptions> = {}) {
  const events: AgentTaskEvent[] = [];
  const result = await runAgentTask(o, {
    task: 'say pong',
    estimatedTokens: 20_000,
    cwd: workdir,
    tempDir,
    hostEnv: hostEnv(),
    onEvent: (e) => events.push(e),
    ...options,
  });
  outputs.push(JSON.stringify(result), JSON.stringify(events));
  return { result, events };
}

function messageRequests() {
  return fake.requests.filter((r) => r.route === 'anthropic.messages' || r.route === 'openai.responses');
}

function expectSettled(o: Orchestrator): void {
  for (const p of ['claude', 'openai'] as const)
    expect(o.stats().providers[p]).toMatchObject({ reserved: 0, active: 0 });
}

/** A wrapper that records the names of the variables it was started with, then runs the real CLI. */
function envRecordingWrapper(realBin: string, namesFile: string): string {
  const wrapper = path.join(dir, `record-env-${path.basename(realBin)}`);
  const script = `#!/bin/sh\nenv | cut -d= -f1 | sort > '${namesFile}'\nexec '${realBin}' "$@"\n`;
  fs.writeFileSync(wrapper, script, { mode: 0o700 });
  return wrapper;
}

describe('runAgentTask with the real CLIs', () => {
  it('should run Claude Code with exactly the session key and env, and count its usage in the budget', async () => {
    const o = await start();
    const namesFile = path.join(dir, 'claude-env.txt');
    const { result, events } = await task(o, {
      agent: 'claude-code',
      hostEnv: hostEnv({ AGENTVISOR_CLAUDE_BIN: envRecordingWrapper(agentBin('claude'), namesFile) }),
    });
    expect(result).toEqual({
      ok: true,
      agentId: expect.stringMatching(/^task-[0-9a-f]{8}$/),
      provider: 'claude',
      agent: 'claude-code',
      sessionId: expect.any(String),
      usage: { inputTokens: 17, outputTokens: 4, totalTokens: 21 },
      fallbacks: [],
      result: 'pong',
      runs: 1,
      durationMs: expect.any(Number),
      sandbox: 'workspace-write',
      permissionDenials: [],
    });
    const sent = messageRequests();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      route: 'anthropic.messages',
      auth: { scheme: 'x-api-key' },
      answer: { status: 200, step: 'reply' },
    });
    expect(sent[0]?.auth.credential?.reveal()).toBe(CLAUDE_KEY);
    expect(o.stats().providers.claude).toMatchObject({ used: 21, reserved: 0, active: 0 });
    expect(o.stats().providers.openai.used).toBe(0);
    // The env: the session's (key, base URL, ids, quiet variables), PATH, the agent's own homes and the retry bound.
    const names = fs
      .readFileSync(namesFile, 'utf8')
      .trim()
      .split('\n')
      .filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n));
    expect(names).toEqual([
      'AGENTVISOR_AGENT_ID',
      'AGENTVISOR_PROCESS_TAG',
      'AGENTVISOR_SESSION_ID',
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_BASE_URL',
      'CLAUDE_API_KEY',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'CLAUDE_CODE_MAX_RETRIES',
      'CLAUDE_CONFIG_DIR',
      'DISABLE_AUTOUPDATER',
      'DISABLE_ERROR_REPORTING',
      'DISABLE_TELEMETRY',
      'HOME',
      'PATH',
      'TMPDIR',
    ]);
    // Usage counted as it streamed, before the run ended.
    // The message's start brings its input (output 1 as a placeholder), its end the final output count.
    expect(events.map((e) => e.type)).toEqual(['admitted', 'run.started', 'usage', 'usage', 'run.ended']);
    expect(events[2]).toMatchObject({ type: 'usage', inputTokens: 17, outputTokens: 1, totalTokens: 18 });
    expect(events[3]).toMatchObject({ type: 'usage', inputTokens: 17, outputTokens: 4, totalTokens: 21 });
    const ended = events[4];
    expect(ended).toMatchObject({
      type: 'run.ended',
      agent: 'claude-code',
      provider: 'claude',
      exitCode: 0,
      outcome: 'success',
    });
  });

  it('should fall back from a 529 on Claude Code to Codex, which succeeds with the OpenAI key', async () => {
    const o = await start();
    fake.setScript('claude', fakeStep.error('overloaded'));
    const { result, events } = await task(o);
    expect(result).toMatchObject({
      ok: true,
      provider: 'openai',
      agent: 'codex',
      usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
      result: 'pong from codex',
      runs: 2,
    });
    expect(result.error).toBeUndefined();
    expect(
      messageRequests().map((r) => [
        r.route,
        r.answer?.status,
        r.auth.credential?.reveal() === (r.provider === 'claude' ? CLAUDE_KEY : OPENAI_KEY),
      ]),
    ).toEqual([
      ['anthropic.messages', 529, true],
      ['openai.responses', 200, true],
    ]);
    expect(
      events
        .filter((e) => e.type === 'run.ended')
        .map((e) => (e.type === 'run.ended' ? `${e.agent}:${e.outcome}` : '')),
    ).toEqual(['claude-code:overloaded', 'codex:success']);
    expect(o.stats().providers.openai.used).toBe(15);
    expect(o.stats().activity.fallbacks).toBe(1);
    expectSettled(o);
  });

  it('should fall back from Codex to Claude Code too', async () => {
    const o = await start({ providerPriority: 'prefer-openai' });
    fake.setScript('openai', fakeStep.error('unauthorized'));
    const { result } = await task(o, { agent: 'codex' });
    expect(result).toMatchObject({
      ok: true,
      provider: 'claude',
      agent: 'claude-code',
      fallbacks: [{ from: 'openai', to: 'claude', reason: 'auth' }],
      result: 'pong',
      usage: { totalTokens: 21 },
    });
    expectSettled(o);
  });

  it('should end with no-provider, naming both runs, when both providers answer 401, and leave nothing reserved', async () => {
    const o = await start({}, { claude: WRONG_CLAUDE_KEY, openai: WRONG_OPENAI_KEY });
    const { result } = await task(o);
    expect(result).toMatchObject({
      ok: false,
      provider: 'openai',
      agent: 'codex',
      result: null,
      runs: 2,
      usage: { totalTokens: 0 },
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'auth' }],
    });
    expect(result.error?.code).toBe('no-provider');
    expect(result.error?.message).toContain('claude-code on claude: auth (401) Invalid API key');
    expect(result.error?.message).toContain('codex on openai: auth (401) unexpected status 401 Unauthorized');
    expect(messageRequests().map((r) => r.answer?.status)).toEqual([401, 401]);
    expectSettled(o);
    expect(o.stats().providers.claude.used + o.stats().providers.openai.used).toBe(0);
  });

  it('should requeue and run the same CLI again when the server throttles it before any work and no provider is left', async () => {
    const o = await start({ fallbackChain: ['claude'] });
    fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 1 }));
    const { result, events } = await task(o);
    expect(result).toMatchObject({ ok: true, provider: 'claude', runs: 2, fallbacks: [], usage: { totalTokens: 21 } });
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    const requeued = events.find((e) => e.type === 'requeued');
    expect(requeued).toMatchObject({ type: 'requeued', provider: 'claude', reason: 'rate-limit' });
    // Claude Code prints no Retry-After for a 429, so the session waited the policy's first backoff (0–250 ms) in the queue.
    expect(requeued?.type === 'requeued' ? requeued.waitedMs : -1).toBeGreaterThanOrEqual(0);
    expect(requeued?.type === 'requeued' ? requeued.waitedMs : Infinity).toBeLessThanOrEqual(1_000);
    expect(o.stats().activity).toMatchObject({ requeued: 1 });
    expect(messageRequests().map((r) => r.answer?.status)).toEqual([429, 200]);
    expectSettled(o);
  });

  it('should run Codex on a ChatGPT login: auth.json in its own CODEX_HOME, the access token as Bearer with the account id', async () => {
    const login: CliHome = makeCliHome('adapter-chatgpt-');
    try {
      const written = writeChatGptLogin(login, 'acct-adapter-1');
      await fake.close();
      fake = await startProviderApiFake({ keys: { openai: written.accessToken } });
      const o = await start({
        home: login.codexHome,
        credentialSources: ['codex-auth-file'],
        env: { OPENAI_BASE_URL: fake.openaiBaseUrl },
      });
      const { result } = await task(o, { agent: 'codex' });
      expect(result).toMatchObject({
        ok: true,
        provider: 'openai',
        agent: 'codex',
        result: 'pong',
        usage: { totalTokens: 15 },
      });
      const responses = fake.requests.filter((r) => r.route === 'openai.responses');
      expect(responses).toHaveLength(1);
      expect(responses[0]?.auth.credential?.reveal()).toBe(written.accessToken);
      expect(responses[0]?.headers['chatgpt-account-id']).toBe('acct-adapter-1');
      outputs.push(JSON.stringify(result));
      expect(JSON.stringify(result)).not.toContain(written.refreshToken);
    } finally {
      login.cleanup();
    }
  });

  it('should fail with agent-not-found when the binary is missing, and release the session', async () => {
    const o = await start();
    const { result } = await task(o, {
      agent: 'claude-code',
      hostEnv: hostEnv({ AGENTVISOR_CLAUDE_BIN: path.join(dir, 'no-such-claude') }),
    });
    expect(result).toMatchObject({
      ok: false,
      provider: 'claude',
      agent: 'claude-code',
      runs: 1,
      error: { code: 'agent-not-found' },
    });
    expect(result.error?.message).toContain('AGENTVISOR_CLAUDE_BIN');
    expect(fake.requests).toEqual([]);
    expectSettled(o);
  });

  it('should stop a run at the task timeout with agent-failed, and release the session', async () => {
    const o = await start();
    fake.setScript('claude', fakeStep.reply({ delayMs: 20_000 }));
    const started = Date.now();
    const { result, events } = await task(o, { agent: 'claude-code', timeoutMs: 2_000, killGraceMs: 500 });
    expect(result).toMatchObject({ ok: false, error: { code: 'agent-failed' } });
    expect(result.error?.message).toContain('did not finish within');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(events.find((e) => e.type === 'run.ended')).toMatchObject({ outcome: 'timeout' });
    expectSettled(o);
  });

  it('should stop a running agent on abort with stopped, and release the session', async () => {
    const o = await start();
    fake.setScript('claude', fakeStep.reply({ delayMs: 20_000 }));
    const controller = new AbortController();
    const pending = task(o, { agent: 'claude-code', signal: controller.signal, killGraceMs: 500 });
    while (!fake.requests.some((r) => r.route === 'anthropic.messages'))
      await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const { result, events } = await pending;
    expect(result).toMatchObject({ ok: false, error: { code: 'stopped' }, runs: 1 });
    expect(events.find((e) => e.type === 'run.ended')).toMatchObject({ outcome: 'stopped' });
    expectSettled(o);
  });

  it('should drop a task that is aborted while it waits for admission, and release a late admission', async () => {
    const o = await start({ limits: { claude: { maxConcurrent: 1 }, openai: { maxConcurrent: 0 } } });
    const holder = await o.spawnAgent({ estimatedTokens: 1_000, agentId: 'holder' });
    const controller = new AbortController();
    const pending = task(o, { agent: 'claude-code', waitMs: 60_000, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(o.stats().queued).toBe(1);
    controller.abort();
    const { result } = await pending;
    expect(result).toMatchObject({ ok: false, sessionId: null, runs: 0, error: { code: 'stopped' } });
    await holder.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expectSettled(o);
    expect(fake.requests).toEqual([]);
  });
});
