import type { AgentBatchResult, AgentBatchTaskResult } from '../agents';
import type { OrchestratorStats } from '../orchestrator';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { formatResetTime } from './providerEventLines';
import { agentChain } from './runCommands';
import { renderTable } from './table';

/** Per provider at the end of a batch: what ran there, what the budget says, how its limit moved. */
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
  /** The concurrency admission allowed at the end: the adaptive limit, or maxConcurrent when adaptive concurrency is off. */
  readonly effectiveLimit: number;
  /** The lowest effective limit during the batch. */
  readonly lowestLimit: number;
  /** How many times adaptive concurrency moved the limit. */
  readonly limitChanges: number;
  /** Runs that ended on server-side throttling (429 that is not a usage limit, 529/503). */
  readonly throttled: number;
  /** Throttled sessions that went back to the queue instead of failing. */
  readonly requeues: number;
  /** A usage limit pauses the provider until then (epoch ms), or null. */
  readonly pausedUntil: number | null;
  /** Left reserved after the batch: 0 unless something leaked. */
  readonly reserved: number;
  readonly active: number;
}

/** The last stdout line of `batch --json`. */
export interface BatchSummary {
  readonly ok: boolean;
  readonly interrupted: boolean;
  /** Set when the batch stopped because every provider it could use was paused by a usage limit: when they reset (epoch ms). */
  readonly stoppedForLimit: {
    readonly resumesAt: number;
    readonly pausedUntil: Readonly<Partial<Record<ProviderId, number>>>;
  } | null;
  /** Tasks in the file, skipped ones included. */
  readonly total: number;
  readonly counts: {
    readonly succeeded: number;
    readonly failed: number;
    readonly stopped: number;
    readonly notStarted: number;
    /** Ended by a usage limit and left for after its reset. */
    readonly paused: number;
    /** Succeeded in an earlier run (`--resume`): not run again. */
    readonly skipped: number;
  };
  readonly notStartedIds: readonly string[];
  readonly pausedIds: readonly string[];
  readonly skippedIds: readonly string[];
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  readonly fallbacks: number;
  readonly providers: Readonly<Record<ProviderId, BatchProviderSummary>>;
  /** The journal of finished tasks, or null without one. */
  readonly journal: string | null;
  readonly elapsedMs: number;
}

/** What the command saw besides the batch result. */
export interface BatchContext {
  readonly total: number;
  readonly skippedIds: readonly string[];
  readonly journal: string | null;
  /** Per provider: the lowest adaptive limit seen and how many times it changed. */
  readonly limits: Readonly<Record<ProviderId, { readonly lowest: number; readonly changes: number }>>;
}

const isStopped = (r: AgentBatchTaskResult): boolean => !r.ok && r.error?.code === 'stopped';
const isPaused = (r: AgentBatchTaskResult): boolean => !r.ok && r.error?.usageLimit !== undefined;

/**
 * The batch's totals from its results and the orchestrator's stats after it ended.
 *
 * @example summarizeBatch(batch, orch.stats(), { total: 12, skippedIds: [], journal: null, limits })
 */
export function summarizeBatch(batch: AgentBatchResult, stats: OrchestratorStats, context: BatchContext): BatchSummary {
  const counts = {
    succeeded: batch.results.filter((r) => r.ok).length,
    failed: batch.results.filter((r) => !r.ok && !isStopped(r) && !isPaused(r)).length,
    stopped: batch.results.filter(isStopped).length,
    notStarted: batch.notStarted.length,
    paused: batch.results.filter(isPaused).length,
    skipped: context.skippedIds.length,
  };
  const usage = batch.results.reduce(
    (sum, r) => ({
      inputTokens: sum.inputTokens + r.usage.inputTokens,
      outputTokens: sum.outputTokens + r.usage.outputTokens,
    }),
    { inputTokens: 0, outputTokens: 0 },
  );
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
          effectiveLimit: s.effectiveLimit,
          lowestLimit: Math.min(context.limits[p].lowest, s.effectiveLimit),
          limitChanges: context.limits[p].changes,
          throttled: batch.throttled[p],
          requeues: batch.requeues[p],
          pausedUntil: s.pausedUntil,
          reserved: s.reserved,
          active: s.active,
        },
      ];
    }),
  ) as Record<ProviderId, BatchProviderSummary>;
  const stop = batch.stoppedForLimit;
  return {
    ok:
      !batch.interrupted &&
      stop === null &&
      counts.failed === 0 &&
      counts.stopped === 0 &&
      counts.notStarted === 0 &&
      counts.paused === 0,
    interrupted: batch.interrupted,
    stoppedForLimit: stop === null ? null : { resumesAt: stop.resumesAt, pausedUntil: stop.pausedUntil },
    total: context.total,
    counts,
    notStartedIds: batch.notStarted,
    pausedIds: batch.results.filter(isPaused).map((r) => r.id),
    skippedIds: context.skippedIds,
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    fallbacks: batch.results.reduce((n, r) => n + r.fallbacks.length, 0),
    providers,
    journal: context.journal,
    elapsedMs: batch.elapsedMs,
  };
}

