import { randomUUID } from 'node:crypto';
import { AgentvisorError, givenKind } from '../errors';
import { checkOptions } from '../schema/checkOptions';
import type { AgentChoice } from './agentCli';
import { DEFAULT_SANDBOX_MODE } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import type { AgentTaskOptions } from './agentTaskTypes';
import { taskOptionsSchema } from './taskOptionsSchema';

/**
 * How long a task may run from admission unless `timeoutMs` says otherwise: 10 minutes.
 *
 * @example runAgentTask(orch, { task, estimatedTokens, timeoutMs: 2 * DEFAULT_TASK_TIMEOUT_MS });
 */
export const DEFAULT_TASK_TIMEOUT_MS = 600_000;

/**
 * Refuses an `orch` that is not an orchestrator (it would only fail inside the task, as `agent-failed`).
 *
 * @example checkOrchestrator('runAgentTask', orch);
 */
export function checkOrchestrator(call: string, orch: unknown): void {
  if (typeof (orch as { spawnAgent?: unknown } | null)?.spawnAgent !== 'function')
    throw new AgentvisorError(
      'invalid-option',
      `${call}'s first argument must be the orchestrator createOrchestrator() gave, got ${givenKind(orch)}`,
      { details: { option: 'orch' } },
    );
}

/** Task options after checking, with their defaults filled in. */
export interface CheckedTaskOptions {
  readonly agent: AgentChoice;
  readonly agentId: string;
  readonly timeoutMs: number;
  readonly waitMs: number;
  readonly sandbox: SandboxMode;
  readonly maxTokens: number | null;
}

/**
 * Checks `runAgentTask`'s options against their schema and fills in the defaults. A problem throws
 * `invalid-option` naming the field; an unknown key gets a "did you mean" hint. Options marked
 * `alreadyChecked` (the CLI's, a checked batch's) skip zod.
 *
 * @example checkTaskOptions({ task: 'add a test', estimatedTokens: 50_000 }).timeoutMs // 600000
 */
export function checkTaskOptions(options: AgentTaskOptions): CheckedTaskOptions {
  checkOptions(taskOptionsSchema, options, {
    call: 'runAgentTask',
    expected: 'an object such as { task, estimatedTokens }',
  });
  return {
    agent: options.agent ?? 'auto',
    agentId: options.agentId ?? `task-${randomUUID().slice(0, 8)}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
    waitMs: options.waitMs ?? 0,
    sandbox: options.sandbox ?? DEFAULT_SANDBOX_MODE,
    maxTokens: options.maxTokens ?? null,
  };
}
