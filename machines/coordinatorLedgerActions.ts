/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * The shared ledger's answers: a reservation granted or refused, a top-up answered, new limits.
 */
import { assertEvent } from 'xstate';
import { reserve, withBudget } from './budget';
import type { Budgets } from './budget';
import { admitOne, announceLow, askLedger, commitAndDrain, decide, toSession } from './coordinatorContext';
import { afterLedgerRefusal } from './coordinatorGuards';
import { requeueAtPlace } from './ledgerAdmission';
import { PROVIDER_IDS } from './providers';
import { answerTopUp } from './topUps';
import type { ActionArgs } from './coordinatorSideEffect';

function startReserved({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  const entry = context.confirming[event.requestId]!;
  const { [event.requestId]: _answered, ...confirming } = context.confirming;
  const now = Math.max(context.now, event.now);
  enqueue.assign({ confirming, now });
  admitOne(enqueue, context, entry.request, entry.provider, entry.allocation, now);
}

function askLedgerElsewhere({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  if (event.granted) return;
  const after = afterLedgerRefusal(context, event);
  const { request } = context.confirming[event.requestId]!;
  const decision = decide(after, request, after.now);
  if (decision.status !== 'admit') return;
  const confirming = askLedger(enqueue, after.confirming, request, decision.provider, decision.allocation);
  enqueue.assign({
    confirming,
    budgets: announceLow(enqueue, context, reserve(after.budgets, decision.provider, decision.allocation)),
    now: after.now,
  });
}

function requeueAfterRefusal({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  if (event.granted || event.code === 'ledger-unavailable') return;
  const after = afterLedgerRefusal(context, event);
  const { request } = context.confirming[event.requestId]!;
  // Back to its place in the queue, with its deadline: retried when a slot can have freed.
  const queue = requeueAtPlace(context.queue, request);
  enqueue.emit({
    type: 'agent.queued',
    requestId: request.requestId,
    agentId: request.agentId,
    position: queue.indexOf(request),
    code: event.code,
  });
  commitAndDrain(enqueue, { ...after, queue }, after.budgets, after.now);
}

function refuseAfterLedger({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  if (event.granted) return;
  const after = afterLedgerRefusal(context, event);
  const { request } = context.confirming[event.requestId]!;
  const waited = request.waitMs > 0 && after.now >= request.deadline;
  enqueue.emit({
    type: 'agent.refused',
    requestId: request.requestId,
    agentId: request.agentId,
    code: event.code,
    retryAfterMs: event.retryAfterMs,
    waited,
  });
  commitAndDrain(enqueue, after, after.budgets, after.now);
}

function answerLedgerTopUp({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'ledger.topUpAnswered');
  const answer = answerTopUp(context.budgets, context.topUps, event.sessionId, event.stint, event.granted);
  if (answer === null) return;
  const session = system.get(event.sessionId);
  const pending = context.topUps[event.sessionId]!;
  if (session && answer.grant > 0)
    enqueue.sendTo(session, toSession({ type: 'session.toppedUp', tokens: answer.grant }));
  if (answer.ask !== null) {
    enqueue.emit({
      type: 'quota.topUpAsked',
      sessionId: event.sessionId,
      provider: pending.provider,
      stint: event.stint,
      tokens: answer.ask,
      usedOnProvider: pending.usedOnProvider,
    });
  }
  if (answer.overrun > 0) {
    if (session) enqueue.sendTo(session, toSession({ type: 'session.topUpRefused', overrunTokens: answer.overrun }));
    enqueue.emit({
      type: 'quota.overrun',
      provider: pending.provider,
      sessionId: event.sessionId,
      overrunTokens: answer.overrun,
    });
  }
  // A refused top-up gives its share back: waiting requests may fit now.
  commitAndDrain(enqueue, context, answer.budgets, Math.max(context.now, event.now), { topUps: answer.topUps });
}

function applyLedgerLimits({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.limits');
  let budgets: Budgets = context.budgets;
  for (const p of PROVIDER_IDS)
    budgets = withBudget(budgets, p, {
      dailyLimit: event.limits[p].dailyLimit,
      maxConcurrent: event.limits[p].maxConcurrent,
    });
  commitAndDrain(enqueue, context, budgets, Math.max(context.now, event.now));
}

/**
 * The action bodies for the shared ledger's answers, by name.
 *
 * @example setup({ actions: { startReserved: enqueueActions(ledgerActionBodies.startReserved) } })
 */
export const ledgerActionBodies = {
  startReserved,
  askLedgerElsewhere,
  requeueAfterRefusal,
  refuseAfterLedger,
  answerLedgerTopUp,
  applyLedgerLimits,
} as const;
