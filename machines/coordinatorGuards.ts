/**
 * The coordinator's named guards: each branch of admission, fallback, ledger answers and provider
 * failures is a guarded transition in machines/coordinator.machine.ts, so diagrams, the model-based
 * tests and the inspector see it.
 */
import { assertEvent } from 'xstate';
import { admissionCandidates } from './admissionQueue';
import type { CoordinatorEvent } from './coordinator.types';
import { decide, decideFallback, hopelessCode } from './coordinatorContext';
import type { CoordinatorContext } from './coordinatorContext';
import { settle } from './budget';
import { clampAfterRefusal } from './ledgerAdmission';

interface GuardArgs {
  readonly context: CoordinatorContext;
  readonly event: CoordinatorEvent;
}

/**
 * The context after a ledger refusal: the local reservation back, the provider clamped to what the ledger allows.
 *
 * @example
 * const refusal = { type: 'ledger.reserveAnswered', requestId: 'r1', granted: false, code: 'concurrency-limit', retryAfterMs: 1_000, now } as const;
 * afterLedgerRefusal(context, refusal).budgets // the local reservation given back
 */
export function afterLedgerRefusal(
  context: CoordinatorContext,
  event: Extract<CoordinatorEvent, { type: 'ledger.reserveAnswered'; granted: false }>,
): CoordinatorContext {
  const entry = context.confirming[event.requestId]!;
  const { [event.requestId]: _answered, ...confirming } = context.confirming;
  let budgets = settle(context.budgets, entry.provider, entry.allocation);
  if (event.code !== 'ledger-unavailable') budgets = clampAfterRefusal(budgets, entry.provider, event.code);
  return { ...context, confirming, budgets, now: Math.max(context.now, event.now) };
}

/**
 * The coordinator's guards, by name.
 *
 * @example coordinatorMachine.provide({ guards: { ...coordinatorGuards } })
 */
export const coordinatorGuards = {
  isHopeless: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'agent.spawn');
    return hopelessCode(context, event) !== null;
  },
  canAdmit: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'agent.spawn');
    return decide(context, event, event.now).status === 'admit';
  },
  canQueue: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'agent.spawn');
    // A request no provider may ever take (all switched off for it) would only wait out its deadline.
    return (
      event.waitMs > 0 &&
      context.queue.length < context.config.maxQueue &&
      admissionCandidates(context.config.fallbackChain, event).length > 0
    );
  },
  /** Throttled before any work: the session waits to be re-admitted on the same provider. */
  isRequeueRequest: ({ event }: GuardArgs) => {
    assertEvent(event, 'session.fallbackRequested');
    return event.notBefore !== null;
  },
  canAdmitFallback: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'session.fallbackRequested');
    return decideFallback(context, event).status === 'admit';
  },
  /** A reservation this coordinator still waits for (a late or repeated answer is ignored). */
  isAwaitedReservation: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'ledger.reserveAnswered');
    return context.confirming[event.requestId] !== undefined;
  },
  isReservationGranted: ({ event }: GuardArgs) => {
    assertEvent(event, 'ledger.reserveAnswered');
    return event.granted;
  },
  /** Refused on a stale view, and another provider the request may use has room: ask the ledger there. */
  canReserveElsewhere: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'ledger.reserveAnswered');
    if (event.granted || event.code === 'ledger-unavailable') return false;
    const after = afterLedgerRefusal(context, event);
    return decide(after, context.confirming[event.requestId]!.request, after.now).status === 'admit';
  },
  /** Refused on a stale view, and the request may still wait: back to its place in the queue. */
  canWaitAfterRefusal: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'ledger.reserveAnswered');
    if (event.granted || event.code === 'ledger-unavailable') return false;
    const { request } = context.confirming[event.requestId]!;
    return request.waitMs > 0 && Math.max(context.now, event.now) < request.deadline;
  },
  isServerThrottle: ({ event }: GuardArgs) => {
    assertEvent(event, 'provider.failed');
    return event.throttle === 'server';
  },
  isUsageLimit: ({ event }: GuardArgs) => {
    assertEvent(event, 'provider.failed');
    return event.throttle === 'usage-limit';
  },
};
