import fs from 'node:fs';
import path from 'node:path';
import { AgentvisorError, givenKind, isAgentvisorError } from '../errors';
import { DEFAULT_SANDBOX_MODE } from './agentSandbox';
import { taskError } from './taskErrors';
import { checkOrchestrator } from './checkTaskOptions';
import { alreadyChecked, checkOptions, isAlreadyChecked } from '../schema/checkOptions';
import type { Orchestrator } from '../orchestrator';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { AGENT_CLIS } from './agentCli';
import type { AgentTaskEvent, AgentTaskOptions, AgentTaskResult } from './agentTaskTypes';
import { pauseDecision } from './batchPause';
import type { BatchPause } from './batchPause';
import type { BatchTask } from './batchTasks';
import { runPlannedTask } from './runAgentTask';
import { batchOptionsSchema } from './taskOptionsSchema';
import { runGit } from './gitCommand';
import { planWorktrees } from './taskWorktree';
import type { WorktreePlan } from './taskWorktree';

/** Runs of one task a usage limit may end before the batch leaves the task for later. */
const MAX_USAGE_LIMIT_RUNS = 3;
export const DEFAULT_WAIT_FOR_RESET_MS = 300_000;

export interface AgentBatchOptions {
  /** Tasks in progress at once (each runs at most one CLI process at a time); the orchestrator's limits apply on top. @default 4 */
  readonly concurrency?: number;
  /** Per task, from admission. @default 600000 */
  readonly timeoutMs?: number;
  /** How long a task may wait for admission (a slot, budget, a closed circuit). @default 3600000 */
  readonly waitMs?: number;
  /** Aborting stops admission (no task starts), stops the running CLIs and releases their sessions. */
  readonly signal?: AbortSignal;
  /** Passed to every task; a task's own `sandbox`, `maxTokens`, `worktree` and `cwd` (relative to this `cwd`) win over these. */
  readonly task?: Pick<
    AgentTaskOptions,
    | 'cwd'
    | 'hostEnv'
    | 'tempDir'
    | 'claudeMaxRetries'
    | 'maxOutputBytes'
    | 'killGraceMs'
    | 'sandbox'
    | 'maxTokens'
    | 'worktree'
  >;
  /**
   * The providers `auto` tasks may start on (those with credentials); a task naming an agent
   * starts on that agent's provider. Used to tell when every provider is paused.
   * @default every provider switched on whose limits are not 0
   */
  readonly providers?: readonly ProviderId[];
  /**
   * When every provider the remaining tasks could start on is paused by a usage limit and nothing
   * runs, the batch waits for the reset if it comes within this many ms, and otherwise stops
   * dispatching: tasks waiting for admission are dropped (not started), and the result says when
   * the limit resets (`stoppedForLimit`). A task a usage limit ended runs again after the reset.
   * @default 300000 (5 min)
   */
  readonly waitForResetMs?: number;
  readonly onEvent?: (task: BatchTask, event: AgentTaskEvent) => void;
  /** Called as each task ends, in the order they end (a task a usage limit ended and that runs again is reported when it ends for good). */
  readonly onResult?: (task: BatchTask, result: AgentTaskResult) => void;
  /** Called when the batch starts waiting for a usage limit to reset (once per reset time), or stops because of one. */
  readonly onPause?: (pause: BatchPause) => void;
  /** Called when a usage limit ended a task's run and the task will run again after the reset. */
  readonly onUsageLimit?: (task: BatchTask, result: AgentTaskResult) => void;
  /** The result of `planBatchWorkspaces` for these tasks and options, when the caller checked already. */
  readonly workspaces?: BatchWorkspaces;
}

export interface AgentBatchTaskResult extends AgentTaskResult {
  /** The task's id from the file. */
  readonly id: string;
}

