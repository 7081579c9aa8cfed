/**
 * `agentvisor run` end to end: the CLI (from source) reads credentials from the env, admits the task,
 * runs the real claude / codex CLIs against the loopback provider fake, falls back between them and
 * prints the result object (architecture §6) as the last stdout line with --json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { agentBin } from '../helpers/cliHome';
import { makeBatchWorkspace } from '../helpers/batchCli';
import type { BatchWorkspace, CliEnd } from '../helpers/batchCli';

// Test keys only: well-formed, never real. Every one is checked against every output.
const CLAUDE_KEY = `sk-ant-api03-${'CliRunTestKey'}${'r'.repeat(60)}Cr1a`;
const OPENAI_KEY = `sk-proj-${'CliRunTestKey'}${'s'.repeat(40)}Cr2b`;
const WRONG_CLAUDE_KEY = `sk-ant-api03-${'CliRunWrongKey'}${'w'.repeat(60)}Cr3c`;
const WRONG_OPENAI_KEY = `sk-proj-${'CliRunWrongKey'}${'x'.repeat(40)}Cr4d`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY, WRONG_CLAUDE_KEY, WRONG_OPENAI_KEY];

let fake: ProviderApiFake;
let ws: BatchWorkspace;

beforeAll(() => {
  agentBin('claude');
  agentBin('codex');
});

beforeEach(async () => {
  fake = await startProviderApiFake({
    keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY },
    script: { openai: fakeStep.reply({ text: 'pong from codex', usage: { inputTokens: 12, outputTokens: 3 } }) },
  });
  ws = makeBatchWorkspace(fake, 'cli-run-');
});

afterEach(async () => {
  await fake.close();
  ws.cleanup();
  for (const text of ws.outputs) {
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(10, 40));
    }
  }
});

/** Runs the CLI from source with exactly `env` on top of the workspace's (no keys unless given), without blocking this process. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliEnd> {
  return ws.cli(args, {}, env).done;
}

const KEYS = { ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_API_KEY: OPENAI_KEY };

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('agentvisor run', () => {
  it('should fall back from a 529 on Claude Code to Codex and print the result object as the last stdout line', async () => {
    fake.setScript('claude', fakeStep.error('overloaded'));
    const { status, stdout, stderr } = await cli(
      ['--json', 'run', '--agent', 'claude', '--estimate', '20000', 'say', 'pong'],
      KEYS,
    );
    expect(status).toBe(0);
    expect(lastJson(stdout)).toEqual({
      ok: true,
      agentId: expect.stringMatching(/^task-/),
      provider: 'openai',
      agent: 'codex',
      sessionId: expect.any(String),
      usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
      result: 'pong from codex',
      runs: 2,
      durationMs: expect.any(Number),
      sandbox: 'workspace-write',
      permissionDenials: [],
    });
    // Only the result on stdout; progress on stderr.
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('claude failed (overloaded), falling back to openai');
    const models = fake.requests.filter((r) => r.route === 'anthropic.messages' || r.route === 'openai.responses');
    expect(models.map((r) => [r.route, r.answer?.status])).toEqual([
      ['anthropic.messages', 529],
      ['openai.responses', 200],
    ]);
    // The task text reached the agent as one argument.
    expect(JSON.stringify(models[0]?.body)).toContain('say pong');
  });

  it('should print the answer on stdout and a summary on stderr for people', async () => {
    const { status, stdout, stderr } = await cli(['run', '--agent', 'claude', 'say', 'pong'], KEYS);
    expect(status).toBe(0);
    expect(stdout).toBe('pong\n');
    expect(stderr).toMatch(/done on claude with claude-code: 15 tokens \(10 in, 5 out\); no fallback/);
    expect(fake.requests.find((r) => r.route === 'anthropic.messages')?.auth.credential?.reveal()).toBe(CLAUDE_KEY);
  });

  it('should exit 1 with no-provider and a message naming both refusals when both providers answer 401', async () => {
    const { status, stdout, stderr } = await cli(['--json', 'run', 'say', 'pong'], {
      ANTHROPIC_API_KEY: WRONG_CLAUDE_KEY,
      OPENAI_API_KEY: WRONG_OPENAI_KEY,
    });
    expect(status).toBe(1);
    const result = lastJson(stdout);
    expect(result).toMatchObject({
      ok: false,
      result: null,
      runs: 2,
      usage: { totalTokens: 0 },
      error: { code: 'no-provider' },
    });
    const message = (result.error as { message: string }).message;
    expect(message).toMatch(/on claude: auth \(401\) Invalid API key/);
    expect(message).toMatch(/on openai: auth \(401\) unexpected status 401 Unauthorized/);
    expect(stderr).toContain('[no-provider]');
    expect(fake.requests.filter((r) => r.route !== 'probe').map((r) => r.answer?.status)).toEqual([401, 401]);
  });

  it('should say that no agent started and what to do when no provider has credentials', async () => {
    const { status, stderr } = await cli(['run', 'say', 'pong']);
    expect(status).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines.at(-2)).toMatch(/^agentvisor: failed before any agent started: 0 tokens .*; no fallback; /);
    expect(lines.at(-1)).toMatch(/no usable OpenAI credentials \(looked at: .*OPENAI_API_KEY.*\)/);
    expect(lines.at(-1)).toMatch(/Set OPENAI_API_KEY .*agentvisor login openai --api-key -.* \[auth-failed\]$/);
    expect(fake.requests).toEqual([]);
  });

  it('should say why the ledger cannot be used, and what to check, when the home is a file', async () => {
    const notAFolder = path.join(ws.dir, 'home-file');
    fs.writeFileSync(notAFolder, 'x');
    const { status, stderr } = await cli(['--home', notAFolder, 'run', 'say', 'pong'], KEYS);
    expect(status).toBe(1);
    const last = stderr.trim().split('\n').at(-1);
    expect(last).toMatch(/ledger .*\(.*ENOTDIR.*\)/);
    expect(last).toMatch(/check .*--home/);
    expect(last).toMatch(/\[ledger-unavailable\]$/);
    expect(fake.requests).toEqual([]);
  });

  it('should exit 1 with agent-not-found when the agent binary is missing', async () => {
    const { status, stderr } = await cli(['run', '--agent', 'codex', 'say', 'pong'], {
      ...KEYS,
      AGENTVISOR_CODEX_BIN: path.join(ws.dir, 'missing-codex'),
    });
    expect(status).toBe(1);
    expect(stderr).toMatch(
      /AGENTVISOR_CODEX_BIN names ".*missing-codex", which is not an executable file: fix the path or unset AGENTVISOR_CODEX_BIN \[agent-not-found\]/,
    );
    expect(fake.requests).toEqual([]);
  });

  it('should refuse a bad --estimate with exit 2 before running anything', async () => {
    const { status, stderr } = await cli(['run', '--estimate', '0', 'say', 'pong'], KEYS);
    expect(status).toBe(2);
    expect(stderr).toContain('expected a whole number from 1 to 1000000000');
    expect(fake.requests).toEqual([]);
  });

  it('should refuse an empty --cwd (an unset shell variable) with exit 2 rather than run in the current folder', async () => {
    const marker = path.join(ws.dir, 'agent-started');
    const agent = path.join(ws.dir, 'fake-claude.sh');
    fs.writeFileSync(agent, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const { status, stderr } = await cli(['run', '--agent', 'claude-code', '--cwd', '', 'say', 'pong'], {
      ...KEYS,
      AGENTVISOR_CLAUDE_BIN: agent,
    });
    expect(status).toBe(2);
    expect(stderr).toContain('--cwd is empty: give the project folder the agent should work in [invalid-option]');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it.each([
    ['an empty task', [''], 'the task is empty'],
    ['a task of blanks', ['  ', ' '], 'the task is empty'],
    // 20 words of 10 KB: each fits in one argument, joined they do not.
    ['a task longer than one argument may be', Array.from({ length: 20 }, () => 'w'.repeat(10_000)), 'bytes'],
  ])('should refuse %s with exit 2 before anything is admitted or started', async (_name, words, message) => {
    const marker = path.join(ws.dir, 'agent-started');
    const agent = path.join(ws.dir, 'fake-claude.sh');
    fs.writeFileSync(agent, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const { status, stderr } = await cli(['run', '--agent', 'claude-code', '--', ...words], {
      ...KEYS,
      AGENTVISOR_CLAUDE_BIN: agent,
    });
    expect(status).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('[invalid-option]');
    expect(stderr).not.toContain('admitted');
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, '.codex', 'agentvisor', 'ledger.json'))).toBe(false);
  });
});
