import { createStore } from '@xstate/store';

/** Counts since start, built from the coordinator's events (stats().activity). */
export interface Activity {
  readonly admitted: number;
  readonly queued: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly fallbacks: number;
  /** Sessions throttled before doing any work that went back to the queue (not failures, not fallbacks). */
  readonly requeued: number;
  readonly released: Readonly<Record<string, number>>;
  /** Usage beyond the daily limit reported since start (real usage that had already happened). */
  readonly overrunTokens: number;
}

const bump = (counts: Readonly<Record<string, number>>, key: string) => ({ ...counts, [key]: (counts[key] ?? 0) + 1 });

/**
 * A read model beside the machines: the coordinator owns the budget (stats().providers comes
 * straight from its snapshot); this store only aggregates what happened, which no machine needs.
 */
export function createActivityStore() {
  const initial: Activity = { admitted: 0, queued: 0, refused: {}, fallbacks: 0, requeued: 0, released: {}, overrunTokens: 0 };
  return createStore({
    context: initial,
    on: {
      admitted: (context) => ({ ...context, admitted: context.admitted + 1 }),
      queued: (context) => ({ ...context, queued: context.queued + 1 }),
      refused: (context, event: { code: string }) => ({ ...context, refused: bump(context.refused, event.code) }),
      fallback: (context) => ({ ...context, fallbacks: context.fallbacks + 1 }),
      requeued: (context) => ({ ...context, requeued: context.requeued + 1 }),
      released: (context, event: { reason: string }) => ({ ...context, released: bump(context.released, event.reason) }),
      overrun: (context, event: { tokens: number }) => ({ ...context, overrunTokens: context.overrunTokens + event.tokens }),
    },
  });
}

export type ActivityStore = ReturnType<typeof createActivityStore>;
