import { AgentvisorError } from '../errors';
import type { Orchestrator } from '../orchestrator';
import type { ProviderId } from '../providers';
import type { AgentTaskEvent, AgentTaskOptions, AgentTaskResult } from './agentTaskTypes';
import type { BatchTask } from './batchTasks';
import { runAgentTask } from './runAgentTask';

export interface AgentBatchOptions {
  /** Tasks in progress at once (each runs at most one CLI process at a time); the orchestrator's limits apply on top. @default 4 */
  readonly concurrency?: number;
  /** Per task, from admission. @default 600000 */
  readonly timeoutMs?: number;
  /** How long a task may wait for admission (a slot, budget, a closed circuit). @default 3600000 */
  readonly waitMs?: number;
  /** Aborting stops admission (no task starts), stops the running CLIs and releases their sessions. */
  readonly signal?: AbortSignal;
  /** Passed to every task. */
  readonly task?: Pick<AgentTaskOptions, 'cwd' | 'hostEnv' | 'tempDir' | 'claudeMaxRetries' | 'maxOutputBytes' | 'killGraceMs'>;
  readonly onEvent?: (task: BatchTask, event: AgentTaskEvent) => void;
  /** Called as each task ends, in the order they end. */
  readonly onResult?: (task: BatchTask, result: AgentTaskResult) => void;
}

export interface AgentBatchTaskResult extends AgentTaskResult {
  /** The task's id from the file. */
  readonly id: string;
}

export interface AgentBatchResult {
  /** Every task that was started, in file order. */
  readonly results: readonly AgentBatchTaskResult[];
  /** Ids of tasks never started (the batch was stopped first). */
  readonly notStarted: readonly string[];
  readonly interrupted: boolean;
  /** The most agent CLI processes alive at once, per provider. */
  readonly maxRunning: Readonly<Record<ProviderId, number>>;
  readonly elapsedMs: number;
}

/**
 * Runs many tasks through `runAgentTask` with at most `concurrency` in progress; tasks wait in the
 * orchestrator's queue for slots and budget (`waitMs`), so its limits hold across the batch. An
 * abort stops admission (the tasks not yet started stay so), stops the running agents' process
 * groups and releases their sessions; what ran is in the result.
 *
 * @example
 * const batch = await runAgentBatch(orch, parseBatchTasks(text), { concurrency: 6, signal });
 * batch.results.filter((r) => r.ok).length;
 */
export async function runAgentBatch(orch: Orchestrator, tasks: readonly BatchTask[], options: AgentBatchOptions = {}): Promise<AgentBatchResult> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new AgentvisorError('invalid-option', `concurrency must be a whole number from 1 to 1000, got ${JSON.stringify(concurrency)}`, { details: { field: 'concurrency' } });
  }
  const started = Date.now();
  const running: Record<ProviderId, number> = { claude: 0, openai: 0 };
  const maxRunning: Record<ProviderId, number> = { claude: 0, openai: 0 };
  const results = new Map<number, AgentBatchTaskResult>();
  let next = 0;

  const onEvent = (task: BatchTask, event: AgentTaskEvent): void => {
    if (event.type === 'run.started') {
      running[event.provider] += 1;
      maxRunning[event.provider] = Math.max(maxRunning[event.provider], running[event.provider]);
    } else if (event.type === 'run.ended') {
      running[event.provider] -= 1;
    }
    options.onEvent?.(task, event);
  };

  const worker = async (): Promise<void> => {
    while (next < tasks.length && options.signal?.aborted !== true) {
      const index = next;
      next += 1;
      const task = tasks[index] as BatchTask;
      const result = await runAgentTask(orch, {
        ...options.task,
        task: task.task,
        agent: task.agent,
        agentId: task.id,
        estimatedTokens: task.estimatedTokens,
        timeoutMs: options.timeoutMs ?? 600_000,
        waitMs: options.waitMs ?? 3_600_000,
        ...(options.signal ? { signal: options.signal } : {}),
        onEvent: (event) => onEvent(task, event),
      });
      const withId = { id: task.id, ...result };
      results.set(index, withId);
      options.onResult?.(task, withId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  const ordered = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  const notStarted = tasks.filter((_, index) => !results.has(index)).map((t) => t.id);
  return { results: ordered, notStarted, interrupted: options.signal?.aborted === true, maxRunning, elapsedMs: Date.now() - started };
}
