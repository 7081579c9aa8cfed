/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * Admission: a spawn request is admitted, queued or refused; `stop()` refuses the waiting ones.
 */
import { assertEvent } from 'xstate';
import { admissionCandidates, enqueueOrdered } from './admissionQueue';
import { reserve } from './budget';
import {
  admitOne,
  announceLow,
  askLedger,
  confirmsWithLedger,
  decide,
  hopelessCode,
  retryAfterMs,
} from './coordinatorContext';
import type { ActionArgs } from './coordinatorSideEffect';
import type { QueuedRequest, SpawnRequest } from './coordinator.types';

/** A spawn request as the queue and the ledger's confirmation hold it. */
function queueEntry(request: SpawnRequest, deadline: number, seq: number): QueuedRequest {
  // Not `{ ...request, deadline, seq }`: V8 11's slow path for keys added after a leading spread (D46).
  return Object.assign({}, request, { deadline, seq });
}

function admit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const decision = decide(context, event, event.now);
  if (decision.status !== 'admit') return;
  const now = Math.max(context.now, event.now);
  const budgets = announceLow(enqueue, context, reserve(context.budgets, decision.provider, decision.allocation));
  if (confirmsWithLedger(context, event)) {
    const { type: _type, ...request } = event;
    const confirming = askLedger(
      enqueue,
      context.confirming,
      queueEntry(request, event.now + event.waitMs, context.queueSeq),
      decision.provider,
      decision.allocation,
    );
    enqueue.assign({ budgets, confirming, queueSeq: context.queueSeq + 1, admitted: context.admitted + 1, now });
    return;
  }
  enqueue.assign({ budgets, admitted: context.admitted + 1, now });
  admitOne(enqueue, context, event, decision.provider, decision.allocation, now);
}

function enqueueRequest({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const { type: _type, ...request } = event;
  const decision = decide(context, event, event.now);
  const queue = enqueueOrdered(context.queue, queueEntry(request, event.now + event.waitMs, context.queueSeq));
  enqueue.assign({ queue, queueSeq: context.queueSeq + 1, now: Math.max(context.now, event.now) });
  const position = queue.findIndex((q) => q.requestId === event.requestId);
  enqueue.emit({
    type: 'agent.queued',
    requestId: event.requestId,
    agentId: event.agentId,
    position,
    code: decision.status === 'refuse' ? decision.code : 'concurrency-limit',
  });
}

function refuse({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const decision = decide(context, event, event.now);
  const candidates = admissionCandidates(context.config.fallbackChain, event);
  const code =
    decision.status === 'refuse'
      ? event.waitMs > 0 && candidates.length > 0
        ? 'queue-full'
        : decision.code
      : 'concurrency-limit';
  enqueue.emit({
    type: 'agent.refused',
    requestId: event.requestId,
    agentId: event.agentId,
    code,
    retryAfterMs: retryAfterMs(context, code, event.now, candidates),
    waited: false,
  });
}

function refuseHopeless({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const code = hopelessCode(context, event) ?? 'no-provider';
  enqueue.emit({
    type: 'agent.refused',
    requestId: event.requestId,
    agentId: event.agentId,
    code,
    retryAfterMs: null,
    waited: false,
    hopeless: true,
  });
}

function refuseStopping({ event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  enqueue.emit({
    type: 'agent.refused',
    requestId: event.requestId,
    agentId: event.agentId,
    code: 'stopped',
    retryAfterMs: null,
    waited: false,
  });
}

function refuseAllWaiting({ context, enqueue }: ActionArgs): void {
  enqueue.assign({ queue: [] });
  for (const entry of context.queue) {
    // Requeued sessions are live agents: the orchestrator stops them itself.
    if (entry.readmit === true) continue;
    enqueue.emit({
      type: 'agent.refused',
      requestId: entry.requestId,
      agentId: entry.agentId,
      code: 'stopped',
      retryAfterMs: null,
      waited: true,
    });
  }
}

/**
 * The admission action bodies (a spawn request admitted, queued or refused), by name.
 *
 * @example setup({ actions: { admit: enqueueActions(admissionActionBodies.admit) } })
 */
export const admissionActionBodies = {
  admit,
  enqueueRequest,
  refuse,
  refuseHopeless,
  refuseStopping,
  refuseAllWaiting,
} as const;
