import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  agentFailureReport,
  openBatchJournal,
  pauseDecision,
  readBatchJournal,
  runAgentBatch,
  runAgentTask,
  succeededTasks,
  taskFingerprint,
} from '../../src/agents';
import type { AgentTaskResult, BatchTask } from '../../src/agents';
import { resolveJournalChoice } from '../../src/cli/batchJournalChoice';
import { formatResetTime, inDuration } from '../../src/cli/providerEventLines';
import { classifyFailure, createOrchestrator } from '../../src/orchestrator';
import { classifyClaudeCodeResult } from '../../src/providers';
import type { ProviderFailure } from '../../src/providers';
import { HOUR, SECOND, T0, at } from '../helpers/timeOrigin';

/** The reset Claude Code prints (unix seconds), three seconds after T0. */
const RESET_S = at(3 * SECOND) / 1000;

describe('pauseDecision', () => {
  const paused = (claude: number | null, openai: number | null) => ({ claude, openai });

  it('should not block while any remaining task has a provider that is not paused', () => {
    expect(pauseDecision([['claude', 'openai']], paused(T0 + 5_000, null), T0, 300_000)).toBeNull();
    expect(pauseDecision([['claude'], ['openai']], paused(T0 + 5_000, null), T0, 300_000)).toBeNull();
    // A pause that has run out is no pause.
    expect(pauseDecision([['claude']], paused(T0, null), T0, 300_000)).toBeNull();
    expect(pauseDecision([], paused(T0 + 5_000, T0 + 5_000), T0, 300_000)).toBeNull();
  });

  it('should wait for the first reset when it is within the patience, and stop when it is further', () => {
    expect(pauseDecision([['claude'], ['claude', 'openai']], paused(T0 + 3_000, T0 + 9_000), T0, 300_000)).toEqual({
      action: 'wait',
      resumesAt: T0 + 3_000,
      pausedUntil: { claude: T0 + 3_000, openai: T0 + 9_000 },
    });
    expect(pauseDecision([['claude']], paused(T0 + 300_000, null), T0, 300_000)?.action).toBe('wait');
    expect(pauseDecision([['claude']], paused(T0 + 300_001, null), T0, 300_000)).toEqual({
      action: 'stop',
      resumesAt: T0 + 300_001,
      pausedUntil: { claude: T0 + 300_001 },
    });
    expect(pauseDecision([['openai']], paused(null, T0 + 1), T0, 0)?.action).toBe('stop');
  });
});

