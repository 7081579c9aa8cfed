import fs from 'node:fs';
import type { Command } from 'commander';
import {
  DEFAULT_WAIT_FOR_RESET_MS,
  describeSandbox,
  MAX_TASKS_FILE_BYTES,
  openBatchJournal,
  planBatchWorkspaces,
  parseBatchTasks,
  readBatchJournal,
  runAgentBatch,
  succeededTasks,
} from '../agents';
import type {
  AgentBatchOptions,
  AgentBatchResult,
  AgentTaskResult,
  BatchJournal,
  BatchPause,
  BatchTask,
  SandboxMode,
} from '../agents';
import { createCredentialResolver } from '../credentials';
import { readBoundedStream } from '../storage/boundedRead';
import type { BoundedText } from '../storage/boundedRead';
import { alreadyChecked } from '../schema/checkOptions';
import { AgentvisorError, errnoOf } from '../errors';
import type { Orchestrator } from '../orchestrator';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { resolveJournalChoice } from './batchJournalChoice';
import type { JournalFlags } from './batchJournalChoice';
import { BatchProgressBar } from './batchProgress';
import { summarizeBatch, summaryTables } from './batchSummary';
import { commandContext, note, redactSecrets } from './context';
import type { CommandContext } from './context';
import { formatResetTime, watchProviderEvents } from './providerEventLines';
import {
  DEFAULT_ESTIMATE,
  EXIT_PAUSED,
  EXIT_TASK_FAILED,
  limitsFrom,
  parseProviderNumbers,
  sandboxOption,
  startCliOrchestrator,
  wholeNumber,
  workingDirectory,
} from './runCommands';
import { onStopSignals, stopSignalNote, sweepLeftoverHomes } from './stopSignals';
import type { StopSignals } from './stopSignals';

export type { BatchProviderSummary, BatchSummary } from './batchSummary';
export { summarizeBatch } from './batchSummary';

interface BatchOptions extends JournalFlags {
  readonly concurrency: number;
  readonly maxConcurrent?: Partial<Record<ProviderId, number>>;
  readonly dailyLimit?: Partial<Record<ProviderId, number>>;
  readonly adaptive: boolean;
  readonly initialLimit?: Partial<Record<ProviderId, number>>;
  readonly timeout: number;
  readonly wait: number;
  readonly waitForReset: number;
  readonly estimate: number;
  readonly sandbox: SandboxMode;
  readonly cwd?: string;
  readonly worktree?: boolean;
  readonly maxTokens?: number;
}

/**
 * The tasks of `file` (`-`: stdin), read up to MAX_TASKS_FILE_BYTES: a bigger file, `/dev/zero` or an
 * endless pipe is refused (`invalid-option`) once the bound is passed, its stream destroyed, not read on.
 */
async function readTasks(file: string, estimate: number): Promise<BatchTask[]> {
  const source = file === '-' ? 'stdin' : file;
  let read: BoundedText;
  try {
    read = await readBoundedStream(file === '-' ? process.stdin : fs.createReadStream(file), MAX_TASKS_FILE_BYTES);
  } catch (error) {
    const code = errnoOf(error) ?? 'EIO';
    throw new AgentvisorError('invalid-option', `cannot read the tasks file ${file} (${code}): check the path`, {
      details: { file, reason: code },
    });
  }
  if (read.overLimit)
    throw new AgentvisorError(
      'invalid-option',
      `the tasks in ${source} hold more than ${MAX_TASKS_FILE_BYTES / 1024 / 1024} MB: ` +
        'split them into several batches, and put long instructions in files the tasks name',
      { details: { file, maxBytes: MAX_TASKS_FILE_BYTES } },
    );
  return parseBatchTasks(read.text, { source, defaultEstimate: estimate });
}

/** Providers `auto` tasks can start on: switched on, a credential found the way `status` finds it, and limits that are not 0. */
async function usableProviders(context: CommandContext, orch: Orchestrator): Promise<ProviderId[]> {
  const resolver = createCredentialResolver({ env: process.env, home: context.home, claudeHome: context.claudeHome });
  await resolver.load();
  const stats = orch.stats().providers;
  return PROVIDER_IDS.filter(
    (p) => stats[p].enabled && resolver.describe(p) !== null && stats[p].maxConcurrent > 0 && stats[p].dailyLimit > 0,
  );
}

