import fs from 'node:fs';
import type { Command } from 'commander';
import { parseBatchTasks, runAgentBatch } from '../agents';
import type { AgentBatchResult, AgentBatchTaskResult, BatchTask } from '../agents';
import { AgentvisorError } from '../errors';
import type { OrchestratorStats } from '../orchestrator';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { commandContext, note, redactSecrets } from './context';
import { DEFAULT_ESTIMATE, EXIT_INTERRUPTED, EXIT_TASK_FAILED, agentChain, limitsFrom, onInterrupt, parseProviderNumbers, startCliOrchestrator, wholeNumber } from './runCommands';
import { renderTable } from './table';

interface BatchOptions {
  readonly concurrency: number;
  readonly maxConcurrent?: Partial<Record<ProviderId, number>>;
  readonly dailyLimit?: Partial<Record<ProviderId, number>>;
  readonly timeout: number;
  readonly wait: number;
  readonly estimate: number;
}

/** Per provider at the end of a batch: what ran there and what the budget says. */
export interface BatchProviderSummary {
  /** Tasks that ended on this provider. */
  readonly tasks: number;
  /** Tokens used on this provider (the budget's count). */
  readonly tokens: number;
  /** Fallbacks away from this provider. */
  readonly fallbacks: number;
  /** The most agent CLI processes alive at once here. */
  readonly maxRunning: number;
  readonly maxConcurrent: number;
  /** Left reserved after the batch: 0 unless something leaked. */
  readonly reserved: number;
  readonly active: number;
}

/** The last stdout line of `batch --json`. */
export interface BatchSummary {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly total: number;
  readonly counts: { readonly succeeded: number; readonly failed: number; readonly stopped: number; readonly notStarted: number };
  readonly notStartedIds: readonly string[];
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  readonly fallbacks: number;
  readonly providers: Readonly<Record<ProviderId, BatchProviderSummary>>;
  readonly elapsedMs: number;
}

function readTasks(file: string, estimate: number): BatchTask[] {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'EIO';
    throw new AgentvisorError('invalid-option', `cannot read the tasks file ${file} (${code}): check the path`, { details: { file, reason: code } });
  }
  return parseBatchTasks(text, { source: file === '-' ? 'stdin' : file, defaultEstimate: estimate });
}

/**
 * The batch's totals from its results and the orchestrator's stats after it ended.
 *
 * @example summarizeBatch(batch, tasks.length, orch.stats())
 */
export function summarizeBatch(batch: AgentBatchResult, total: number, stats: OrchestratorStats): BatchSummary {
  const isStopped = (r: AgentBatchTaskResult) => !r.ok && r.error?.code === 'stopped';
  const counts = {
    succeeded: batch.results.filter((r) => r.ok).length,
    failed: batch.results.filter((r) => !r.ok && !isStopped(r)).length,
    stopped: batch.results.filter(isStopped).length,
    notStarted: batch.notStarted.length,
  };
  const usage = batch.results.reduce((sum, r) => ({ inputTokens: sum.inputTokens + r.usage.inputTokens, outputTokens: sum.outputTokens + r.usage.outputTokens }), { inputTokens: 0, outputTokens: 0 });
  const providers = Object.fromEntries(
    PROVIDER_IDS.map((p): [ProviderId, BatchProviderSummary] => {
      const s = stats.providers[p];
      return [
        p,
        {
          tasks: batch.results.filter((r) => r.provider === p).length,
          tokens: s.used,
          fallbacks: batch.results.reduce((n, r) => n + r.fallbacks.filter((f) => f.from === p).length, 0),
          maxRunning: batch.maxRunning[p],
          maxConcurrent: s.maxConcurrent,
          reserved: s.reserved,
          active: s.active,
        },
      ];
    }),
  ) as Record<ProviderId, BatchProviderSummary>;
  return {
    ok: !batch.interrupted && counts.failed === 0 && counts.stopped === 0 && counts.notStarted === 0,
    interrupted: batch.interrupted,
    total,
    counts,
    notStartedIds: batch.notStarted,
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    fallbacks: batch.results.reduce((n, r) => n + r.fallbacks.length, 0),
    providers,
    elapsedMs: batch.elapsedMs,
  };
}

function statusOf(result: AgentBatchTaskResult): string {
  if (result.ok) return 'ok';
  return result.error?.code === 'stopped' ? 'stopped' : `failed (${result.error?.code ?? 'error'})`;
}

function summaryTables(batch: AgentBatchResult, summary: BatchSummary): string[] {
  const c = summary.counts;
  return [
    renderTable(
      ['task', 'status', 'agents', 'tokens', 'fallbacks', 'seconds'],
      [
        ...batch.results.map((r) => [r.id, statusOf(r), agentChain(r), r.usage.totalTokens, r.fallbacks.length, (r.durationMs / 1000).toFixed(1)]),
        ...batch.notStarted.map((id) => [id, 'not started', '-', 0, 0, '-']),
      ],
    ),
    '',
    renderTable(
      ['provider', 'tasks', 'tokens', 'fallbacks', 'max running', 'limit'],
      PROVIDER_IDS.map((p) => {
        const s = summary.providers[p];
        return [p, s.tasks, s.tokens, s.fallbacks, s.maxRunning, s.maxConcurrent];
      }),
    ),
    '',
    `${summary.total} tasks: ${c.succeeded} succeeded, ${c.failed} failed, ${c.stopped} stopped, ${c.notStarted} not started; ${summary.usage.totalTokens.toLocaleString('en-US')} tokens; ${summary.fallbacks} fallbacks; ${(summary.elapsedMs / 1000).toFixed(1)} s${summary.interrupted ? ' (interrupted)' : ''}`,
  ];
}

