import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AgentvisorError, errnoOf, isAgentvisorError } from '../errors';
import type { AgentTaskResult } from './agentTaskTypes';
import type { BatchTask } from './batchTasks';

/** One finished task, as a line of the journal. No task text, no answer, no error message: ids, counts and codes only. */
export interface BatchJournalEntry {
  readonly type: 'task';
  readonly id: string;
  /** The task's text and agent, hashed: a task whose line changed since is not the one that finished. */
  readonly fingerprint: string;
  readonly ok: boolean;
  readonly provider: string | null;
  readonly agent: string | null;
  readonly totalTokens: number;
  readonly fallbacks: number;
  readonly runs: number;
  readonly durationMs: number;
  readonly endedAt: string;
  readonly errorCode: string | null;
}

export interface BatchJournalReading {
  readonly entries: readonly BatchJournalEntry[];
  /** Lines that were not journal entries (a line cut short by a kill, say); skipped. */
  readonly skippedLines: number;
}

/**
 * A short hash of what a task asks and of which agent: resuming skips a task only when its line is
 * still the one that succeeded.
 *
 * @example taskFingerprint({ id: 't1', task: 'fix the test', agent: 'auto', estimatedTokens: 50_000, line: 1 }) // 'a1b2c3d4e5f60718'
 */
export function taskFingerprint(task: BatchTask): string {
  return createHash('sha256')
    .update(JSON.stringify([task.task, task.agent]))
    .digest('hex')
    .slice(0, 16);
}

/** A journal has one short line per finished task: 64 MB is hundreds of thousands of tasks. */
export const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

function ioError(file: string, action: string, error: unknown): AgentvisorError {
  const code = errnoOf(error) ?? 'EIO';
  const hint =
    code === 'ENOENT'
      ? 'check the path'
      : code === 'ELOOP'
        ? 'the journal may not be a symbolic link'
        : 'check the folder and its permissions, or pass --journal <file>';
  return new AgentvisorError('invalid-option', `cannot ${action} the batch journal ${file} (${code}): ${hint}`, {
    details: { file, reason: code },
  });
}

function isEntry(value: unknown): value is BatchJournalEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.type === 'task' && typeof v.id === 'string' && typeof v.fingerprint === 'string' && typeof v.ok === 'boolean'
  );
}

const NOT_A_JOURNAL = 'exists and is not a batch journal (its first line is not {"type":"batch",…})';

/** The refusal of a file that is not a journal: it is not ours to read tasks from, truncate or append to. */
function notAJournal(file: string, what: string): AgentvisorError {
  return new AgentvisorError(
    'invalid-option',
    `the journal file ${file} ${what}; refusing to use it. Name a new file (or remove this one if it is an old journal).`,
    { details: { file, reason: 'not-a-journal' } },
  );
}

/**
 * Reads a batch journal (JSON lines). Lines that are not task entries are skipped and counted: the
 * last line of a journal whose batch was killed mid-write may be cut short. A missing or unreadable
 * file, or one that is not a journal (its first line is not the journal's), throws `invalid-option`.
 *
 * @example const { entries } = readBatchJournal('tasks.jsonl.journal');
 */
export function readBatchJournal(file: string): BatchJournalReading {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw notAJournal(file, 'is not a regular file');
      if (stat.size > MAX_JOURNAL_BYTES)
        throw notAJournal(file, `holds more than ${MAX_JOURNAL_BYTES / 1024 / 1024} MB (${stat.size} bytes)`);
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (isAgentvisorError(error)) throw error;
    throw ioError(file, 'read', error);
  }
  if (!looksLikeJournal(text)) throw notAJournal(file, NOT_A_JOURNAL);
  const entries: BatchJournalEntry[] = [];
  let skippedLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skippedLines += 1;
      continue;
    }
    if (isEntry(value)) entries.push(value);
    else if ((value as { type?: unknown } | null)?.type !== 'batch') skippedLines += 1;
  }
  return { entries, skippedLines };
}

/**
 * Ids of the tasks the journal says succeeded, with the same text and agent as now.
 *
 * @example const done = succeededTasks(readBatchJournal(file).entries, tasks); tasks.filter((t) => !done.has(t.id));
 */