/** The tasks still to run: with `--resume`, those the journal does not list as succeeded (same id, same text and agent). */
function tasksToRun(
  tasks: readonly BatchTask[],
  journal: { file: string | null; resume: boolean },
): { toRun: BatchTask[]; skippedIds: string[] } {
  if (!journal.resume || journal.file === null) return { toRun: [...tasks], skippedIds: [] };
  const reading = readBatchJournal(journal.file);
  const done = succeededTasks(reading.entries, tasks);
  if (reading.skippedLines > 0)
    note(
      `agentvisor: ${journal.file}: ${reading.skippedLines} line(s) that are not task entries were skipped (a line cut short when a batch was killed, say)`,
    );
  note(
    `agentvisor: resuming from ${journal.file}: ${done.size} of ${tasks.length} tasks succeeded before and are skipped; ${tasks.length - done.size} to run`,
  );
  return {
    toRun: tasks.filter((t) => !done.has(t.id)),
    skippedIds: tasks.filter((t) => done.has(t.id)).map((t) => t.id),
  };
}

/** A finished task goes to the journal; one stopped, or left for after a usage limit's reset, runs again on resume. */
function isFinished(result: AgentTaskResult): boolean {
  return result.ok || (result.error?.code !== 'stopped' && result.error?.usageLimit === undefined);
}

function pauseLine(
  pause: BatchPause,
  batch: { done: number; total: number; doneIds: readonly string[] } | null,
): string {
  const providers = Object.entries(pause.pausedUntil)
    .map(([p, until]) => `${p} resets at ${formatResetTime(until)}`)
    .join(', ');
  if (pause.action === 'wait')
    return `every provider the remaining tasks can use is paused by a usage limit (${providers}): waiting for the reset`;
  const ids =
    batch === null ? '' : ` (${batch.doneIds.slice(0, 20).join(', ')}${batch.doneIds.length > 20 ? ', …' : ''})`;
  const done = batch === null ? '' : ` Done: ${batch.done} of ${batch.total} tasks${batch.done > 0 ? ids : ''}.`;
  return (
    `stopped: every provider the remaining tasks can use is paused by a usage limit (${providers}).${done} ` +
    `Run the batch again with --resume after the reset`
  );
}

function exitCode(batch: AgentBatchResult, ok: boolean, paused: number, stop: StopSignals): number {
  if (batch.interrupted) return stop.exitCode(EXIT_TASK_FAILED);
  if (batch.stoppedForLimit !== null || paused > 0) return EXIT_PAUSED;
  return ok ? 0 : EXIT_TASK_FAILED;
}

/**
 * `agentvisor batch <tasks.jsonl> [--concurrency N]`: many tasks under the limits, with adaptive
 * concurrency per provider (AIMD; `--no-adaptive` to turn it off), throttled sessions requeued
 * instead of failed, usage-limit pauses waited out (`--wait-for-reset`) or the batch stopped, and a
 * journal of finished tasks that `--resume` skips. Progress is a bar on a terminal and one JSON
 * line per finished task otherwise (and with `--json`); limit changes, requeues and pauses are
 * noted on stderr; then a summary table (with `--json`, a summary object as the last stdout line).
 * Ctrl-C stops admission, stops the running agents' process groups, releases their reservations
 * and prints what ran. Exit 0 when every task succeeded, 1 when some failed, 75 when it stopped on
 * a usage limit (resume after the reset), 130 after Ctrl-C.
 *
 * @example addBatchCommand(program);
 */