describe('agentFailureReport', () => {
  it('should hand the orchestrator the reset time Claude Code printed, so the pause lasts until then and not the default hour', () => {
    const reading = classifyClaudeCodeResult(
      {
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: 429,
        result: `API Error: Request rejected (429) · Claude AI usage limit reached|${RESET_S}`,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
      { now: T0 },
    );
    expect(reading).toMatchObject({ kind: 'quota', throttle: 'usage-limit', resetAt: RESET_S * 1000 });
    const report = agentFailureReport(reading as ProviderFailure);
    expect(report).toEqual({
      status: 429,
      message: `API Error: Request rejected (429) · Claude AI usage limit reached|${RESET_S}`,
      body: {
        error: {
          type: 'usage_limit_reached',
          message: `API Error: Request rejected (429) · Claude AI usage limit reached|${RESET_S}`,
          resets_at: RESET_S,
        },
      },
    });
    expect(classifyFailure(report, 'claude', T0)).toMatchObject({
      kind: 'quota',
      throttle: 'usage-limit',
      resetAt: RESET_S * 1000,
    });
  });

  it('should send other failures as their kind, status and Retry-After', () => {
    const failure: ProviderFailure = {
      ok: false,
      kind: 'rate-limit',
      provider: 'claude',
      status: 429,
      retryAfterMs: 2000,
      resetAt: null,
      throttle: 'server',
      message: 'API Error: Request rejected (429) · Server is temporarily limiting requests (not your usage limit)',
    };
    expect(agentFailureReport(failure)).toEqual({
      kind: 'rate-limit',
      message: failure.message,
      status: 429,
      retryAfterMs: 2000,
    });
    expect(classifyFailure(agentFailureReport(failure), 'claude', T0)).toMatchObject({
      kind: 'rate-limit',
      throttle: 'server',
      retryAfterMs: 2000,
    });
    const quota: ProviderFailure = {
      ...failure,
      kind: 'quota',
      status: null,
      retryAfterMs: null,
      throttle: 'usage-limit',
      message: 'Quota exceeded. Check your plan and billing details.',
    };
    expect(agentFailureReport(quota)).toEqual({ kind: 'quota', message: quota.message });
  });
});

describe('batch journal', () => {
  let dir: string;
  const task = (id: string, text = `task ${id}`): BatchTask => ({
    id,
    task: text,
    agent: 'auto',
    estimatedTokens: 1000,
    line: 1,
  });
  const result = (ok: boolean): AgentTaskResult => ({
    ok,
    agentId: 'x',
    provider: 'claude',
    agent: 'claude-code',
    sessionId: 's',
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    fallbacks: [],
    result: ok ? 'secret answer text' : null,
    runs: 1,
    durationMs: 1200,
    sandbox: 'workspace-write',
    permissionDenials: [],
    ...(ok ? {} : { error: { code: 'no-provider' as const, message: 'the provider failed' } }),
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should write one fsynced line per task, 0600, without task text, answers or messages', () => {
    const file = path.join(dir, 'tasks.jsonl.journal');
    // An old journal (0644 from an older version): rewritten from the start, and narrowed to 0600.
    fs.writeFileSync(
      file,
      '{"type":"batch","startedAt":"2026-01-01T00:00:00.000Z","total":1}\n{"type":"task","id":"old content"}\n',
      { mode: 0o644 },
    );
    const journal = openBatchJournal(file, { append: false, total: 2 });
    journal.record(task('a'), result(true));
    journal.record(task('b'), result(false));
    journal.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('old content');
    expect(text).not.toContain('task a');
    expect(text).not.toContain('secret answer text');
    expect(text).not.toContain('the provider failed');
    const { entries, skippedLines } = readBatchJournal(file);
    expect(skippedLines).toBe(0);
    expect(entries.map((e) => [e.id, e.ok, e.errorCode, e.totalTokens, e.fingerprint])).toEqual([
      ['a', true, null, 15, taskFingerprint(task('a'))],
      ['b', false, 'no-provider', 15, taskFingerprint(task('b'))],
    ]);
  });

  it('should append when resuming, skip a line cut short by a kill, and skip only tasks that succeeded with the same text and agent', () => {
    const file = path.join(dir, 'j');
    const first = openBatchJournal(file, { append: false, total: 4 });
    first.record(task('a'), result(true));
    first.record(task('b'), result(false));
    first.record(task('c'), result(true));
    first.close();
    fs.appendFileSync(file, '{"type":"task","id":"d","fing');
    const second = openBatchJournal(file, { append: true, total: 4 });
    second.record(task('b'), result(true));
    second.close();
    const reading = readBatchJournal(file);
    expect(reading.skippedLines).toBe(1);
    const now = [task('a'), task('b'), task('c', 'a changed task'), task('d')];
    expect([...succeededTasks(reading.entries, now)].sort()).toEqual(['a', 'b']);
  });

  it('should refuse a journal that is a symbolic link, and name a missing one', () => {
    const target = path.join(dir, 'elsewhere');
    fs.writeFileSync(target, '');
    const link = path.join(dir, 'link.journal');
    fs.symlinkSync(target, link);
    expect(() => openBatchJournal(link, { append: true, total: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid-option', message: expect.stringContaining('(ELOOP)') }),
    );
    expect(() => readBatchJournal(path.join(dir, 'missing'))).toThrow(
      expect.objectContaining({
        code: 'invalid-option',
        message: `cannot read the batch journal ${path.join(dir, 'missing')} (ENOENT): check the path`,
      }),
    );
  });
});

describe('resolveJournalChoice', () => {
  it('should default to <tasks file>.journal, none for stdin or with --no-journal', () => {
    expect(resolveJournalChoice('t.jsonl', {})).toEqual({ file: 't.jsonl.journal', resume: false });
    expect(resolveJournalChoice('t.jsonl', { journal: 'j' })).toEqual({ file: 'j', resume: false });
    expect(resolveJournalChoice('t.jsonl', { journal: false })).toEqual({ file: null, resume: false });
    expect(resolveJournalChoice('-', {})).toEqual({ file: null, resume: false });
  });

  it('should resume from the default, named or given journal, and refuse contradictions', () => {
    expect(resolveJournalChoice('t.jsonl', { resume: true })).toEqual({ file: 't.jsonl.journal', resume: true });
    expect(resolveJournalChoice('t.jsonl', { resume: 'r' })).toEqual({ file: 'r', resume: true });
    expect(resolveJournalChoice('-', { resume: true, journal: 'j' })).toEqual({ file: 'j', resume: true });
    expect(resolveJournalChoice('t.jsonl', { resume: 'r', journal: 'r' })).toEqual({ file: 'r', resume: true });
    expect(() => resolveJournalChoice('-', { resume: true })).toThrow(
      'tasks read from stdin have no default journal: resume with --resume <journal file>',
    );
    expect(() => resolveJournalChoice('t.jsonl', { resume: true, journal: false })).toThrow(
      '--resume reads the journal and --no-journal turns it off: give one of them',
    );
    expect(() => resolveJournalChoice('t.jsonl', { resume: 'r', journal: 'j' })).toThrow(
      '--resume r and --journal j name different journals: give one',
    );
  });
});

describe('reset times for people', () => {
  it('should say how far away a reset is', () => {
    expect(inDuration(2_400)).toBe('in 3 s');
    expect(inDuration(119_000)).toBe('in 119 s');
    expect(inDuration(3_600_400)).toBe('in 60 min');
    expect(inDuration(4 * 3_600_000 + 10 * 60_000)).toBe('in 4 h 10 min');
  });

  it('should print the time of day, and the date when it is not within 20 hours', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      expect(formatResetTime(Date.parse('2026-03-01T21:20:05Z'), Date.parse('2026-03-01T21:20:02Z'))).toBe(
        '21:20:05 UTC (in 3 s)',
      );
      expect(formatResetTime(at(35 * HOUR), T0)).toBe('2 Jan, 23:00:00 UTC (in 35 h 0 min)');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});

describe('runAgentTask and runAgentBatch input', () => {
  it.each([null, {}, 'orch'])(
    'should refuse %p for the orchestrator with invalid-option, not agent-failed',
    async (orch) => {
      const task = { task: 'say hi', estimatedTokens: 1000 };
      await expect(runAgentTask(orch as never, task)).rejects.toMatchObject({ code: 'invalid-option' });
      await expect(runAgentBatch(orch as never, [])).rejects.toMatchObject({
        code: 'invalid-option',
        message: expect.stringMatching(/first argument must be the orchestrator/),
      });
    },
  );

  it.each([null, undefined, 'tasks.jsonl', { id: 't1', task: 'x' }])(
    'should refuse %p for the tasks with invalid-option, not a TypeError',
    async (tasks) => {
      const orch = createOrchestrator({ env: {} });
      await expect(runAgentBatch(orch, tasks as unknown as BatchTask[])).rejects.toMatchObject({
        code: 'invalid-option',
        message: expect.stringMatching(/tasks must be the list parseBatchTasks/),
      });
    },
  );
});
