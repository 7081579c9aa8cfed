/**
 * `agentvisor run` and `batch` with agents that work (issue 13), end to end from the CLI (from
 * source) with the real Claude Code against the loopback fake: the README's run example changes the
 * file it names, a worktree batch leaves one branch per task and the main checkout untouched,
 * `agentvisor quota` in a second process sees a run's tokens while it runs, SIGTERM stops
 * everything and leaves no reservation, and after kill -9 no agent process survives and the next
 * start removes the agent's home.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fakeStep, runawayScript, SIDE_REQUEST_ALLOW, startProviderApiFake, toolTurnScript } from '../../src/sandbox';
import type { FakeModelRequest, FakeStep, ProviderApiFake } from '../../src/sandbox';
import { jsonLines, makeBatchWorkspace, waitFor } from '../helpers/batchCli';
import type { BatchWorkspace, CliRun } from '../helpers/batchCli';
import { agentBin } from '../helpers/cliHome';

// Test key only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'CliAgentsWorkKey'}${'k'.repeat(60)}Ck1a`;
const TURN = { inputTokens: 1_000, outputTokens: 50 };

let fake: ProviderApiFake;
let ws: BatchWorkspace;
let tmp: string;
const running: CliRun[] = [];

beforeAll(() => {
  agentBin('claude');
});

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY } });
  ws = makeBatchWorkspace(fake, 'cli-agents-work-');
  tmp = path.join(ws.dir, 'tmp');
  fs.mkdirSync(tmp);
});

afterEach(async () => {
  for (const run of running.splice(0)) {
    try {
      process.kill(run.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await run.done;
  }
  await fake.close();
  ws.cleanup();
  for (const text of ws.outputs) expect(text).not.toContain(CLAUDE_KEY.slice(12, 40));
  // A run killed above takes its agents with it within the grace period.
  await waitFor(() => processesHolding(CLAUDE_KEY).length === 0, 5_000, 'no agent process left');
});

interface QuotaRow {
  readonly provider: string;
  readonly used: number;
  readonly reserved: number;
  readonly active: number;
}

/** `agentvisor --json quota` in a process of its own, on the same home: Claude's row. */
function claudeQuota(): QuotaRow {
  const root = path.join(__dirname, '..', '..');
  const out = execFileSync(
    process.execPath,
    [
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      path.join(root, 'src', 'cli', 'main.ts'),
      '--json',
      'quota',
    ],
    {
      cwd: ws.work,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: ws.dir,
        CODEX_HOME: path.join(ws.dir, '.codex'),
        TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
      },
    },
  );
  const quota = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { providers: QuotaRow[] };
  const row = quota.providers.find((p) => p.provider === 'claude');
  if (row === undefined) throw new Error(`no claude row in ${out}`);
  return row;
}

/** Starts the CLI with the test key, agent homes in the workspace's own temp folder. */
function cli(args: readonly string[]): CliRun {
  const run = ws.cli(args, { claude: CLAUDE_KEY }, { TMPDIR: tmp });
  running.push(run);
  return run;
}

/** Pids of live processes whose environment holds `secret` (agents that outlived their supervisor). */
function processesHolding(secret: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').includes(secret)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function git(args: readonly string[], cwd = ws.work): string {
  return execFileSync('git', [...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.dir, GIT_CONFIG_NOSYSTEM: '1' },
  });
}

function initRepo(): void {
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Test']);
  git(['config', 'user.email', 'test@example.com']);
  fs.writeFileSync(path.join(ws.work, 'README.md'), '# project\n');
  git(['add', '-A']);
  git(['commit', '-q', '-m', 'initial']);
}

/** Each task writes the file its text names ("write <name>"), then answers. */
function writeNamedFileScript(request: FakeModelRequest): FakeStep {
  if (request.tools.length === 0) return SIDE_REQUEST_ALLOW;
  const name = /write ([\w.-]+\.txt)/.exec(request.text)?.[1] ?? 'unknown.txt';
  if (request.toolResults === 0)
    return fakeStep.toolCall({ kind: 'write', path: name, content: `${name} by its agent\n` }, { usage: TURN });
  return fakeStep.reply({ text: `wrote ${name}`, usage: TURN });
}