export function succeededTasks(entries: readonly BatchJournalEntry[], tasks: readonly BatchTask[]): Set<string> {
  const succeeded = new Set(entries.filter((e) => e.ok).map((e) => `${e.id}\0${e.fingerprint}`));
  return new Set(tasks.filter((t) => succeeded.has(`${t.id}\0${taskFingerprint(t)}`)).map((t) => t.id));
}

/** How much of an existing file is read to tell whether it is a journal (its first line is short). */
const JOURNAL_SNIFF_BYTES = 64 * 1024;

/**
 * Whether `text` (the start of a file) is a batch journal's: empty, or a first line that is the
 * `{"type":"batch","startedAt":…}` line every journal opens with.
 *
 * @example looksLikeJournal('{"type":"batch","startedAt":"2026-03-10T22:00:00.000Z","tasks":3,"resumed":false}\n') // true
 */
export function looksLikeJournal(text: string): boolean {
  if (text === '') return true;
  const end = text.indexOf('\n');
  if (end < 0) return false;
  try {
    const first: unknown = JSON.parse(text.slice(0, end));
    return (
      typeof first === 'object' &&
      first !== null &&
      (first as { type?: unknown }).type === 'batch' &&
      typeof (first as { startedAt?: unknown }).startedAt === 'string'
    );
  } catch {
    return false;
  }
}

/** Refuses a file that is not a regular file, or whose content is not a journal's: it is not ours to truncate or append to. */
function assertJournalContent(file: string, fd: number): void {
  const stat = fs.fstatSync(fd);
  const refuse = (what: string): AgentvisorError => notAJournal(file, what);
  if (!stat.isFile()) throw refuse('is not a regular file');
  const buffer = Buffer.alloc(Math.min(stat.size, JOURNAL_SNIFF_BYTES));
  const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
  if (!looksLikeJournal(buffer.subarray(0, read).toString('utf8'))) throw refuse(NOT_A_JOURNAL);
}

/** An open journal: one line per finished task, each written and fsynced before the next. */
export interface BatchJournal {
  readonly file: string;
  record(task: BatchTask, result: AgentTaskResult): void;
  close(): void;
}

/**
 * Opens (creating it 0600, never through a symbolic link) the journal of a batch: `append` keeps
 * what it holds (a resumed batch), otherwise it starts empty. An existing file is written only when
 * it is empty or a journal (`looksLikeJournal`): anything else fails with `invalid-option`, untouched. Every `record` is one JSON line,
 * fsynced, so a batch killed at any moment leaves every task it saw end in the journal.
 *
 * @example
 * const journal = openBatchJournal('tasks.jsonl.journal', { append: false, total: 12 });
 * journal.record(task, result);
 * journal.close();
 */
export function openBatchJournal(
  file: string,
  options: { readonly append: boolean; readonly total: number },
): BatchJournal {
  const { O_RDWR, O_CREAT, O_APPEND, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    // Not truncated by open: what is there must first be shown to be a journal.
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600);
  } catch (error) {
    throw ioError(file, 'open', error);
  }
  try {
    assertJournalContent(file, fd);
    if (!options.append) fs.ftruncateSync(fd, 0);
    fs.fchmodSync(fd, 0o600);
  } catch (error) {
    fs.closeSync(fd);
    if (error instanceof AgentvisorError) throw error;
    throw ioError(file, 'open', error);
  }
  const write = (value: unknown): void => {
    fs.writeSync(fd, `${JSON.stringify(value)}\n`);
    fs.fsyncSync(fd);
  };
  write({ type: 'batch', startedAt: new Date().toISOString(), tasks: options.total, resumed: options.append });
  return {
    file,
    record(task, result) {
      const entry: BatchJournalEntry = {
        type: 'task',
        id: task.id,
        fingerprint: taskFingerprint(task),
        ok: result.ok,
        provider: result.provider,
        agent: result.agent,
        totalTokens: result.usage.totalTokens,
        fallbacks: result.fallbacks.length,
        runs: result.runs,
        durationMs: result.durationMs,
        endedAt: new Date().toISOString(),
        errorCode: result.error?.code ?? null,
      };
      write(entry);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}