export function addBatchCommand(program: Command): void {
  program
    .command('batch')
    .description(
      'run the tasks of a JSON Lines file ({ id, task, agent?, estimate?, sandbox?, maxTokens?, cwd?, worktree? } ' +
        'per line) through the agent CLIs under the limits',
    )
    .argument('<tasks.jsonl>', 'the tasks file (- reads stdin)')
    .option(
      '--concurrency <n>',
      'tasks in progress at once (agent processes); the provider limits apply on top',
      wholeNumber(1, 1000),
      4,
    )
    .option(
      '--max-concurrent <limits>',
      'per-provider session limits, e.g. claude=3,openai=2 (default: claude 10, openai 8)',
      parseProviderNumbers,
    )
    .option('--daily-limit <limits>', 'per-provider daily token limits, e.g. claude=200000', parseProviderNumbers)
    .option('--no-adaptive', 'turn adaptive concurrency off: the --max-concurrent limits apply as they are')
    .option(
      '--initial-limit <limits>',
      'where adaptive concurrency starts, e.g. claude=2,openai=2 (default: half of each --max-concurrent)',
      parseProviderNumbers,
    )
    .option(
      '--estimate <tokens>',
      'the estimate of tasks whose line has none',
      wholeNumber(1, 1_000_000_000),
      DEFAULT_ESTIMATE,
    )
    .option('--timeout <seconds>', 'stop a task after this long (from its admission)', wholeNumber(1, 86_400), 600)
    .option('--wait <seconds>', 'how long a task may wait for a free slot or budget', wholeNumber(0, 86_400), 3600)
    .option(
      '--wait-for-reset <seconds>',
      'when every provider is paused by a usage limit, wait this long at most for the reset; stop the batch (exit 75) when it is further away',
      wholeNumber(0, 7 * 86_400),
      DEFAULT_WAIT_FOR_RESET_MS / 1000,
    )
    .option('--journal <file>', 'where finished tasks are recorded (JSON lines, 0600; default: <tasks file>.journal)')
    .option('--no-journal', 'keep no journal')
    .option(
      '--resume [journal]',
      'skip the tasks the journal lists as succeeded (default journal: <tasks file>.journal); appends to it',
    )
    .addOption(sandboxOption())
    .option(
      '--cwd <dir>',
      'the folder the agents work in; a task\'s own "cwd" is relative to it (default: the current folder)',
    )
    .option(
      '--worktree',
      'run each task in its own git worktree on a new branch agentvisor/<task id>, committed there when the task ends (the checkout must be clean)',
    )
    .option(
      '--max-tokens <tokens>',
      'stop a task\'s agent once the task has used more than this many tokens (a task\'s own "maxTokens" wins)',
      wholeNumber(1, 1_000_000_000),
    )
    .action(async (file: string, opts: BatchOptions, command: Command) => {
      const context = commandContext(command);
      const tasks = await readTasks(file, opts.estimate);
      const cwd = workingDirectory(opts.cwd);
      const journalChoice = resolveJournalChoice(file, opts);
      const { toRun, skippedIds } = tasksToRun(tasks, journalChoice);
      const taskDefaults = {
        cwd,
        sandbox: opts.sandbox,
        ...(opts.worktree === true ? { worktree: true } : {}),
        ...(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }),
      };
      // Folders and repositories are checked before anything is created (journal, orchestrator, worktrees).
      const workspaces = await planBatchWorkspaces(toRun, { task: taskDefaults });
      const journal: BatchJournal | null =
        journalChoice.file === null
          ? null
          : openBatchJournal(journalChoice.file, { append: journalChoice.resume, total: tasks.length });
      const adaptive = opts.adaptive
        ? { adaptiveConcurrency: opts.initialLimit === undefined ? true : { initial: opts.initialLimit } }
        : {};
      let started;
      try {
        started = await startCliOrchestrator(context, limitsFrom(opts.maxConcurrent, opts.dailyLimit), adaptive);
      } catch (error) {
        journal?.close();
        throw error;
      }
      const { orch, close } = started;
      const limits = orch.stats().providers;
      const bar = !context.json && process.stdout.isTTY === true ? new BatchProgressBar(toRun.length, limits) : null;
      const say = (line: string): void => (bar ? bar.note(`agentvisor: ${line}`) : note(`agentvisor: ${line}`));
      say(
        `sandbox ${describeSandbox(opts.sandbox, opts.worktree === true ? `a worktree of ${cwd} per task (branch agentvisor/<task id>)` : cwd)}` +
          `${tasks.some((t) => t.sandbox !== undefined && t.sandbox !== opts.sandbox) ? '; some tasks set their own' : ''}`,
      );
      const fullAccess =
        opts.sandbox === 'full-access' ? [] : toRun.filter((t) => t.sandbox === 'full-access').map((t) => t.id);
      if (fullAccess.length > 0)
        say(
          `WARNING: ${fullAccess.slice(0, 10).join(', ')}${fullAccess.length > 10 ? ', …' : ''} run with full-access: no permission checks and no sandbox`,
        );
      sweepLeftoverHomes();
      if (opts.adaptive) {
        say(
          `adaptive concurrency: ${PROVIDER_IDS.map((p) => `${p} starts at ${limits[p].effectiveLimit} of ${limits[p].maxConcurrent}`).join(', ')} ` +
            `(one more after a run of successes, halved on throttling; --no-adaptive turns it off)`,
        );
      }
      const unfollow = bar ? orch.subscribeStats((stats) => bar.showProviders(stats.providers)) : null;
      const unwatch = watchProviderEvents(orch, say, { requeues: true });
      const controller = new AbortController();
      const stop = onStopSignals((signal) => {
        if (bar) process.stdout.write('\n');
        note(
          `agentvisor: ${stopSignalNote(signal)}: stopping: no new task starts, running agents are being stopped (again to quit at once)`,
        );
        controller.abort();
        // Closes admission at once (waiting tasks are refused) and releases every live session.
        void orch.stop();
      });
      const doneIds: string[] = [];
      bar?.draw();
      let batch: AgentBatchResult;
      try {
        // From commander's checked flags and the checked tasks file: zod stays off the batch path too (D42).
        batch = await runAgentBatch(
          orch,
          toRun,
          alreadyChecked<AgentBatchOptions>({
            concurrency: opts.concurrency,
            timeoutMs: opts.timeout * 1000,
            waitMs: opts.wait * 1000,
            waitForResetMs: opts.waitForReset * 1000,
            providers: await usableProviders(context, orch),
            task: taskDefaults,
            workspaces,
            signal: controller.signal,
            onEvent: (_task, event) => {
              if (event.type === 'run.started') bar?.runStarted(event.provider);
              else if (event.type === 'run.ended') bar?.runEnded(event.provider);
            },
            onUsageLimit: (task, result) => {
              const limit = result.error?.usageLimit;
              if (limit !== undefined)
                say(
                  `${task.id}: hit the usage limit of ${limit.provider} with no provider left: runs again after the reset (${formatResetTime(limit.resetAt)})`,
                );
            },
            onPause: (pause) =>
              say(
                pauseLine(
                  pause,
                  pause.action === 'stop'
                    ? {
                        done: doneIds.length + skippedIds.length,
                        total: tasks.length,
                        doneIds: [...skippedIds, ...doneIds],
                      }
                    : null,
                ),
              ),
            onResult: (task, result) => {
              if (result.ok) doneIds.push(task.id);
              if (isFinished(result)) journal?.record(task, result);
              if (bar) bar.taskEnded(result.ok);
              else process.stdout.write(`${redactSecrets(JSON.stringify(result))}\n`);
            },
          }),
        );
      } finally {
        stop.remove();
        unwatch();
        unfollow?.();
        journal?.close();
        await close();
      }
      bar?.finish();
      const stats = orch.stats();
      const limitHistory = Object.fromEntries(
        PROVIDER_IDS.map((p) => [
          p,
          {
            lowest: Math.min(limits[p].effectiveLimit, stats.activity.providers[p].lowestLimit ?? Infinity),
            changes: stats.activity.providers[p].limitChanges,
          },
        ]),
      ) as Record<ProviderId, { lowest: number; changes: number }>;
      const summary = summarizeBatch(batch, stats, {
        total: tasks.length,
        skippedIds,
        journal: journal?.file ?? null,
        limits: limitHistory,
      });
      if (context.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`${redactSecrets(summaryTables(batch, summary).join('\n'))}\n`);
      if (batch.interrupted)
        note(
          `agentvisor: interrupted: ${summary.counts.succeeded + summary.counts.failed} tasks finished, ` +
            `${summary.counts.stopped} stopped, ${summary.counts.notStarted} not started`,
        );
      if (journal !== null && !summary.ok)
        note(
          `agentvisor: finished tasks are in ${journal.file}; run the batch again with --resume to skip the ones that succeeded`,
        );
      process.exitCode = exitCode(batch, summary.ok, summary.counts.paused, stop);
    });
}
