/**
 * Rate-limit-aware fan-out end to end: `agentvisor batch` with the real Claude Code CLI against the
 * loopback provider fake. Server-side throttling (a 429 "not your usage limit" whenever more than 3
 * requests are in flight) makes the adaptive limit converge instead of hammering, throttled tasks
 * are requeued, not failed; a usage limit pauses Claude until its reset (nothing is sent meanwhile)
 * or stops the batch when the reset is too far; a killed batch resumes from its journal without
 * running finished tasks again.
 */
import fs from 'node:fs';
import { fakeStep, startProviderApiFake, throttlingScript } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { jsonLines, makeBatchWorkspace, messagesFor, waitFor } from '../helpers/batchCli';
import type { BatchWorkspace } from '../helpers/batchCli';
import { agentBin } from '../helpers/cliHome';

// Test keys only: well-formed, never real. Every one is checked against every output.
const CLAUDE_KEY = `sk-ant-api03-${'RateLimitTestKey'}${'r'.repeat(60)}Rl1a`;
const SECRETS = [CLAUDE_KEY];

let fake: ProviderApiFake;
let ws: BatchWorkspace;

beforeAll(() => {
  agentBin('claude');
});

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY } });
  ws = makeBatchWorkspace(fake, 'cli-batch-limits-');
});

afterEach(async () => {
  await fake.close();
  for (const text of ws.outputs) {
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(12, 40));
    }
  }
  ws.cleanup();
});

