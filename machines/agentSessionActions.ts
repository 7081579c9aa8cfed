/**
 * The agentSession machine's helpers (machines/agentSession.machine.ts): its output, the failure step
 * and the fallback chain. Pure.
 */
import { assertEvent } from 'xstate';
import type {
  EndReason,
  PendingFailure,
  SessionContext,
  SessionError,
  SessionEvent,
  SessionNotice,
  SessionOutcome,
  SessionOutput,
} from './agentSession.types';
import { decideFailure } from './failureDecision';
import type { FailureDecision } from './failureDecision';
import type { ProviderId } from './providers';

/**
 * The allocation still unused on the current provider (nothing once the slot was given back).
 *
 * @example unusedOnProvider(context) // allocated - usedOnProvider while holding the slot
 */
export function unusedOnProvider(context: SessionContext): number {
  return context.holdsSlot ? Math.max(0, context.tokens.allocated - context.tokens.usedOnProvider) : 0;
}

/**
 * The session's output, from which the coordinator settles its budget.
 *
 * @example outputOf(context).returnedOnProvider
 */
export function outputOf(context: SessionContext): SessionOutput {
  return {
    sessionId: context.sessionId,
    agentId: context.agentId,
    provider: context.provider,
    usedTokens: context.tokens.used,
    returnedTokens: context.tokens.returned + unusedOnProvider(context),
    returnedOnProvider: unusedOnProvider(context),
    usedOnProvider: context.tokens.usedOnProvider,
    stint: context.stint,
    heldSlot: context.holdsSlot,
    fallbacks: context.fallbacks,
    reason: context.outcome?.reason ?? 'released',
    error: context.outcome?.error ?? null,
    endedAt: context.lastEventAt,
  };
}

/**
 * How a session ends on a refusal (credentials denied, no room in the shared ledger, a fallback
 * refused): the refusal's code and message are its error, and no usage went over the budget.
 *
 * @example refusalOutcome('no-provider', { code: 'quota-exhausted', message: 'no budget left' })
 */
export function refusalOutcome(reason: EndReason, refusal: SessionError): SessionOutcome {
  return { reason, error: { code: refusal.code, message: refusal.message }, overrunTokens: 0 };
}

/**
 * No failure pending.
 *
 * @example { ...context, pending: NO_PENDING }
 */
export const NO_PENDING: PendingFailure = { reason: '', requeueAt: null, attempts: 0, requeues: 0, step: null };

/**
 * The step for a `session.failure` (a legacy event without facts is a failure of kind `reason`).
 *
 * @example failureStep(context, event).step // 'retry'
 */
export function failureStep(
  context: SessionContext,
  event: Extract<SessionEvent, { type: 'session.failure' }>,
): FailureDecision {
  return decideFailure({
    failure: event.failure ?? { kind: event.reason, retryAfterMs: null, throttle: null },
    attempt: context.pending.attempts + 1,
    requeues: context.pending.requeues,
    maxRequeues: context.terms.maxRequeues,
    usedOnProvider: context.tokens.usedOnProvider,
    fallbacks: {
      used: context.fallbacks.length,
      max: context.terms.maxFallbacks,
      providersLeft: context.fallbackProviders.length,
    },
    policies: context.terms.failurePolicies,
    jitter: event.jitter ?? 0,
  });
}

/**
 * The fallback chain after the provider chosen from it.
 *
 * @example remainingAfter(['openai', 'gemini'], 'openai') // ['gemini']
 */
export function remainingAfter(chain: readonly ProviderId[], chosen: ProviderId): readonly ProviderId[] {
  // A provider not in the chain (indexOf -1) leaves the whole chain.
  return chain.slice(chain.indexOf(chosen) + 1);
}

/**
 * The usage report the coordinator is told of on `session.usage`.
 *
 * @example sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), usageReport)
 */
export function usageReport({
  context,
  event,
}: {
  readonly context: SessionContext;
  readonly event: SessionEvent;
}): SessionNotice {
  assertEvent(event, 'session.usage');
  const left = Math.max(0, context.tokens.allocated - context.tokens.usedOnProvider);
  return {
    type: 'session.usageReported',
    sessionId: context.sessionId,
    provider: context.provider,
    tokens: event.tokens,
    withinTokens: Math.min(event.tokens, left),
    estimatedTokens: context.terms.estimatedTokens,
    stint: context.stint,
    usedOnProvider: context.tokens.usedOnProvider + event.tokens,
    now: event.now,
  };
}

/**
 * The fallback (or requeue) request the coordinator is sent on entering fallingBack.
 *
 * @example sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), fallbackRequest)
 */
export function fallbackRequest({ context }: { readonly context: SessionContext }): SessionNotice {
  return {
    type: 'session.fallbackRequested',
    sessionId: context.sessionId,
    agentId: context.agentId,
    from: context.provider,
    returnedTokens: unusedOnProvider(context),
    usedOnProvider: context.tokens.usedOnProvider,
    stint: context.stint,
    candidates: context.pending.requeueAt === null ? context.fallbackProviders : [context.provider],
    estimatedTokens: context.terms.estimatedTokens,
    reason: context.pending.reason,
    notBefore: context.pending.requeueAt,
    now: context.lastEventAt,
  };
}