function statusOf(result: AgentBatchTaskResult): string {
  if (result.ok) return result.permissionDenials.length === 0 ? 'ok' : `ok, ${result.permissionDenials.length} refused`;
  const limit = result.error?.usageLimit;
  if (limit !== undefined) return `paused (${limit.provider} usage limit)`;
  return result.error?.code === 'stopped' ? 'stopped' : `failed (${result.error?.code ?? 'error'})`;
}

/**
 * The closing line of counts: "12 tasks: 10 succeeded, 1 failed, 0 stopped, 1 not started; …".
 *
 * @example countsLine(summary) // '2 tasks: 2 succeeded, 0 failed, 0 stopped, 0 not started; 30 tokens; 1 fallbacks; 2.1 s'
 */
export function countsLine(summary: BatchSummary): string {
  const c = summary.counts;
  const extra = [c.paused > 0 ? `, ${c.paused} paused` : '', c.skipped > 0 ? `, ${c.skipped} done earlier` : ''].join(
    '',
  );
  return (
    `${summary.total} tasks: ${c.succeeded} succeeded, ${c.failed} failed, ${c.stopped} stopped, ${c.notStarted} not started${extra}; ` +
    `${summary.usage.totalTokens.toLocaleString('en-US')} tokens; ` +
    `${summary.fallbacks} fallbacks; ${(summary.elapsedMs / 1000).toFixed(1)} s${summary.interrupted ? ' (interrupted)' : ''}`
  );
}

/**
 * The tables for people: one row per task (skipped ones as `done earlier`), one per provider
 * (limits, throttling, requeues, pauses), then the counts.
 *
 * @example process.stdout.write(`${summaryTables(batch, summary).join('\n')}\n`);
 */
export function summaryTables(batch: AgentBatchResult, summary: BatchSummary): string[] {
  const now = Date.now();
  // Worktree batches also list each task's branch and how many files its agent changed there.
  const worktrees = batch.results.some((r) => r.worktree !== undefined);
  const extra = (r: AgentBatchTaskResult | null): (string | number)[] => {
    if (!worktrees) return [];
    if (r?.worktree === undefined) return ['-', '-'];
    return [
      r.worktree.keptAt === undefined ? r.worktree.branch : `${r.worktree.branch} (kept at ${r.worktree.keptAt})`,
      r.worktree.filesChanged.length,
    ];
  };
  return [
    renderTable(
      ['task', 'status', 'agents', 'tokens', 'fallbacks', 'seconds', ...(worktrees ? ['branch', 'files changed'] : [])],
      [
        ...summary.skippedIds.map((id) => [id, 'done earlier', '-', '-', '-', '-', ...extra(null)]),
        ...batch.results.map((r) => [
          r.id,
          statusOf(r),
          agentChain(r),
          r.usage.totalTokens,
          r.fallbacks.length,
          (r.durationMs / 1000).toFixed(1),
          ...extra(r),
        ]),
        ...batch.notStarted.map((id) => [id, 'not started', '-', 0, 0, '-', ...extra(null)]),
      ],
    ),
    '',
    renderTable(
      [
        'provider',
        'tasks',
        'tokens',
        'fallbacks',
        'max running',
        'limit',
        'effective',
        'lowest',
        'throttled',
        'requeued',
        'paused until',
      ],
      PROVIDER_IDS.map((p) => {
        const s = summary.providers[p];
        return [
          p,
          s.tasks,
          s.tokens,
          s.fallbacks,
          s.maxRunning,
          s.maxConcurrent,
          s.effectiveLimit,
          s.lowestLimit,
          s.throttled,
          s.requeues,
          s.pausedUntil === null ? '-' : formatResetTime(s.pausedUntil, now),
        ];
      }),
    ),
    '',
    countsLine(summary),
  ];
}
