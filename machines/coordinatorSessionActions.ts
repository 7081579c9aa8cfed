/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * A session's reports: activated, usage (with top-ups and overruns), ended (settled).
 */
import { assertEvent } from 'xstate';
import { recordUsage, settle } from './budget';
import type { Budgets } from './budget';
import type { CoordinatorEvent } from './coordinator.types';
import { announceLow, commitAndDrain, recordHealth, toSession } from './coordinatorContext';
import type { Enqueue } from './coordinatorContext';
import { recordLimitSuccess } from './providerHealth';
import { dropTopUp, recordSharedUsage } from './topUps';
import { sideEffect } from './coordinatorSideEffect';
import type { ActionArgs } from './coordinatorSideEffect';

function announceActive({ event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.activated');
  enqueue.emit({ type: 'agent.active', sessionId: event.sessionId, agentId: event.agentId, provider: event.provider });
}

function recordSessionUsage({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.usageReported');
  let outcome: { budgets: Budgets; topUp: number; overrun: number };
  let topUps = context.topUps;
  if (context.config.sharedLedger === true) {
    // Beyond the allocation, more is granted only when the ledger reserved it (ledger.topUpAnswered).
    const stint = event.stint ?? 0;
    const usedOnProvider = event.usedOnProvider ?? event.tokens;
    const usage = {
      sessionId: event.sessionId,
      provider: event.provider,
      stint,
      tokens: event.tokens,
      withinTokens: event.withinTokens,
      estimate: event.estimatedTokens,
      usedOnProvider,
    };
    const shared = recordSharedUsage(context.budgets, context.topUps, usage);
    topUps = shared.topUps;
    outcome = { budgets: shared.budgets, topUp: 0, overrun: shared.overrun };
    if (shared.ask !== null)
      enqueue.emit({
        type: 'quota.topUpAsked',
        sessionId: event.sessionId,
        provider: event.provider,
        stint,
        tokens: shared.ask,
        usedOnProvider,
      });
  } else {
    outcome = recordUsage(context.budgets, event.provider, event.tokens, event.withinTokens, event.estimatedTokens);
  }
  if (outcome.overrun > 0 || outcome.topUp > 0) {
    const session = system.get(event.sessionId);
    if (outcome.overrun > 0) {
      if (session) enqueue.sendTo(session, toSession({ type: 'session.topUpRefused', overrunTokens: outcome.overrun }));
      enqueue.emit({
        type: 'quota.overrun',
        provider: event.provider,
        sessionId: event.sessionId,
        overrunTokens: outcome.overrun,
      });
    } else if (session) {
      enqueue.sendTo(session, toSession({ type: 'session.toppedUp', tokens: outcome.topUp }));
    }
  }
  if (topUps !== context.topUps) enqueue.assign({ topUps });
  const now = Math.max(context.now, event.now);
  const circuit = recordHealth(enqueue, context, event.provider, true, now);
  const grown = recordLimitSuccess(
    circuit[event.provider],
    context.config.adaptive,
    context.budgets[event.provider].maxConcurrent,
  );
  const health = grown.health === circuit[event.provider] ? circuit : { ...circuit, [event.provider]: grown.health };
  if (grown.changed !== null)
    enqueue.emit({
      type: 'provider.limit',
      provider: event.provider,
      limit: grown.changed,
      previous: grown.changed - 1,
      reason: 'grow',
    });
  // A success that closes a circuit or raises the limit frees capacity: waiting requests may fit now.
  if (grown.changed !== null || health[event.provider].state !== context.health[event.provider].state)
    commitAndDrain(enqueue, context, outcome.budgets, now, { health });
  else enqueue.assign({ budgets: announceLow(enqueue, context, outcome.budgets), health, now });
}

/** A session ended: its last stint is settled (when it held a slot) and its usage teaches the estimates. */
function endSideEffects(
  enqueue: Enqueue,
  output: Extract<CoordinatorEvent, { type: 'session.ended' }>['output'],
): void {
  if (output.heldSlot) {
    const { sessionId, stint, provider, usedOnProvider } = output;
    sideEffect(enqueue, 'settleStint', { sessionId, stint, provider, usedOnProvider });
  }
  sideEffect(enqueue, 'learnEstimate', {
    sessionId: output.sessionId,
    reason: output.reason,
    usedTokens: output.usedTokens,
  });
}

function settleSession({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.ended');
  const { output } = event;
  const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
  const budgets = output.heldSlot
    ? settle(dropped.budgets, output.provider, output.returnedOnProvider)
    : dropped.budgets;
  endSideEffects(enqueue, output);
  enqueue.emit({ type: 'agent.released', output });
  // A session that ended while requeued (released by its host, swept) no longer waits.
  const queue = output.heldSlot
    ? context.queue
    : context.queue.filter((q) => q.sessionId !== output.sessionId || q.readmit !== true);
  commitAndDrain(
    enqueue,
    { ...context, queue, topUps: dropped.topUps },
    budgets,
    Math.max(context.now, output.endedAt),
    { topUps: dropped.topUps },
  );
}

function settleOnly({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.ended');
  const { output } = event;
  const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
  enqueue.assign({
    topUps: dropped.topUps,
    budgets: output.heldSlot ? settle(dropped.budgets, output.provider, output.returnedOnProvider) : dropped.budgets,
  });
  endSideEffects(enqueue, output);
  enqueue.emit({ type: 'agent.released', output });
}

/**
 * The action bodies for a session's reports, by name.
 *
 * @example setup({ actions: { settleSession: enqueueActions(sessionActionBodies.settleSession) } })
 */
export const sessionActionBodies = { announceActive, recordSessionUsage, settleSession, settleOnly } as const;
