import { randomUUID } from 'node:crypto';
import { AgentvisorError } from '../errors';
import type { AgentChoice } from './agentCli';
import { DEFAULT_SANDBOX_MODE, parseSandboxMode } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import type { AgentTaskOptions } from './agentTaskTypes';

/**
 * How long a task may run from admission unless `timeoutMs` says otherwise: 10 minutes.
 *
 * @example runAgentTask(orch, { task, estimatedTokens, timeoutMs: 2 * DEFAULT_TASK_TIMEOUT_MS });
 */
export const DEFAULT_TASK_TIMEOUT_MS = 600_000;
const MAX_TOKENS_LIMIT = 1_000_000_000;

/** Task options after checking, with their defaults filled in. */
export interface CheckedTaskOptions {
  readonly agent: AgentChoice;
  readonly agentId: string;
  readonly timeoutMs: number;
  readonly waitMs: number;
  readonly sandbox: SandboxMode;
  readonly maxTokens: number | null;
}

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

/**
 * Checks `runAgentTask`'s options and fills in the defaults; throws `invalid-option` (with `details.field`) for the first bad one.
 *
 * @example checkTaskOptions({ task: 'add a test', estimatedTokens: 50_000 }).timeoutMs // 600000
 */
export function checkTaskOptions(options: AgentTaskOptions): CheckedTaskOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'runAgentTask needs options such as { task, estimatedTokens }');
  if (typeof options.task !== 'string' || options.task.trim() === '' || options.task.includes('\0')) throw invalid('task', 'task must be a non-empty string without NUL characters');
  const agent = options.agent ?? 'auto';
  if (!['auto', 'claude-code', 'codex'].includes(agent)) throw invalid('agent', `agent must be 'auto', 'claude-code' or 'codex', got ${JSON.stringify(agent)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 24 * 3_600_000) throw invalid('timeoutMs', 'timeoutMs must be a whole number of milliseconds from 1 to 86400000');
  const waitMs = options.waitMs ?? 0;
  if (!Number.isInteger(waitMs) || waitMs < 0) throw invalid('waitMs', 'waitMs must be a whole number of milliseconds, 0 or more');
  const maxTokens = options.maxTokens ?? null;
  if (maxTokens !== null && (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_TOKENS_LIMIT)) {
    throw invalid('maxTokens', `maxTokens must be a whole number of tokens from 1 to ${MAX_TOKENS_LIMIT}, got ${JSON.stringify(maxTokens)}`);
  }
  if (options.worktree !== undefined && typeof options.worktree !== 'boolean') throw invalid('worktree', 'worktree must be true or false');
  const sandbox = options.sandbox === undefined ? DEFAULT_SANDBOX_MODE : parseSandboxMode(options.sandbox);
  return { agent, agentId: options.agentId ?? `task-${randomUUID().slice(0, 8)}`, timeoutMs, waitMs, sandbox, maxTokens };
}
