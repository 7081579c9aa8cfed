import { AgentvisorError, givenKind } from '../errors';
import { parseAgentChoice } from './agentCli';
import type { AgentChoice } from './agentCli';
import { SANDBOX_MODES } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import { MAX_TASK_BYTES } from './taskText';

/** One line of a tasks file, checked. */
export interface BatchTask {
  readonly id: string;
  readonly task: string;
  readonly agent: AgentChoice;
  readonly estimatedTokens: number;
  /** The line's own `sandbox`; the batch's default applies when absent. */
  readonly sandbox?: SandboxMode;
  /** The line's own hard cap (`maxTokens`); the batch's default applies when absent. */
  readonly maxTokens?: number;
  /** The line's own working directory (`cwd`, resolved against the batch's); the batch's when absent. */
  readonly cwd?: string;
  /** The line's own `worktree`; the batch's default applies when absent. */
  readonly worktree?: boolean;
  /** Its line in the file (from 1), for messages. */
  readonly line: number;
}

export interface ParseBatchTasksOptions {
  /** The file name used in messages. @default 'tasks' */
  readonly source?: string;
  /** For lines without `estimate`. @default 50000 */
  readonly defaultEstimate?: number;
  /** For lines without `agent`. @default 'auto' */
  readonly defaultAgent?: AgentChoice;
}

const FIELDS = new Set(['id', 'task', 'agent', 'estimate', 'sandbox', 'maxTokens', 'cwd', 'worktree']);
const ID_PATTERN = /^[\w.:@/-]{1,128}$/;
const MAX_ESTIMATE = 1_000_000_000;
/** A line longer than this is refused before it is parsed: tasks are prompts, not payloads. */
export const MAX_TASK_LINE_BYTES = 1024 * 1024;
/** A tasks file (or stdin) is read up to this much and refused past it: an endless stream never fills memory. */
export const MAX_TASKS_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a JSON Lines tasks file: one object per line, `{ id, task, agent?, estimate?, sandbox?,
 * maxTokens?, cwd?, worktree? }` (blank lines skipped). `id` is 1–128 letters, digits and
 * `_ . : @ / -` (or a whole number), unique; `task` a non-empty string; `agent` `auto`, `claude`
 * (or `claude-code`) or `codex`; `estimate` and `maxTokens` whole tokens from 1 to 1e9; `sandbox`
 * `read-only`, `workspace-write` or `full-access`; `cwd` a non-empty path; `worktree` a boolean;
 * a line at most 1 MB. Throws `AgentvisorError('invalid-option')` for the first bad line,
 * naming the file, the line and the field (`details.line`, `details.field`), never its contents.
 *
 * @example
 * parseBatchTasks('{"id":"t1","task":"fix the test","agent":"codex"}\n', { source: 'tasks.jsonl' })
 * // [{ id: 't1', task: 'fix the test', agent: 'codex', estimatedTokens: 50000, line: 1 }]
 */
export function parseBatchTasks(text: string, options: ParseBatchTasksOptions = {}): BatchTask[] {
  if (typeof text !== 'string')
    throw new AgentvisorError(
      'invalid-option',
      `parseBatchTasks's text must be a string (the JSON Lines file's content), got ${givenKind(text)}`,
      { details: { option: 'text' } },
    );
  const source = options.source ?? 'tasks';
  const tasks: BatchTask[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const fail = (field: string | null, message: string): never => {
      throw new AgentvisorError('invalid-option', `${source} line ${line}: ${message}`, {
        details: { file: source, line, field },
      });
    };
    if (raw.length > MAX_TASK_LINE_BYTES / 4 && Buffer.byteLength(raw) > MAX_TASK_LINE_BYTES) {
      fail(
        null,
        `longer than ${MAX_TASK_LINE_BYTES / 1024 / 1024} MB (${Buffer.byteLength(raw)} bytes): put long instructions in a file the task names`,
      );
    }
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      fail(null, 'not valid JSON: each line must be one object such as {"id":"t1","task":"fix the failing test"}');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(null, 'must be a JSON object such as {"id":"t1","task":"fix the failing test"}');
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
    if (unknown.length > 0)
      fail(
        unknown[0] ?? null,
        `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the fields are id, task, agent, estimate, sandbox, maxTokens, cwd and worktree`,
      );
    const id =
      typeof record.id === 'number' && Number.isSafeInteger(record.id) && record.id >= 0
        ? String(record.id)
        : record.id;
    if (typeof id !== 'string' || !ID_PATTERN.test(id))
      return fail('id', '"id" must be 1-128 letters, digits or _ . : @ / - (or a whole number)');
    const earlier = seen.get(id);
    if (earlier !== undefined)
      fail('id', `"id" ${JSON.stringify(id)} was already used on line ${earlier}: ids must be unique`);
    if (typeof record.task !== 'string' || record.task.trim() === '' || record.task.includes('\0'))
      return fail('task', '"task" must be a non-empty string');
    const taskBytes = Buffer.byteLength(record.task, 'utf8');
    if (taskBytes > MAX_TASK_BYTES)
      return fail(
        'task',
        `"task" is ${taskBytes} bytes, more than the ${MAX_TASK_BYTES} an agent CLI can take as one argument: put the long text in a file the task names`,
      );
    const agent = record.agent === undefined ? (options.defaultAgent ?? 'auto') : parseAgentChoice(record.agent);
    if (agent === null) return fail('agent', '"agent" must be "auto", "claude" or "codex"');
    const estimate = record.estimate ?? options.defaultEstimate ?? 50_000;
    if (typeof estimate !== 'number' || !Number.isInteger(estimate) || estimate < 1 || estimate > MAX_ESTIMATE) {
      return fail(
        'estimate',
        `"estimate" must be a whole number of tokens from 1 to ${MAX_ESTIMATE.toLocaleString('en-US')}`,
      );
    }
    const { sandbox, maxTokens, cwd, worktree } = record;
    if (
      sandbox !== undefined &&
      !(typeof sandbox === 'string' && (SANDBOX_MODES as readonly string[]).includes(sandbox))
    )
      fail('sandbox', `"sandbox" must be one of ${SANDBOX_MODES.map((m) => `"${m}"`).join(', ')}`);
    if (
      maxTokens !== undefined &&
      (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_ESTIMATE)
    )
      fail(
        'maxTokens',
        `"maxTokens" must be a whole number of tokens from 1 to ${MAX_ESTIMATE.toLocaleString('en-US')}`,
      );
    if (cwd !== undefined && (typeof cwd !== 'string' || cwd.trim() === '' || cwd.includes('\0')))
      fail('cwd', '"cwd" must be a non-empty path');
    if (worktree !== undefined && typeof worktree !== 'boolean') fail('worktree', '"worktree" must be true or false');
    seen.set(id, line);
    tasks.push({
      id,
      task: record.task,
      agent,
      estimatedTokens: estimate,
      ...(sandbox === undefined ? {} : { sandbox: sandbox as SandboxMode }),
      ...(maxTokens === undefined ? {} : { maxTokens: maxTokens as number }),
      ...(cwd === undefined ? {} : { cwd: cwd as string }),
      ...(worktree === undefined ? {} : { worktree: worktree as boolean }),
      line,
    });
  });
  if (tasks.length === 0)
    throw new AgentvisorError(
      'invalid-option',
      `${source} has no tasks: write one JSON object per line, such as {"id":"t1","task":"fix the failing test"}`,
      { details: { file: source } },
    );
  return tasks;
}
