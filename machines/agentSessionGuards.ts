/**
 * The agentSession machine's guards (machines/agentSession.machine.ts), by name.
 */
import { assertEvent } from 'xstate';
import type { SessionContext, SessionEvent } from './agentSession.types';
import { failureStep } from './agentSessionActions';
import type { FailureDecision } from './failureDecision';

interface GuardArgs {
  readonly context: SessionContext;
  readonly event: SessionEvent;
}

function isStep(step: FailureDecision['step']) {
  return ({ context, event }: GuardArgs): boolean => {
    assertEvent(event, 'session.failure');
    return failureStep(context, event).step === step;
  };
}

/**
 * The session's guards, by name; machines/agentSession.machine.ts passes them to `setup()`.
 *
 * @example setup({ guards: agentSessionGuards })
 */
export const agentSessionGuards = {
  // A late answer for a provider the session already left is ignored.
  isForCurrentProvider: ({ context, event }: GuardArgs) => {
    assertEvent(event, ['credentials.granted', 'credentials.denied']);
    return event.provider === context.provider;
  },
  // A late answer for a stint the session already left is ignored.
  isForCurrentStint: ({ context, event }: GuardArgs) => {
    assertEvent(event, ['reservation.granted', 'reservation.refused']);
    return event.stint === context.stint;
  },
  // The first stint was reserved at admission; later ones (fallback, requeue) are reserved here.
  needsReservation: ({ context }: GuardArgs) => context.terms.sharedLedger && context.stint > 0,
  canFallBack: ({ context }: GuardArgs) =>
    context.fallbackProviders.length > 0 && context.fallbacks.length < context.terms.maxFallbacks,
  isLeaseExpired: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'session.sweep');
    return event.now >= context.expiresAt;
  },
  isRequeueStep: isStep('requeue'),
  isRetryStep: isStep('retry'),
  isFallBackStep: isStep('fallBack'),
  isRequestAtFault: ({ context, event }: GuardArgs) => {
    assertEvent(event, 'session.failure');
    const step = failureStep(context, event);
    return step.step === 'giveUp' && step.code === 'invalid-request';
  },
};