export interface AgentBatchResult {
  /** Every task that was started, in file order. A task left for after a usage limit's reset has `error.usageLimit`. */
  readonly results: readonly AgentBatchTaskResult[];
  /** Ids of tasks never started (the batch was stopped first). */
  readonly notStarted: readonly string[];
  readonly interrupted: boolean;
  /** Set when the batch stopped dispatching because every provider it could use was paused by a usage limit. */
  readonly stoppedForLimit: BatchPause | null;
  /** The most agent CLI processes alive at once, per provider. */
  readonly maxRunning: Readonly<Record<ProviderId, number>>;
  /** Runs that ended on server-side throttling (rate-limit, overloaded), per provider. */
  readonly throttled: Readonly<Record<ProviderId, number>>;
  /** Times a throttled session went back to the queue instead of failing, per provider. */
  readonly requeues: Readonly<Record<ProviderId, number>>;
  readonly elapsedMs: number;
}

type TaskState = 'queued' | 'waiting' | 'running' | 'done';

/** Each task's working directory and whether it runs in a worktree, checked before any agent starts. */
export interface TaskPlace {
  readonly cwd: string;
  readonly worktree: boolean;
}

/** Where a batch's tasks run: one place per task (in order), one worktree plan per repository. */
export interface BatchWorkspaces {
  readonly places: readonly TaskPlace[];
  readonly plans: ReadonlyMap<string, WorktreePlan>;
}

/**
 * Checks every task's folder and, for the tasks that run in worktrees, their repositories (one
 * preflight per repository: clean, branches free), so a batch that cannot run fails before any
 * agent starts, with nothing created. `runAgentBatch` does it itself; a caller that wants the
 * check before anything else (the CLI, before its journal) passes the result as `workspaces`.
 *
 * @example const workspaces = await planBatchWorkspaces(tasks, { task: { cwd: repo, worktree: true } });
 */
export async function planBatchWorkspaces(
  tasks: readonly BatchTask[],
  options: Pick<AgentBatchOptions, 'task'>,
): Promise<BatchWorkspaces> {
  const base = path.resolve(options.task?.cwd ?? process.cwd());
  const places = tasks.map((task): TaskPlace => ({
    cwd: path.resolve(base, task.cwd ?? '.'),
    worktree: task.worktree ?? options.task?.worktree ?? false,
  }));
  places.forEach((place, i) => {
    if (!fs.existsSync(place.cwd) || !fs.statSync(place.cwd).isDirectory()) {
      const task = tasks[i] as BatchTask;
      throw new AgentvisorError(
        'invalid-option',
        `task ${task.id} (line ${task.line}): its working directory ${place.cwd} is not a folder`,
        { details: { field: 'cwd', line: task.line } },
      );
    }
  });
  // One preflight per repository (tasks in subfolders of one checkout share it), so branch clashes across them are caught too.
  const git = { env: options.task?.hostEnv ?? process.env };
  const tops = new Map<string, string>();
  for (const place of places) {
    if (!place.worktree || tops.has(place.cwd)) continue;
    const top = await runGit(['rev-parse', '--show-toplevel'], place.cwd, git);
    if (top.exitCode !== 0) await planWorktrees(place.cwd, [], git); // throws the preflight's own not-a-repository error
    tops.set(place.cwd, top.stdout.replace(/\n$/, ''));
  }
  const byRepo = new Map<string, string[]>();
  places.forEach((place, i) => {
    const top = tops.get(place.cwd);
    if (place.worktree && top !== undefined) byRepo.set(top, [...(byRepo.get(top) ?? []), (tasks[i] as BatchTask).id]);
  });
  const plans = new Map<string, WorktreePlan>();
  for (const [top, ids] of byRepo) {
    const plan = await planWorktrees(top, ids, git);
    for (const [cwd, cwdTop] of tops) if (cwdTop === top) plans.set(cwd, plan);
  }
  return { places, plans };
}

