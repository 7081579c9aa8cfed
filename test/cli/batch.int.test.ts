/**
 * `agentvisor batch` end to end with the real claude / codex CLIs against the loopback provider fake:
 * the provider's concurrency limit holds across the batch (measured independently, by a wrapper
 * around claude that logs when each process starts and stops), output per mode, bad input, and
 * Ctrl-C (stop admission, stop the agents, release, print what ran).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { agentBin } from '../helpers/cliHome';
import { makeBatchWorkspace } from '../helpers/batchCli';
import type { BatchWorkspace, CliRun } from '../helpers/batchCli';

// Test keys only: well-formed, never real. Every one is checked against every output.
const CLAUDE_KEY = `sk-ant-api03-${'CliBatchTestKey'}${'b'.repeat(60)}Cb1a`;
const OPENAI_KEY = `sk-proj-${'CliBatchTestKey'}${'c'.repeat(40)}Cb2b`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY];

let fake: ProviderApiFake;
let ws: BatchWorkspace;
let processLog: string;
let claudeWrapper: string;

beforeAll(() => {
  agentBin('codex');
});

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  ws = makeBatchWorkspace(fake);
  processLog = path.join(ws.dir, 'claude-processes.log');
  // Logs `start|stop <pid> <ns>` around the real claude; its pid is the process group agentvisor stops.
  claudeWrapper = path.join(ws.dir, 'claude-wrapper.sh');
  fs.writeFileSync(
    claudeWrapper,
    `#!/bin/sh\necho "start $$ $(date +%s%N)" >> '${processLog}'\n'${agentBin('claude')}' "$@"\n` +
      `rc=$?\necho "stop $$ $(date +%s%N)" >> '${processLog}'\nexit $rc\n`,
    { mode: 0o700 },
  );
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

/** Starts the CLI from source with both keys and the claude wrapper, without blocking this process (the fake answers from here). */
function cli(args: string[]): CliRun {
  return ws.cli(args, { claude: CLAUDE_KEY, openai: OPENAI_KEY }, { AGENTVISOR_CLAUDE_BIN: claudeWrapper });
}

function writeTasks(lines: readonly unknown[]): string {
  return ws.writeTasks(lines);
}

interface ProcessEvent {
  readonly kind: 'start' | 'stop';
  readonly pid: number;
  readonly at: bigint;
}

function processEvents(): ProcessEvent[] {
  if (!fs.existsSync(processLog)) return [];
  return fs
    .readFileSync(processLog, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [kind, pid, at] = line.split(' ');
      return { kind: kind as 'start' | 'stop', pid: Number(pid), at: BigInt(at!) };
    });
}

