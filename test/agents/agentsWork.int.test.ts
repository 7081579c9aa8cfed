/**
 * Agents that do the work (issue 13), with the real claude and codex CLIs against the loopback
 * provider fake, through runAgentTask and a real orchestrator: tool calls that edit files under
 * each sandbox mode, refusals reported, usage counted while the agent streams, hard caps that stop
 * a runaway agent with at most one turn of overshoot, the budget stopping it the same way, and a
 * run longer than its lease that keeps its session and usage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAgentTask } from '../../src/agents';
import type { AgentTaskEvent, AgentTaskOptions, AgentTaskResult } from '../../src/agents';
import { createOrchestrator } from '../../src/orchestrator';
import type { Orchestrator, OrchestratorOptions } from '../../src/orchestrator';
import { editFileScript, fakeStep, runawayScript, startProviderApiFake, toolTurnScript } from '../../src/sandbox';
import type { FakeUsage, ProviderApiFake } from '../../src/sandbox';
import { agentBin } from '../helpers/cliHome';

// Test credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'AgentsWorkTestKey'}${'a'.repeat(60)}Aw1a`;
const OPENAI_KEY = `sk-proj-${'AgentsWorkTestKey'}${'b'.repeat(40)}Aw2b`;
const TURN: FakeUsage = { inputTokens: 1_000, outputTokens: 50 };
const TURN_TOKENS = TURN.inputTokens + TURN.outputTokens;
const CLIS = [
  { agent: 'claude-code', provider: 'claude' },
  { agent: 'codex', provider: 'openai' },
] as const;

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
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agents-work-')));
  tempDir = path.join(dir, 'homes');
  workdir = path.join(dir, 'work');
  fs.mkdirSync(tempDir);
  fs.mkdirSync(workdir);
});

afterEach(async () => {
  await orch?.stop();
  orch = undefined;
  await fake.close();
  expect(fs.readdirSync(tempDir)).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const text of outputs)
    for (const secret of [CLAUDE_KEY, OPENAI_KEY]) expect(text).not.toContain(secret.slice(12, 40));
  outputs.length = 0;
});

async function start(options: OrchestratorOptions = {}): Promise<Orchestrator> {
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
  return orch;
}

async function task(
  o: Orchestrator,
  options: Partial<AgentTaskOptions>,
): Promise<{ result: AgentTaskResult; events: AgentTaskEvent[] }> {
  const events: AgentTaskEvent[] = [];
  const result = await runAgentTask(o, {
    task: 'do the task',
    estimatedTokens: 20_000,
    cwd: workdir,
    tempDir,
    hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    onEvent: (e) => events.push(e),
    ...options,
  });
  outputs.push(JSON.stringify(result), JSON.stringify(events));
  return { result, events };
}

function modelRequests(): ReturnType<ProviderApiFake['requests']['filter']> {
  return fake.requests.filter((r) => r.route === 'anthropic.messages' || r.route === 'openai.responses');
}

describe.each(CLIS)('$agent doing real work', ({ agent, provider }) => {
  it('should edit a file under workspace-write, the default', async () => {
    fake.setScript(provider, editFileScript({ path: 'AGENT_WROTE.txt', content: 'written by the agent\n' }));
    const o = await start();
    const { result } = await task(o, { agent });
    expect(result).toMatchObject({
      ok: true,
      provider,
      agent,
      sandbox: 'workspace-write',
      permissionDenials: [],
      result: 'done',
    });
    expect(fs.readFileSync(path.join(workdir, 'AGENT_WROTE.txt'), 'utf8')).toBe('written by the agent\n');
    // Codex says in its own request which sandbox it runs in.
    if (provider === 'openai')
      expect(JSON.stringify(modelRequests()[0]?.body)).toContain('`sandbox_mode` is `workspace-write`');
    expect(o.stats().providers[provider]).toMatchObject({ used: result.usage.totalTokens, reserved: 0, active: 0 });
  });

  it('should refuse the edit under read-only and report the refusal', async () => {
    fake.setScript(provider, editFileScript({ path: 'AGENT_WROTE.txt', content: 'written by the agent\n' }));
    const o = await start();
    const { result } = await task(o, { agent, sandbox: 'read-only' });
    expect(fs.existsSync(path.join(workdir, 'AGENT_WROTE.txt'))).toBe(false);
    expect(result).toMatchObject({ ok: true, sandbox: 'read-only' });
    expect(result.permissionDenials).toEqual([
      {
        tool: agent === 'claude-code' ? 'Write' : 'apply_patch',
        target: agent === 'claude-code' ? path.join(workdir, 'AGENT_WROTE.txt') : null,
      },
    ]);
    if (agent === 'codex') {
      // Codex says in its own request which sandbox it runs in.
      const text = JSON.stringify(modelRequests()[0]?.body);
      expect(text).toContain('`sandbox_mode` is `read-only`');
    }
  });

  it('should run a command that writes under the working directory, and not outside it, under workspace-write', async () => {
    const outside = path.join(dir, 'outside.txt');
    fake.setScript(
      provider,
      toolTurnScript([
        fakeStep.toolCall({ kind: 'shell', command: `echo in > inside.txt; echo out > ${outside}` }),
        fakeStep.reply({ text: 'done' }),
      ]),
    );
    const o = await start();
    const { result } = await task(o, { agent });
    expect(result).toMatchObject({ ok: true, sandbox: 'workspace-write' });
    expect(fs.readFileSync(path.join(workdir, 'inside.txt'), 'utf8')).toBe('in\n');
    expect(fs.existsSync(outside)).toBe(false);
  });

  it('should count usage while the agent runs, before it ends', async () => {
    // Three tool turns, then the answer: the budget sees the turns as they happen.
    fake.setScript(
      provider,
      toolTurnScript([
        ...Array.from({ length: 3 }, () =>
          fakeStep.toolCall({ kind: 'shell', command: 'true' }, { usage: TURN, delayMs: 400 }),
        ),
        fakeStep.reply({ text: 'done', usage: TURN, delayMs: 400 }),
      ]),
    );
    const o = await start();
    const usedWhileRunning: number[] = [];
    const events: AgentTaskEvent[] = [];
    const { result } = await task(o, {
      agent,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'usage') usedWhileRunning.push(o.stats().providers[provider].used);
      },
    });
    expect(result.ok).toBe(true);
    expect(result.usage.totalTokens).toBe(4 * TURN_TOKENS);
    const runEnded = events.findIndex((e) => e.type === 'run.ended');
    const usageBeforeEnd = events.slice(0, runEnded).filter((e) => e.type === 'usage');
    // Claude Code streams every message; Codex's rollout is read every 200 ms: at least the first turns arrive before the end.
    expect(usageBeforeEnd.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...usedWhileRunning.slice(0, usageBeforeEnd.length))).toBeGreaterThanOrEqual(2 * TURN.inputTokens);
    expect(o.stats().providers[provider]).toMatchObject({ used: 4 * TURN_TOKENS, reserved: 0 });
  });

  it('should stop a runaway agent once the task passes maxTokens, with at most one turn of overshoot, and count the real usage', async () => {
    fake.setScript(provider, runawayScript({ usagePerTurn: TURN }));
    const o = await start();
    const maxTokens = 5_500;
    const { result } = await task(o, { agent, maxTokens, estimatedTokens: 20_000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'token-limit' } });
    expect(result.usage.totalTokens).toBeGreaterThan(maxTokens);
    expect(result.usage.totalTokens - maxTokens).toBeLessThanOrEqual(TURN_TOKENS);
    // The ledger counted exactly what the task reports, and nothing stays reserved.
    expect(o.stats().providers[provider]).toMatchObject({ used: result.usage.totalTokens, reserved: 0, active: 0 });
    // The agent's process group is gone (no process with the run's tag survives).
    const agentRequests = modelRequests().length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(modelRequests().length).toBe(agentRequests);
  });

  it('should stop the agent with quota-exhausted when the budget cannot cover its usage, and settle what it used', async () => {
    fake.setScript(provider, runawayScript({ usagePerTurn: TURN }));
    const limit = 6_000;
    const o = await start({ limits: { [provider]: { dailyLimit: limit } } });
    const { result } = await task(o, { agent, estimatedTokens: 2_000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'quota-exhausted' } });
    const stats = o.stats().providers[provider];
    expect(stats).toMatchObject({ reserved: 0, active: 0 });
    expect(stats.used).toBe(result.usage.totalTokens);
    // Real usage is never dropped: at most one turn beyond the daily limit, recorded as overrun.
    expect(stats.used - limit).toBeLessThanOrEqual(TURN_TOKENS);
  });
});

describe('a run longer than its lease', () => {
  it('should keep its session while the agent process lives and count all of its usage', async () => {
    // Each answer takes longer than the whole lease; the sweep runs every 100 ms.
    fake.setScript(
      'claude',
      toolTurnScript([
        fakeStep.toolCall({ kind: 'shell', command: 'true' }, { usage: TURN, delayMs: 1_500 }),
        fakeStep.reply({ text: 'done', usage: TURN, delayMs: 1_500 }),
      ]),
    );
    const o = await start({ leaseMs: 900, sweepIntervalMs: 100 });
    const { result } = await task(o, { agent: 'claude-code' });
    expect(result).toMatchObject({ ok: true, usage: { totalTokens: 2 * TURN_TOKENS } });
    expect(o.stats().providers.claude).toMatchObject({ used: 2 * TURN_TOKENS, reserved: 0, active: 0 });
    expect(o.stats().activity.released.expired ?? 0).toBe(0);
  });
});