/**
 * Runs many tasks through `runAgentTask` with at most `concurrency` in progress; tasks wait in the
 * orchestrator's queue for slots and budget (`waitMs`), so its limits (adaptive ones included)
 * hold across the batch. A task a usage limit ended (no provider left) runs again once the limit
 * resets; when every provider the remaining tasks could use is paused and nothing runs, the batch
 * waits for the reset (`waitForResetMs`) or stops dispatching and says when it resets. An abort
 * stops admission (the tasks not yet started stay so), stops the running agents' process groups
 * and releases their sessions; what ran is in the result. Tasks with `worktree` each run in their
 * own git worktree and branch `agentvisor/<id>`; the repositories are checked before any agent
 * starts (rejects with `invalid-workspace`, nothing created; a branch created after that check fails only its task).
 *
 * @example
 * const batch = await runAgentBatch(orch, parseBatchTasks(text), { concurrency: 6, signal });
 * batch.results.filter((r) => r.ok).length;
 */
export async function runAgentBatch(
  orch: Orchestrator,
  tasks: readonly BatchTask[],
  options: AgentBatchOptions = {},
): Promise<AgentBatchResult> {
  checkOptions(batchOptionsSchema, options, {
    call: 'runAgentBatch',
    expected: 'an object such as { concurrency: 4 }',
  });
  checkOrchestrator('runAgentBatch', orch);
  if (!Array.isArray(tasks))
    throw new AgentvisorError(
      'invalid-option',
      `runAgentBatch's tasks must be the list parseBatchTasks(text) gives, got ${givenKind(tasks)}`,
      { details: { option: 'tasks' } },
    );
  const concurrency = options.concurrency ?? 4;
  // Each task's options are built from the batch's and its task line's: checked already when the batch's were (the CLI's).
  const taskChecked = isAlreadyChecked(options);
  const { places, plans } = options.workspaces ?? (await planBatchWorkspaces(tasks, options));
  const started = Date.now();
  const zero = (): Record<ProviderId, number> => ({ claude: 0, openai: 0 });
  const running = zero();
  const maxRunning = zero();
  const throttled = zero();
  const requeues = zero();
  const results = new Map<number, AgentBatchTaskResult>();
  const states: TaskState[] = tasks.map(() => 'queued');
  const limits = orch.stats().providers;
  const usable =
    options.providers ??
    PROVIDER_IDS.filter((p) => limits[p].enabled && limits[p].maxConcurrent > 0 && limits[p].dailyLimit > 0);
  const waitForResetMs = options.waitForResetMs ?? DEFAULT_WAIT_FOR_RESET_MS;
  const dispatch = new AbortController();
  let stoppedForLimit: BatchPause | null = null;
  let announcedWait = 0;
  let next = 0;
  const aborted = (): boolean => options.signal?.aborted === true;
  const candidates = (task: BatchTask): readonly ProviderId[] =>
    task.agent === 'auto' ? usable : [AGENT_CLIS[task.agent].provider];

  /** Blocked by usage limits? Only when nothing runs: a running task may still fall back or finish. */
  const checkPause = (): void => {
    if (stoppedForLimit !== null || aborted() || states.includes('running')) return;
    const pending = tasks.filter((_, i) => states[i] === 'queued' || states[i] === 'waiting');
    if (pending.length === 0) return;
    const stats = orch.stats().providers;
    const pause = pauseDecision(
      pending.map(candidates),
      { claude: stats.claude.pausedUntil, openai: stats.openai.pausedUntil },
      Date.now(),
      waitForResetMs,
    );
    if (pause === null) return;
    if (pause.action === 'stop') {
      stoppedForLimit = pause;
      options.onPause?.(pause);
      dispatch.abort();
    } else if (pause.resumesAt !== announcedWait) {
      announcedWait = pause.resumesAt;
      options.onPause?.(pause);
    }
  };

  const onEvent = (task: BatchTask, index: number, event: AgentTaskEvent): void => {
    if (event.type === 'admitted') {
      states[index] = 'running';
    } else if (event.type === 'run.started') {
      running[event.provider] += 1;
      maxRunning[event.provider] = Math.max(maxRunning[event.provider], running[event.provider]);
    } else if (event.type === 'run.ended') {
      running[event.provider] -= 1;
      if (event.outcome === 'rate-limit' || event.outcome === 'overloaded') throttled[event.provider] += 1;
    } else if (event.type === 'requeued') {
      requeues[event.provider] += 1;
    }
    options.onEvent?.(task, event);
  };

  const runTask = async (task: BatchTask, index: number): Promise<AgentBatchTaskResult | null> => {
    let limited: AgentBatchTaskResult | null = null;
    for (let runs = 1; ; runs += 1) {
      states[index] = 'waiting';
      const place = places[index] as TaskPlace;
      const taskOptions: AgentTaskOptions = {
        ...options.task,
        cwd: place.cwd,
        worktree: place.worktree,
        ...(task.sandbox === undefined ? {} : { sandbox: task.sandbox }),
        ...(task.maxTokens === undefined ? {} : { maxTokens: task.maxTokens }),
        task: task.task,
        agent: task.agent,
        agentId: task.id,
        estimatedTokens: task.estimatedTokens,
        timeoutMs: options.timeoutMs ?? 600_000,
        waitMs: options.waitMs ?? 3_600_000,
        ...(options.signal ? { signal: options.signal } : {}),
        admissionSignal: dispatch.signal,
        onEvent: (event) => onEvent(task, index, event),
      };
      const attemptStarted = Date.now();
      const result = await runPlannedTask(
        orch,
        taskChecked ? alreadyChecked(taskOptions) : taskOptions,
        place.worktree ? (plans.get(place.cwd) ?? null) : null,
      ).catch((error: unknown) => worktreeRefusal(error, task, taskOptions, Date.now() - attemptStarted));
      const withId = { id: task.id, ...result };
      // Dropped from the queue because the batch stopped dispatching: not started, or left for after the reset.
      if (
        !result.ok &&
        result.error?.code === 'stopped' &&
        result.sessionId === null &&
        stoppedForLimit !== null &&
        !aborted()
      )
        return limited;
      if (
        result.error?.usageLimit === undefined ||
        runs >= MAX_USAGE_LIMIT_RUNS ||
        stoppedForLimit !== null ||
        aborted()
      )
        return withId;
      // A usage limit ended it and no provider was left: it runs again once the limit resets (its admission waits for that).
      limited = withId;
      states[index] = 'waiting';
      options.onUsageLimit?.(task, withId);
      checkPause();
    }
  };

  const stopDispatching = (error: unknown): never => {
    dispatch.abort();
    next = tasks.length;
    throw error;
  };

  const worker = async (): Promise<void> => {
    while (next < tasks.length && !aborted() && stoppedForLimit === null) {
      const index = next;
      next += 1;
      const task = tasks[index] as BatchTask;
      const result = await runTask(task, index);
      states[index] = 'done';
      if (result !== null) {
        results.set(index, result);
        options.onResult?.(task, result);
      }
      checkPause();
    }
  };
  // One worker's rejection (a bug) must not leave the others' agents running unseen: stop dispatching, let them end.
  const workers = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, tasks.length) }, () => worker().catch(stopDispatching)),
  );
  const broken = workers.find((outcome) => outcome.status === 'rejected');
  if (broken !== undefined) throw broken.reason;
  const ordered = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  const notStarted = tasks.filter((_, index) => !results.has(index)).map((t) => t.id);
  return {
    results: ordered,
    notStarted,
    interrupted: aborted(),
    stoppedForLimit,
    maxRunning,
    throttled,
    requeues,
    elapsedMs: Date.now() - started,
  };
}

/**
 * A task whose worktree could not be created once the batch ran (another batch took its branch since
 * the check): that task fails with `invalid-workspace`, never admitted; the batch goes on. Rethrows anything else.
 */
function worktreeRefusal(
  error: unknown,
  task: BatchTask,
  taskOptions: AgentTaskOptions,
  durationMs: number,
): AgentTaskResult {
  if (!isAgentvisorError(error, 'invalid-workspace')) throw error;
  return {
    ok: false,
    agentId: task.id,
    provider: null,
    agent: null,
    sessionId: null,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    fallbacks: [],
    result: null,
    runs: 0,
    durationMs,
    sandbox: taskOptions.sandbox ?? DEFAULT_SANDBOX_MODE,
    permissionDenials: [],
    error: taskError(error),
  };
}
