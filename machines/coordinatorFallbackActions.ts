/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * A session's fallback request: requeued on its provider, admitted on another, or refused.
 */
import { assertEvent } from 'xstate';
import { enqueueOrdered } from './admissionQueue';
import { reserve, settle } from './budget';
import type { CoordinatorEvent, QueuedRequest } from './coordinator.types';
import { commitAndDrain, decideFallback, returnStint, toSession } from './coordinatorContext';
import type { Enqueue } from './coordinatorContext';
import { sideEffect } from './coordinatorSideEffect';
import type { ActionArgs } from './coordinatorSideEffect';

type FallbackRequest = Extract<CoordinatorEvent, { type: 'session.fallbackRequested' }>;

/** The stint that just ended on `event.from` is settled with the ledger (a no-op without one). */
function settleStint(enqueue: Enqueue, event: FallbackRequest): void {
  sideEffect(enqueue, 'settleStint', {
    sessionId: event.sessionId,
    stint: event.stint,
    provider: event.from,
    usedOnProvider: event.usedOnProvider,
  });
}

function refusedFallback(enqueue: Enqueue, event: FallbackRequest): void {
  settleStint(enqueue, event);
  enqueue.emit({
    type: 'agent.fallback',
    stint: event.stint,
    usedOnProvider: event.usedOnProvider,
    sessionId: event.sessionId,
    agentId: event.agentId,
    from: event.from,
    to: null,
    reason: event.reason,
    allocatedTokens: 0,
  });
}

/** Requeued: the slot and the unused allocation are back; the session waits, first in line, for its provider. */
function requeueSession({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  if (event.notBefore === null) return;
  const now = Math.max(context.now, event.now);
  const returned = returnStint(context, event);
  const requestId = `requeue:${event.sessionId}`;
  const deadline = now + context.config.leaseMs;
  const entry: QueuedRequest = {
    requestId,
    sessionId: event.sessionId,
    agentId: event.agentId,
    estimatedTokens: event.estimatedTokens,
    preferredProvider: event.from,
    onlyPreferred: true,
    waitMs: context.config.leaseMs,
    priority: Number.MAX_SAFE_INTEGER,
    now,
    deadline,
    seq: context.queueSeq,
    readmit: true,
    notBefore: event.notBefore,
  };
  settleStint(enqueue, event);
  enqueue.emit({
    type: 'agent.requeued',
    requestId,
    sessionId: event.sessionId,
    agentId: event.agentId,
    provider: event.from,
    reason: event.reason,
    notBefore: event.notBefore,
    deadline,
    stint: event.stint,
    usedOnProvider: event.usedOnProvider,
  });
  const waiting = { ...returned.context, queue: enqueueOrdered(context.queue, entry) };
  commitAndDrain(enqueue, waiting, returned.budgets, now, {
    topUps: returned.context.topUps,
    queueSeq: context.queueSeq + 1,
  });
}

function admitFallback({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  const decision = decideFallback(context, event);
  if (decision.status !== 'admit') return;
  const now = Math.max(context.now, event.now);
  const returned = returnStint(context, event);
  const session = system.get(event.sessionId);
  if (session)
    enqueue.sendTo(
      session,
      toSession({
        type: 'session.fallbackAdmitted',
        provider: decision.provider,
        allocatedTokens: decision.allocation,
      }),
    );
  settleStint(enqueue, event);
  enqueue.emit({
    type: 'agent.fallback',
    stint: event.stint,
    usedOnProvider: event.usedOnProvider,
    sessionId: event.sessionId,
    agentId: event.agentId,
    from: event.from,
    to: decision.provider,
    reason: event.reason,
    allocatedTokens: decision.allocation,
  });
  commitAndDrain(enqueue, returned.context, reserve(returned.budgets, decision.provider, decision.allocation), now, {
    topUps: returned.context.topUps,
  });
}

function refuseFallback({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  const now = Math.max(context.now, event.now);
  const returned = returnStint(context, event);
  const decision = decideFallback(context, event);
  const message =
    event.candidates.length === 0
      ? `no fallback provider is configured after ${event.from}`
      : `no fallback provider can take the session (${decision.status === 'refuse' ? decision.code : 'no-provider'} on ${event.candidates.join(', ')})`;
  const session = system.get(event.sessionId);
  if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackRefused', code: 'no-provider', message }));
  refusedFallback(enqueue, event);
  commitAndDrain(enqueue, returned.context, returned.budgets, now, { topUps: returned.context.topUps });
}

function refuseFallbackStopping({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  const session = system.get(event.sessionId);
  if (session)
    enqueue.sendTo(
      session,
      toSession({ type: 'session.fallbackRefused', code: 'stopped', message: 'the orchestrator is stopping' }),
    );
  refusedFallback(enqueue, event);
  enqueue.assign({ budgets: settle(context.budgets, event.from, event.returnedTokens) });
}

/**
 * The action bodies for a session's fallback request, by name.
 *
 * @example setup({ actions: { admitFallback: enqueueActions(fallbackActionBodies.admitFallback) } })
 */
export const fallbackActionBodies = { requeueSession, admitFallback, refuseFallback, refuseFallbackStopping } as const;