/** A one-line progress bar redrawn in place on a terminal. */
class ProgressBar {
  #done = 0;
  #ok = 0;
  readonly #running: Record<ProviderId, number> = { claude: 0, openai: 0 };
  constructor(
    private readonly total: number,
    private readonly limits: Readonly<Record<ProviderId, number>>,
  ) {}

  runStarted(provider: ProviderId): void {
    this.#running[provider] += 1;
    this.draw();
  }

  runEnded(provider: ProviderId): void {
    this.#running[provider] -= 1;
    this.draw();
  }

  taskEnded(ok: boolean): void {
    this.#done += 1;
    if (ok) this.#ok += 1;
    this.draw();
  }

  draw(): void {
    const width = 24;
    const filled = Math.round((this.#done / this.total) * width);
    const running = PROVIDER_IDS.map((p) => `${p} ${this.#running[p]}/${this.limits[p]}`).join(', ');
    process.stdout.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.#done}/${this.total}  ok ${this.#ok}  failed ${this.#done - this.#ok}  running: ${running}\x1b[K`);
  }

  finish(): void {
    process.stdout.write('\n');
  }
}

/**
 * `agentvisor batch <tasks.jsonl> [--concurrency N]`: many tasks under the limits. Progress is a
 * bar on a terminal and one JSON line per finished task otherwise (and with `--json`), then a
 * summary table (with `--json`, a summary object as the last stdout line). Ctrl-C stops admission,
 * stops the running agents' process groups, releases their reservations and prints what ran.
 * Exit 0 when every task succeeded, 1 when some failed, 130 after Ctrl-C.
 *
 * @example addBatchCommand(program);
 */
export function addBatchCommand(program: Command): void {
  program
    .command('batch')
    .description('run the tasks of a JSON Lines file ({ id, task, agent?, estimate? } per line) through the agent CLIs under the limits')
    .argument('<tasks.jsonl>', 'the tasks file (- reads stdin)')
    .option('--concurrency <n>', 'tasks in progress at once (agent processes); the provider limits apply on top', wholeNumber(1, 1000), 4)
    .option('--max-concurrent <limits>', 'per-provider session limits, e.g. claude=3,openai=2 (default: claude 10, openai 8)', parseProviderNumbers)
    .option('--daily-limit <limits>', 'per-provider daily token limits, e.g. claude=200000', parseProviderNumbers)
    .option('--estimate <tokens>', 'the estimate of tasks whose line has none', wholeNumber(1, 1_000_000_000), DEFAULT_ESTIMATE)
    .option('--timeout <seconds>', 'stop a task after this long (from its admission)', wholeNumber(1, 86_400), 600)
    .option('--wait <seconds>', 'how long a task may wait for a free slot or budget', wholeNumber(0, 86_400), 3600)
    .action(async (file: string, opts: BatchOptions, command: Command) => {
      const context = commandContext(command);
      const tasks = readTasks(file, opts.estimate);
      const { orch, close } = await startCliOrchestrator(context, limitsFrom(opts.maxConcurrent, opts.dailyLimit));
      const limits = orch.stats().providers;
      const bar = !context.json && process.stdout.isTTY === true ? new ProgressBar(tasks.length, { claude: limits.claude.maxConcurrent, openai: limits.openai.maxConcurrent }) : null;
      const controller = new AbortController();
      const removeHandler = onInterrupt(() => {
        if (bar) process.stdout.write('\n');
        note('agentvisor: stopping: no new task starts, running agents are being stopped (Ctrl-C again to quit at once)');
        controller.abort();
        // Closes admission at once (waiting tasks are refused) and releases every live session.
        void orch.stop();
      });
      bar?.draw();
      let batch: AgentBatchResult;
      try {
        batch = await runAgentBatch(orch, tasks, {
          concurrency: opts.concurrency,
          timeoutMs: opts.timeout * 1000,
          waitMs: opts.wait * 1000,
          signal: controller.signal,
          onEvent: (_task, event) => {
            if (event.type === 'run.started') bar?.runStarted(event.provider);
            else if (event.type === 'run.ended') bar?.runEnded(event.provider);
          },
          onResult: (_task, result) => {
            if (bar) bar.taskEnded(result.ok);
            else process.stdout.write(`${redactSecrets(JSON.stringify(result))}\n`);
          },
        });
      } finally {
        removeHandler();
        await close();
      }
      bar?.finish();
      const summary = summarizeBatch(batch, tasks.length, orch.stats());
      if (context.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`${redactSecrets(summaryTables(batch, summary).join('\n'))}\n`);
      if (batch.interrupted) note(`agentvisor: interrupted: ${summary.counts.succeeded + summary.counts.failed} tasks finished, ${summary.counts.stopped} stopped, ${summary.counts.notStarted} not started`);
      process.exitCode = batch.interrupted ? EXIT_INTERRUPTED : summary.ok ? 0 : EXIT_TASK_FAILED;
    });
}