/** The most claude processes alive at once, from the wrapper's own timestamps. */
function maxAlive(events: readonly ProcessEvent[]): number {
  const sorted = [...events].sort((a, b) => (a.at === b.at ? (a.kind === 'stop' ? -1 : 1) : a.at < b.at ? -1 : 1));
  let alive = 0;
  let max = 0;
  for (const e of sorted) {
    alive += e.kind === 'start' ? 1 : -1;
    max = Math.max(max, alive);
  }
  return max;
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('agentvisor batch', () => {
  it('should never have more than 3 claude processes alive with Claude concurrency 3, over 12 tasks', async () => {
    fake.setScript('claude', fakeStep.reply({ delayMs: 400, usage: { inputTokens: 10, outputTokens: 5 } }));
    const file = writeTasks(
      Array.from({ length: 12 }, (_, i) => ({
        id: `t${i + 1}`,
        task: `task number ${i + 1}`,
        agent: 'claude',
        estimate: 10_000,
      })),
    );
    // The hard limit, without adaptive concurrency (which would start at 1 of 3 and grow).
    const { done } = cli([
      '--json',
      'batch',
      file,
      '--concurrency',
      '6',
      '--max-concurrent',
      'claude=3',
      '--no-adaptive',
    ]);
    const { status, stdout, stderr } = await done;
    if (status !== 0) console.log(stdout, stderr);
    expect(status).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines).toHaveLength(13);
    const tasks = lines.slice(0, 12);
    expect(tasks.map((t) => t.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `t${i + 1}`).sort());
    for (const t of tasks)
      expect(t).toMatchObject({
        ok: true,
        provider: 'claude',
        agent: 'claude-code',
        result: 'pong',
        usage: { totalTokens: 15 },
        fallbacks: [],
      });
    expect(lines[12]).toMatchObject({
      ok: true,
      interrupted: false,
      total: 12,
      counts: { succeeded: 12, failed: 0, stopped: 0, notStarted: 0 },
      usage: { inputTokens: 120, outputTokens: 60, totalTokens: 180 },
      providers: {
        claude: { tasks: 12, tokens: 180, maxRunning: 3, maxConcurrent: 3, reserved: 0, active: 0 },
        openai: { tasks: 0, tokens: 0, reserved: 0, active: 0 },
      },
    });
    // Measured independently of agentvisor: 12 claude processes ran, never more than 3 at once (and 3 did overlap).
    const events = processEvents();
    expect(events.filter((e) => e.kind === 'start')).toHaveLength(12);
    expect(events.filter((e) => e.kind === 'stop')).toHaveLength(12);
    expect(maxAlive(events)).toBe(3);
    expect(fake.requests.filter((r) => r.route === 'anthropic.messages')).toHaveLength(12);
  }, 90_000);

  it('should print a JSON line per task when not on a terminal, then the summary tables', async () => {
    fake.setScript('claude', fakeStep.error('overloaded'));
    const file = writeTasks([
      { id: 'a', task: 'first', agent: 'claude' },
      '',
      { id: 'b', task: 'second', agent: 'codex', estimate: 5000 },
    ]);
    const { status, stdout, stderr } = await cli(['batch', file, '--concurrency', '2']).done;
    if (status !== 0) console.log(stdout, stderr);
    expect(status).toBe(0);
    const [first, second, ...rest] = stdout.trim().split('\n');
    const results = [JSON.parse(first!), JSON.parse(second!)] as Record<string, unknown>[];
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    expect(byId.a).toMatchObject({
      ok: true,
      provider: 'openai',
      agent: 'codex',
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
    });
    expect(byId.b).toMatchObject({ ok: true, provider: 'openai', agent: 'codex', fallbacks: [] });
    const table = rest.join('\n');
    expect(table).toMatch(/task\s+status\s+agents\s+tokens\s+fallbacks\s+seconds/);
    expect(table).toMatch(/a\s+ok\s+claude-code→codex\s+15\s+1/);
    expect(table).toMatch(/provider\s+tasks\s+tokens\s+fallbacks\s+max running\s+limit/);
    expect(table).toMatch(/claude\s+0\s+0\s+1\s+1\s+10/);
    expect(table).toContain('2 tasks: 2 succeeded, 0 failed, 0 stopped, 0 not started; 30 tokens; 1 fallbacks');
  });

  it('should refuse a tasks file with a bad line, naming the line, before running anything', async () => {
    const file = writeTasks([
      { id: 'a', task: 'ok' },
      { id: 'b', task: '' },
    ]);
    const { status, stdout, stderr } = await cli(['batch', file]).done;
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`agentvisor: ${file} line 2: "task" must be a non-empty string [invalid-option]\n`);
    expect(fake.requests).toEqual([]);
  });

  it.each([
    ['Ctrl-C', 'SIGINT', 130],
    ['SIGHUP', 'SIGHUP', 129],
  ] as const)(
    'should on %s stop admission, stop the running agents, release everything and print what ran',
    async (_name, signal, exitCode) => {
      fake.setScript('claude', fakeStep.reply({ delayMs: 60_000 }));
      const file = writeTasks(
        Array.from({ length: 6 }, (_, i) => ({
          id: `s${i + 1}`,
          task: `slow task ${i + 1}`,
          agent: 'claude',
          estimate: 10_000,
        })),
      );
      const run = cli(['--json', 'batch', file, '--concurrency', '3', '--max-concurrent', 'claude=2', '--no-adaptive']);
      const deadline = Date.now() + 30_000;
      while (fake.requests.filter((r) => r.route === 'anthropic.messages').length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fake.requests.filter((r) => r.route === 'anthropic.messages')).toHaveLength(2);
      const interruptedAt = Date.now();
      process.kill(run.pid, signal);
      const { status, stdout, stderr } = await run.done;
      expect(Date.now() - interruptedAt).toBeLessThan(10_000);
      expect(status).toBe(exitCode);
      const lines = jsonLines(stdout);
      const summary = lines.at(-1)!;
      expect(summary).toMatchObject({
        ok: false,
        interrupted: true,
        total: 6,
        // Two were running and one waited for a claude slot: all three stopped; three never started.
        counts: { succeeded: 0, failed: 0, stopped: 3, notStarted: 3 },
        notStartedIds: ['s4', 's5', 's6'],
        providers: { claude: { reserved: 0, active: 0, maxRunning: 2 }, openai: { reserved: 0, active: 0 } },
      });
      const stopped = lines.slice(0, -1);
      expect(stopped.map((l) => [l.id, l.ok, (l.error as { code: string }).code]).sort()).toEqual([
        ['s1', false, 'stopped'],
        ['s2', false, 'stopped'],
        ['s3', false, 'stopped'],
      ]);
      expect(stderr).toContain('interrupted: 0 tasks finished, 3 stopped, 3 not started');
      // The agents' process groups are gone.
      const started = processEvents().filter((e) => e.kind === 'start');
      expect(started).toHaveLength(2);
      for (const e of started) expect(isAlive(e.pid)).toBe(false);
    },
    60_000,
  );
});
