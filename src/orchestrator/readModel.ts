import { createStore } from '@xstate/store';
import { availableTokens } from '../../machines/budget';
import type { CoordinatorContext } from '../../machines/coordinator.machine';
import { circuitState, windowCounts } from '../../machines/providerHealth';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type { EventRelay } from './eventRelay';
import type { ResolvedOptions } from './options';
import type { OrchestratorStats, ProviderStats } from './types';
import type { TaskKindStats } from './learnedEstimates';

/** What the read model records from the coordinator's events: every count of Activity but the three totals. */
export interface RecordedActivity {
  readonly admitted: number;
  readonly queued: number;
  /** Refused spawns by code (agentvisor_refusals_total{code}). */
  readonly refused: Readonly<Record<string, number>>;
  /** Ended sessions by reason (agentvisor_sessions_released_total{reason}). */
  readonly released: Readonly<Record<string, number>>;
  /** Daily budget resets since start (agentvisor_quota_resets_total). */
  readonly resets: number;
  /** Per provider: adaptive-limit moves, usage-limit pauses, fallbacks away from it, requeues and overrun since start. */
  readonly providers: Readonly<Record<ProviderId, ProviderActivity>>;
}

/**
 * Counts since start, built from the coordinator's events (stats().activity). The metrics' counters
 * are read from it when scraped, label by label, so /metrics and stats() cannot disagree. The three
 * totals are the sums of the per-provider figures, taken when stats() is read (projectStats).
 */
export interface Activity extends RecordedActivity {
  /** All fallbacks; `providers[p].fallbacks` splits them by the provider left and the reason. */
  readonly fallbacks: number;
  /** Sessions throttled before doing any work that went back to the queue (not failures, not fallbacks). */
  readonly requeued: number;
  /** Usage beyond the daily limit reported since start (real usage that had already happened). */
  readonly overrunTokens: number;
}

/** One provider's history since start (stats().activity.providers). */
export interface ProviderActivity {
  /** How often the adaptive concurrency limit moved. */
  readonly limitChanges: number;
  /** The lowest adaptive limit set since start, null while it never moved. */
  readonly lowestLimit: number | null;
  /** Usage-limit pauses since start. */
  readonly pauses: number;
  /** Why the provider is paused now, null when it is not. */
  readonly pauseReason: string | null;
  /** Sessions that fell back away from this provider, by failure kind (agentvisor_fallbacks_total{from,reason}). */
  readonly fallbacks: Readonly<Record<string, number>>;
  /** Sessions requeued to wait for this provider (agentvisor_requeues_total{provider}). */
  readonly requeued: number;
  /** Tokens used beyond this provider's daily limit (agentvisor_quota_overrun_tokens_total{provider}). */
  readonly overrunTokens: number;
}

const noProviderActivity: ProviderActivity = {
  limitChanges: 0,
  lowestLimit: null,
  pauses: 0,
  pauseReason: null,
  fallbacks: {},
  requeued: 0,
  overrunTokens: 0,
};

const withProvider = (
  providers: Activity['providers'],
  provider: ProviderId,
  change: (before: ProviderActivity) => ProviderActivity,
): Activity['providers'] => ({ ...providers, [provider]: change(providers[provider]) });

/** Copies, then sets: a computed key after a spread is V8's slow path (D46). */
const bump = (counts: Readonly<Record<string, number>>, key: string): Readonly<Record<string, number>> => {
  const next: Record<string, number> = { ...counts };
  next[key] = (counts[key] ?? 0) + 1;
  return next;
};

/**
 * The read model beside the machines, fed by the relay: the coordinator owns the budget
 * (stats().providers comes straight from its snapshot); this store only aggregates what happened,
 * which no machine needs, and the metrics' counters read it when scraped. It changes on every
 * counted event, on every provider limit, pause and resume and on each daily reset, so a subscriber
 * (`orch.subscribeStats`) redraws whenever stats() would read differently. Each event copies only
 * the records it changes: the admission cycle's two (admitted, released) cost what they did.
 *
 * @example
 * const readModel = createReadModel(relay);
 * readModel.subscribe((snapshot) => console.log(snapshot.context.admitted));
 */