const claudeTasks = (n: number, prefix = 't') =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${String(i + 1).padStart(2, '0')}`,
    task: `do task ${prefix}${String(i + 1).padStart(2, '0')} now`,
    agent: 'claude',
    estimate: 10_000,
  }));

const answers = (status: number) =>
  fake.requests.filter((r) => r.route === 'anthropic.messages' && r.answer?.status === status);

describe('agentvisor batch: rate-limit-aware fan-out', () => {
  it(
    'should converge on a provider that throttles above 3 requests in flight: ' +
      '12 tasks with --concurrency 8 all succeed on Claude, with few 429s',
    async () => {
      fake.setScript(
        'claude',
        throttlingScript({
          maxInFlight: 3,
          reply: fakeStep.reply({ delayMs: 400, usage: { inputTokens: 10, outputTokens: 5 } }),
        }),
      );
      const file = ws.writeTasks(claudeTasks(12));
      const started = Date.now();
      const { status, stdout, stderr } = await ws.cli(['--json', 'batch', file, '--concurrency', '8'], {
        claude: CLAUDE_KEY,
      }).done;
      const throttled = answers(429).length;
      const modelRequests = fake.requests.filter((r) => r.route === 'anthropic.messages').length;
      console.log(
        `throttle convergence: ${throttled} 429s of ${modelRequests} model requests, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      if (status !== 0) console.log(stdout, stderr);
      expect(status).toBe(0);
      const lines = jsonLines(stdout);
      expect(lines).toHaveLength(13);
      for (const t of lines.slice(0, 12))
        expect(t).toMatchObject({ ok: true, provider: 'claude', agent: 'claude-code', fallbacks: [] });
      const summary = lines[12]!;
      expect(summary).toMatchObject({
        ok: true,
        counts: { succeeded: 12, failed: 0, stopped: 0, notStarted: 0, paused: 0 },
      });
      const claude = (summary.providers as Record<string, Record<string, number>>).claude!;
      // Every 429 the fake sent ended a run that was requeued, not failed, and none fell back.
      expect(answers(200)).toHaveLength(12);
      expect(claude.throttled).toBe(throttled);
      expect(claude.requeues).toBe(throttled);
      // Converged: a handful of 429s, not one per wave of 8.
      expect(throttled).toBeLessThanOrEqual(6);
      expect(claude.lowestLimit).toBeLessThanOrEqual(3);
      expect(claude.effectiveLimit).toBeGreaterThanOrEqual(1);
      expect(stderr).toContain('adaptive concurrency: claude starts at 5 of 10');
      if (throttled > 0) {
        expect(stderr).toMatch(/claude concurrency \d+ → \d+ \(throttled by the server: halved\)/);
        expect(stderr).toMatch(
          /throttled by claude before any work \(rate-limit\): back in the queue, not counted as failed/,
        );
      }
    },
    90_000,
  );

  it('should pause Claude on a usage limit that resets in ~3 s: nothing reaches the provider until the reset, then every task completes', async () => {
    let resetAtMs = 0;
    fake.setScript('claude', () => {
      if (resetAtMs !== 0) return fakeStep.reply({ delayMs: 200 });
      resetAtMs = (Math.ceil(Date.now() / 1000) + 3) * 1000;
      return fakeStep.error('rateLimited', {
        message: `Claude AI usage limit reached|${resetAtMs / 1000}`,
        retryAfterSeconds: 3,
      });
    });
    const file = ws.writeTasks(claudeTasks(4, 'u'));
    // One session at a time: the others wait in the queue for Claude, where the pause holds them.
    const { status, stdout, stderr } = await ws.cli(
      ['--json', 'batch', file, '--concurrency', '3', '--initial-limit', 'claude=1'],
      { claude: CLAUDE_KEY },
    ).done;
    if (status !== 0) console.log(stdout, stderr);
    expect(status).toBe(0);
    const limited = answers(429);
    expect(limited).toHaveLength(1);
    const later = fake.requests.filter((r) => r.seq > limited[0]!.seq);
    expect(later.filter((r) => r.route === 'anthropic.messages')).toHaveLength(4);
    // Paused: nothing at all (not even Claude Code's probe) reached the fake until the limit had reset, and soon after it did (it resumed by itself).
    const firstAfter = Math.min(...later.map((r) => r.receivedAt));
    expect(firstAfter).toBeGreaterThanOrEqual(resetAtMs);
    expect(firstAfter - resetAtMs).toBeLessThan(5_000);
    const lines = jsonLines(stdout);
    expect(lines).toHaveLength(5);
    expect(
      lines
        .slice(0, 4)
        .map((l) => [l.id, l.ok, l.provider])
        .sort(),
    ).toEqual([
      ['u01', true, 'claude'],
      ['u02', true, 'claude'],
      ['u03', true, 'claude'],
      ['u04', true, 'claude'],
    ]);
    expect(lines[4]).toMatchObject({
      ok: true,
      stoppedForLimit: null,
      counts: { succeeded: 4, failed: 0, paused: 0, notStarted: 0 },
      providers: { claude: { pausedUntil: null, reserved: 0, active: 0 } },
    });
    expect(stderr).toMatch(
      /claude paused by a usage limit \(quota\) until \d\d:\d\d:\d\d UTC \(in [34] s\): nothing is sent to it until then/,
    );
    expect(stderr).toContain('u01: hit the usage limit of claude with no provider left: runs again after the reset');
    expect(stderr).toMatch(
      /every provider the remaining tasks can use is paused by a usage limit \(claude resets at [^)]+\)\): waiting for the reset/,
    );
    expect(stderr).toContain('claude resumed: its usage limit reset');
  }, 90_000);

  it(
    'should stop dispatching when the usage limit resets later than --wait-for-reset, ' +
      'say which tasks are done and when it resets (exit 75), and finish with --resume',
    async () => {
      let resetAtMs = 0;
      let served = 0;
      fake.setScript('claude', () => {
        served += 1;
        if (served !== 3) return fakeStep.reply({ delayMs: 100 });
        resetAtMs = (Math.ceil(Date.now() / 1000) + 3600) * 1000;
        return fakeStep.error('rateLimited', { message: `Claude AI usage limit reached|${resetAtMs / 1000}` });
      });
      const file = ws.writeTasks(claudeTasks(5, 's'));
      const first = await ws.cli(
        ['--json', 'batch', file, '--concurrency', '2', '--initial-limit', 'claude=1', '--wait-for-reset', '60'],
        { claude: CLAUDE_KEY },
      ).done;
      if (first.status !== 75) console.log(first.stdout, first.stderr);
      expect(first.status).toBe(75);
      const summary = jsonLines(first.stdout).at(-1)!;
      expect(summary).toMatchObject({
        ok: false,
        stoppedForLimit: { resumesAt: resetAtMs, pausedUntil: { claude: resetAtMs } },
        counts: { succeeded: 2, failed: 0, stopped: 0, paused: 1, notStarted: 2 },
        pausedIds: ['s03'],
        notStartedIds: ['s04', 's05'],
        providers: { claude: { pausedUntil: resetAtMs, reserved: 0, active: 0 } },
      });
      expect(first.stderr).toMatch(
        new RegExp(
          'stopped: every provider the remaining tasks can use is paused by a usage limit ' +
            '\\(claude resets at \\d\\d:\\d\\d:\\d\\d UTC \\(in 60 min\\)\\)\\. ' +
            'Done: 2 of 5 tasks \\(s01, s02\\)\\. Run the batch again with --resume after the reset',
        ),
      );
      // Nothing was sent after the limit.
      expect(fake.requests.filter((r) => r.route === 'anthropic.messages')).toHaveLength(3);
      const journal = `${file}.journal`;
      expect(fs.statSync(journal).mode & 0o777).toBe(0o600);
      const entries = fs
        .readFileSync(journal, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.filter((e) => e.type === 'task').map((e) => [e.id, e.ok])).toEqual([
        ['s01', true],
        ['s02', true],
      ]);

      // After the reset (a new process: the pause is not carried over), --resume runs only what is left.
      const second = await ws.cli(['--json', 'batch', file, '--resume'], { claude: CLAUDE_KEY }).done;
      if (second.status !== 0) console.log(second.stdout, second.stderr);
      expect(second.status).toBe(0);
      const lines = jsonLines(second.stdout);
      expect(
        lines
          .slice(0, -1)
          .map((l) => l.id)
          .sort(),
      ).toEqual(['s03', 's04', 's05']);
      expect(lines.at(-1)).toMatchObject({
        ok: true,
        total: 5,
        counts: { succeeded: 3, skipped: 2 },
        skippedIds: ['s01', 's02'],
      });
      expect(second.stderr).toContain(
        `resuming from ${journal}: 2 of 5 tasks succeeded before and are skipped; 3 to run`,
      );
      for (const id of ['s01', 's02', 's04', 's05']) expect(messagesFor(fake, `do task ${id} now`)).toHaveLength(1);
      expect(messagesFor(fake, 'do task s03 now')).toHaveLength(2);
      // The journal is scanned for the key with everything printed.
      ws.outputs.push(fs.readFileSync(journal, 'utf8'));
    },
    90_000,
  );

  it('should resume a batch killed halfway (SIGKILL) from its journal without running finished tasks again', async () => {
    fake.setScript('claude', fakeStep.reply({ delayMs: 500 }));
    const tasks = claudeTasks(8, 'k');
    const file = ws.writeTasks(tasks);
    const journal = `${file}.journal`;
    const journaled = (): Record<string, unknown>[] =>
      fs.existsSync(journal)
        ? fs
            .readFileSync(journal, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .filter((e) => e.type === 'task')
        : [];
    const first = ws.cli(
      ['--json', 'batch', file, '--concurrency', '2', '--no-adaptive', '--max-concurrent', 'claude=2'],
      { claude: CLAUDE_KEY },
    );
    await waitFor(() => journaled().length >= 3, 60_000, 'three finished tasks in the journal');
    process.kill(first.pid, 'SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const finished = journaled().map((e) => e.id as string);
    expect(finished.length).toBeGreaterThanOrEqual(3);
    expect(finished.length).toBeLessThan(8);
    expect(journaled().every((e) => e.ok === true)).toBe(true);
    // The killed batch's agents (own process groups) finish their request on their own; let them.
    await waitFor(() => fake.inFlight('claude') === 0, 10_000, 'orphaned agents to finish');

    const second = await ws.cli(['--json', 'batch', file, '--resume', '--max-concurrent', 'claude=4'], {
      claude: CLAUDE_KEY,
    }).done;
    if (second.status !== 0) console.log(second.stdout, second.stderr);
    expect(second.status).toBe(0);
    const lines = jsonLines(second.stdout);
    const rerun = lines.slice(0, -1).map((l) => l.id as string);
    expect([...rerun].sort()).toEqual(tasks.map((t) => t.id).filter((id) => !finished.includes(id)));
    expect(lines.at(-1)).toMatchObject({
      ok: true,
      total: 8,
      counts: { succeeded: 8 - finished.length, skipped: finished.length, failed: 0 },
    });
    expect(second.stderr).toContain(
      `resuming from ${journal}: ${finished.length} of 8 tasks succeeded before and are skipped; ${8 - finished.length} to run`,
    );
    // Counted at the fake: a task the journal had is never sent again.
    for (const id of finished) expect(messagesFor(fake, `do task ${id} now`)).toHaveLength(1);
    for (const id of rerun) expect(messagesFor(fake, `do task ${id} now`).length).toBeGreaterThanOrEqual(1);
    expect(
      new Set(
        journaled()
          .filter((e) => e.ok === true)
          .map((e) => e.id),
      ),
    ).toEqual(new Set(tasks.map((t) => t.id)));
    ws.outputs.push(fs.readFileSync(journal, 'utf8'));
  }, 90_000);
});
