import type { Budgets } from '../../machines/budget';
import type { CoordinatorInput } from '../../machines/coordinator.types';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { windowAt } from '../quota/dailyWindow';
import type { ResolvedOptions } from './options';

/** Each provider's configured daily limit and concurrency. */
export type ConfiguredLimits = Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;

/**
 * The configured limits of every provider (on a shared ledger: the global ones).
 *
 * @example providerLimitsOf(resolveOptions({})).claude // { dailyLimit: …, maxConcurrent: 10 }
 */
export function providerLimitsOf(o: Pick<ResolvedOptions, 'budgets'>): ConfiguredLimits {
  return Object.fromEntries(
    PROVIDER_IDS.map((p) => [p, { dailyLimit: o.budgets[p].dailyLimit, maxConcurrent: o.budgets[p].maxConcurrent }]),
  ) as ConfiguredLimits;
}

/**
 * The coordinator's input at start: its settings from the options, the budgets it starts from
 * (lowered by what other hosts hold on a shared ledger) and the daily window at `now`.
 *
 * @example
 * const input = coordinatorInputOf(options, { sharedLedger: false, budgets: options.budgets, now: Date.now() });
 */
export function coordinatorInputOf(
  o: ResolvedOptions,
  start: { readonly sharedLedger: boolean; readonly budgets: Budgets; readonly now: number },
): CoordinatorInput {
  const {
    fallbackChain,
    maxFallbacks,
    leaseMs,
    maxQueue,
    lowWatermark,
    retryHintMs,
    circuit,
    usageLimitPauseMs,
    sweepIntervalMs,
  } = o;
  const window = windowAt(start.now, o.dailyReset);
  return {
    config: {
      fallbackChain,
      maxFallbacks,
      leaseMs,
      maxQueue,
      lowWatermark,
      retryHintMs,
      circuit,
      usageLimitPauseMs,
      sweepIntervalMs,
      adaptive: o.adaptiveConcurrency,
      sharedLedger: start.sharedLedger,
      globalLimits: providerLimitsOf(o),
      failurePolicies: o.failurePolicy,
      maxRequeues: o.requeue.maxRequeues,
    },
    budgets: start.budgets,
    now: start.now,
    day: window.day,
    nextResetAt: window.nextResetAt,
  };
}