export function createReadModel(relay: EventRelay) {
  const providers = Object.fromEntries(PROVIDER_IDS.map((p) => [p, noProviderActivity])) as Record<
    ProviderId,
    ProviderActivity
  >;
  const initial: RecordedActivity = { admitted: 0, queued: 0, refused: {}, released: {}, resets: 0, providers };
  const store = createStore({
    context: initial,
    on: {
      admitted: (context) => ({ ...context, admitted: context.admitted + 1 }),
      queued: (context) => ({ ...context, queued: context.queued + 1 }),
      refused: (context, event: { code: string }) => ({ ...context, refused: bump(context.refused, event.code) }),
      fallback: (context, event: { from: ProviderId; reason: string }) => ({
        ...context,
        providers: withProvider(context.providers, event.from, (p) => ({
          ...p,
          fallbacks: bump(p.fallbacks, event.reason),
        })),
      }),
      requeued: (context, event: { provider: ProviderId }) => ({
        ...context,
        providers: withProvider(context.providers, event.provider, (p) => ({ ...p, requeued: p.requeued + 1 })),
      }),
      released: (context, event: { reason: string }) => ({
        ...context,
        released: bump(context.released, event.reason),
      }),
      overrun: (context, event: { provider: ProviderId; tokens: number }) => ({
        ...context,
        providers: withProvider(context.providers, event.provider, (p) => ({
          ...p,
          overrunTokens: p.overrunTokens + event.tokens,
        })),
      }),
      reset: (context) => ({ ...context, resets: context.resets + 1 }),
      limit: (context, event: { provider: ProviderId; limit: number }) => ({
        ...context,
        providers: withProvider(context.providers, event.provider, (p) => ({
          ...p,
          limitChanges: p.limitChanges + 1,
          lowestLimit: Math.min(p.lowestLimit ?? event.limit, event.limit),
        })),
      }),
      paused: (context, event: { provider: ProviderId; reason: string }) => ({
        ...context,
        providers: withProvider(context.providers, event.provider, (p) => ({
          ...p,
          pauses: p.pauses + 1,
          pauseReason: event.reason,
        })),
      }),
      resumed: (context, event: { provider: ProviderId }) => ({
        ...context,
        providers: withProvider(context.providers, event.provider, (p) => ({ ...p, pauseReason: null })),
      }),
    },
  });
  // store.send, not store.trigger: trigger's Proxy rebuilds each event as `{ ...payload, type }`, V8's slow path (D46).
  relay
    .on('agent.admitted', () => store.send({ type: 'admitted' }))
    .on('agent.queued', () => store.send({ type: 'queued' }))
    .on('agent.refused', (e) => store.send({ type: 'refused', code: e.code }))
    .on('agent.fallback', (e) => store.send({ type: 'fallback', from: e.from, reason: e.reason }))
    .on('agent.requeued', (e) => store.send({ type: 'requeued', provider: e.provider }))
    .on('agent.released', (e) => store.send({ type: 'released', reason: e.reason }))
    .on('quota.overrun', (e) => store.send({ type: 'overrun', provider: e.provider, tokens: e.overrunTokens }))
    .on('quota.reset', () => store.send({ type: 'reset' }))
    .on('provider.limit', (e) => store.send({ type: 'limit', provider: e.provider, limit: e.limit }))
    .on('provider.paused', (e) => store.send({ type: 'paused', provider: e.provider, reason: e.reason }))
    .on('provider.resumed', (e) => store.send({ type: 'resumed', provider: e.provider }));
  return store;
}

export type ReadModel = ReturnType<typeof createReadModel>;