describe('agentvisor run with an agent that edits', () => {
  it("should really change the file the README's example names, and say the sandbox in its first line", async () => {
    fake.setScript('claude', writeNamedFileScript);
    const end = await cli(['--json', 'run', '--agent', 'claude', 'write', 'CHANGES.txt']).done;
    expect(end.status).toBe(0);
    expect(fs.readFileSync(path.join(ws.work, 'CHANGES.txt'), 'utf8')).toBe('CHANGES.txt by its agent\n');
    const result = jsonLines(end.stdout).pop();
    expect(result).toMatchObject({ ok: true, sandbox: 'workspace-write', permissionDenials: [] });
    expect(end.stderr.split('\n')[0]).toBe(
      `agentvisor: sandbox workspace-write: the agent may edit files under ${ws.work} and run commands there`,
    );
  });

  it('should report refused edits under --sandbox read-only and not call the run a plain success', async () => {
    fake.setScript('claude', writeNamedFileScript);
    const end = await cli(['run', '--sandbox', 'read-only', 'write', 'CHANGES.txt']).done;
    expect(end.status).toBe(0);
    expect(fs.existsSync(path.join(ws.work, 'CHANGES.txt'))).toBe(false);
    expect(end.stderr).toContain('agentvisor: done, but 1 tool call was refused on claude');
    expect(end.stderr).toContain(
      `1 tool call was refused by the read-only sandbox (Write ${path.join(ws.work, 'CHANGES.txt')})`,
    );
  });

  it('should stop a runaway agent at --max-tokens with exit 1 and token-limit, at most one turn over the cap', async () => {
    fake.setScript('claude', runawayScript({ usagePerTurn: TURN, sideReply: SIDE_REQUEST_ALLOW }));
    const end = await cli(['--json', 'run', '--agent', 'claude', '--max-tokens', '4000', 'loop', 'forever']).done;
    expect(end.status).toBe(1);
    const result = jsonLines(end.stdout).pop() as {
      ok: boolean;
      error: { code: string };
      usage: { totalTokens: number };
    };
    expect(result).toMatchObject({ ok: false, error: { code: 'token-limit' } });
    expect(result.usage.totalTokens).toBeGreaterThan(4000);
    expect(result.usage.totalTokens - 4000).toBeLessThanOrEqual(TURN.inputTokens + TURN.outputTokens);
    expect(end.stderr).toContain('[token-limit]');
  });

  it('should refuse an unknown sandbox mode with exit 2', async () => {
    const end = await cli(['run', '--sandbox', 'everything', 'x']).done;
    expect(end.status).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('agentvisor batch --worktree', () => {
  it('should leave one branch per task with its commit, remove the worktrees and never touch the main checkout', async () => {
    initRepo();
    fake.setScript('claude', writeNamedFileScript);
    const head = git(['rev-parse', 'HEAD']).trim();
    const tasks = ws.writeTasks(
      ['a', 'b', 'c'].map((id) => ({ id: `t-${id}`, task: `write ${id}.txt\nthen stop`, agent: 'claude' })),
      'tasks.jsonl',
    );
    fs.renameSync(tasks, path.join(ws.dir, 'tasks.jsonl'));
    const end = await cli([
      '--json',
      'batch',
      path.join(ws.dir, 'tasks.jsonl'),
      '--worktree',
      '--concurrency',
      '3',
      '--no-journal',
    ]).done;
    expect(end.status).toBe(0);
    const lines = jsonLines(end.stdout);
    const results = lines.slice(0, -1);
    expect(results).toHaveLength(3);
    for (const id of ['a', 'b', 'c']) {
      const result = results.find((r) => r.agentId === `t-${id}`);
      expect(result).toMatchObject({
        ok: true,
        worktree: { branch: `agentvisor/t-${id}`, filesChanged: [`${id}.txt`] },
      });
      expect(git(['log', '-1', '--format=%s', `agentvisor/t-${id}`]).trim()).toBe(
        `agentvisor: t-${id}: write ${id}.txt`,
      );
      expect(git(['show', `agentvisor/t-${id}:${id}.txt`])).toBe(`${id}.txt by its agent\n`);
      expect(fs.existsSync(path.join(ws.work, `${id}.txt`))).toBe(false);
    }
    expect(git(['rev-parse', 'HEAD']).trim()).toBe(head);
    expect(git(['status', '--porcelain'])).toBe('');
    expect(git(['worktree', 'list', '--porcelain']).match(/^worktree /gm)).toHaveLength(1);
  });

  it('should refuse a dirty checkout with exit 2 before any agent starts, creating nothing', async () => {
    initRepo();
    fs.writeFileSync(path.join(ws.work, 'README.md'), '# edited by hand\n');
    const file = ws.writeTasks([{ id: 't1', task: 'write a.txt', agent: 'claude' }]);
    const end = await cli(['batch', file, '--worktree', '--no-journal']).done;
    expect(end.status).toBe(2);
    expect(end.stderr).toContain('[invalid-workspace]');
    expect(fake.requests).toHaveLength(0);
    expect(git(['branch', '--list', 'agentvisor/*'])).toBe('');
  });
});

describe('agentvisor run while it runs and when it is stopped', () => {
  it('should show the tokens of a run that is still going to agentvisor quota in another process, within one sync interval', async () => {
    // A runaway agent whose answers take 300 ms: it is still going when quota is asked.
    fake.setScript(
      'claude',
      toolTurnScript([fakeStep.toolCall({ kind: 'shell', command: 'true' }, { usage: TURN, delayMs: 300 })]),
    );
    const run = cli(['--json', 'run', '--agent', 'claude', 'loop', 'forever']);
    await waitFor(
      () => fake.requests.filter((r) => r.route === 'anthropic.messages').length >= 3,
      60_000,
      'three model requests',
    );
    // Two turns were answered (and streamed) at least a second ago: the file ledger has them.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const quota = claudeQuota();
    expect(run.output()).not.toContain('"ok"');
    expect(quota.active).toBe(1);
    expect(quota.used).toBeGreaterThanOrEqual(2 * TURN.inputTokens);
    process.kill(run.pid, 'SIGTERM');
    expect((await run.done).status).toBe(143);
  });

  it('should stop the agent on SIGTERM, exit 143, settle every streamed token and leave no reservation, home or process', async () => {
    fake.setScript('claude', runawayScript({ usagePerTurn: TURN, sideReply: SIDE_REQUEST_ALLOW }));
    const run = cli(['--json', 'run', '--agent', 'claude', 'loop', 'forever']);
    await waitFor(
      () => fake.requests.filter((r) => r.route === 'anthropic.messages').length >= 3,
      60_000,
      'three model requests',
    );
    expect(claudeQuota().active).toBe(1);
    process.kill(run.pid, 'SIGTERM');
    const end = await run.done;
    expect(end.status).toBe(143);
    const result = jsonLines(end.stdout).pop();
    expect(result).toMatchObject({ ok: false, error: { code: 'stopped' } });
    expect(processesHolding(CLAUDE_KEY)).toEqual([]);
    expect(fs.readdirSync(tmp).filter((name) => name.startsWith('agentvisor-agent-'))).toEqual([]);
    // Settled: nothing reserved, no session open, every streamed token counted.
    const after = claudeQuota();
    expect(after).toMatchObject({ reserved: 0, active: 0 });
    expect(after.used).toBe((result as { usage: { totalTokens: number } }).usage.totalTokens);
  });

  it('should leave no agent process after kill -9, and the next start removes the home it left', async () => {
    fake.setScript('claude', runawayScript({ usagePerTurn: TURN, sideReply: SIDE_REQUEST_ALLOW }));
    const run = cli(['run', '--agent', 'claude', 'loop', 'forever']);
    await waitFor(
      () => fake.requests.filter((r) => r.route === 'anthropic.messages').length >= 2,
      60_000,
      'two model requests',
    );
    expect(processesHolding(CLAUDE_KEY).length).toBeGreaterThan(1);
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    await waitFor(
      () => processesHolding(CLAUDE_KEY).length === 0,
      5_000,
      'the agent processes to die with their parent',
    );
    const left = fs.readdirSync(tmp).filter((name) => name.startsWith('agentvisor-agent-'));
    expect(left).toHaveLength(1);
    fake.setScript('claude', fakeStep.reply({ text: 'pong', usage: TURN }));
    const next = await cli(['run', '--agent', 'claude', 'say', 'pong']).done;
    expect(next.status).toBe(0);
    expect(next.stderr).toContain('removed 1 agent home folder(s) left by agentvisor processes that were killed');
    expect(fs.readdirSync(tmp).filter((name) => name.startsWith('agentvisor-agent-'))).toEqual([]);
  });
});