/** What stats() reads besides the read model: the coordinator's snapshot, the options, and the shared ledger's view. */
export interface StatsSources {
  readonly context: CoordinatorContext;
  readonly now: number;
  readonly options: Pick<ResolvedOptions, 'budgets' | 'circuit' | 'switches'> & {
    readonly ledger: Pick<ResolvedOptions['ledger'], 'kind'>;
  };
  /** The shared ledger's link, or null for the memory ledger. */
  readonly ledger: {
    readonly state: 'ok' | 'degraded';
    readonly unsettled: number;
    readonly others: Readonly<
      Record<ProviderId, { readonly used: number; readonly reserved: number; readonly active: number }>
    >;
  } | null;
  readonly taskKinds: Readonly<Record<string, TaskKindStats>>;
}

const sum = (values: readonly number[]) => values.reduce((total, n) => total + n, 0);

const withTotals = new WeakMap<RecordedActivity, Activity>();

/**
 * The activity stats() shows: what the read model recorded, with the totals summed from the
 * per-provider figures here and nowhere else, so they cannot disagree. Kept per recorded snapshot,
 * so reading stats() twice without an event in between gives the same object.
 */
function activityOf(recorded: RecordedActivity): Activity {
  let activity = withTotals.get(recorded);
  if (activity === undefined) {
    const providers = Object.values<ProviderActivity>(recorded.providers);
    activity = {
      admitted: recorded.admitted,
      queued: recorded.queued,
      refused: recorded.refused,
      fallbacks: sum(providers.flatMap((p) => Object.values(p.fallbacks))),
      requeued: sum(providers.map((p) => p.requeued)),
      released: recorded.released,
      overrunTokens: sum(providers.map((p) => p.overrunTokens)),
      resets: recorded.resets,
      providers: recorded.providers,
    };
    withTotals.set(recorded, activity);
  }
  return activity;
}

/**
 * The orchestrator's stats: budget and concurrency per provider from the coordinator's snapshot
 * (exact, O(1)), the activity from the read model with its totals summed (activityOf).
 *
 * @example
 * const stats = projectStats(readModel.getSnapshot().context, { context: actor.getSnapshot().context, now, options, ledger: null, taskKinds: {} });
 */
export function projectStats(recorded: RecordedActivity, sources: StatsSources): OrchestratorStats {
  const { context, now, options, ledger } = sources;
  const providers = Object.fromEntries(
    PROVIDER_IDS.map((p): [ProviderId, ProviderStats] => {
      const b = context.budgets[p];
      const h = context.health[p];
      const counts = windowCounts(h, options.circuit, now);
      const state = circuitState(h, now);
      const openUntil = state === 'closed' ? null : h.openUntil;
      const circuit = {
        state,
        openUntil,
        failures: counts.failed,
        requests: counts.ok + counts.failed,
        openings: h.openings,
      };
      const { enabled, disabledBy, rolloutPercent } = options.switches[p];
      const pausedUntil = h.pausedUntil > now ? h.pausedUntil : null;
      // On a shared ledger the figures are global: this host's sessions plus what the others hold.
      const others = ledger?.others[p] ?? { used: 0, reserved: 0, active: 0 };
      const limits = options.budgets[p];
      const used = b.used + others.used;
      const reserved = b.reserved + others.reserved;
      const available = ledger ? Math.max(0, limits.dailyLimit - used - reserved) : availableTokens(b);
      return [
        p,
        {
          dailyLimit: limits.dailyLimit,
          used,
          reserved,
          available,
          active: b.active + others.active,
          maxConcurrent: limits.maxConcurrent,
          effectiveLimit: Math.min(h.limit ?? b.maxConcurrent, b.maxConcurrent),
          pausedUntil,
          overrun: b.overrun,
          circuit,
          enabled,
          disabledBy,
          rolloutPercent,
        },
      ];
    }),
  ) as Record<ProviderId, ProviderStats>;
  const ledgerStats = {
    backend: options.ledger.kind,
    state: ledger?.state ?? 'ok',
    unsettled: ledger?.unsettled ?? 0,
  } as const;
  const { day, nextResetAt } = context;
  return {
    providers,
    queued: context.queue.length,
    day,
    nextResetAt,
    activity: activityOf(recorded),
    taskKinds: sources.taskKinds,
    ledger: ledgerStats,
  };
}
