/**
 * The coordinator's named actions (run through `enqueueActions` in machines/coordinator.machine.ts).
 * Each does one branch its guard chose; budgets move only through machines/budget.ts.
 */
import { assertEvent } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { admissionCandidates, enqueueOrdered } from './admissionQueue';
import { recordUsage, reserve, settle, withBudget } from './budget';
import type { Budgets } from './budget';
import type { CoordinatorEvent, QueuedRequest, SideEffectParams } from './coordinator.types';
import {
  admitOne, announceLow, askLedger, commitAndDrain, confirmsWithLedger, decide, decideFallback, hopelessCode, recordHealth, retryAfterMs, returnStint, toSession,
  withoutNotBefore,
} from './coordinatorContext';
import type { CoordinatorContext, Enqueue } from './coordinatorContext';
import { afterLedgerRefusal } from './coordinatorGuards';
import { countsForHealth } from './failureDecision';
import { requeueAtPlace } from './ledgerAdmission';
import { pauseUntil, recordLimitSuccess, recordThrottle } from './providerHealth';
import { PROVIDER_IDS } from './providers';
import { answerTopUp, dropTopUp, recordSharedUsage } from './topUps';

interface ActionArgs {
  readonly context: CoordinatorContext;
  readonly event: CoordinatorEvent;
  readonly enqueue: Enqueue;
  readonly system: { get(systemId: string): AnyActorRef | undefined };
}

/**
 * Enqueues one of the coordinator's side-effect slots by name with plain-data params; `provide()`
 * binds the slot (src/orchestrator/bindMachines.ts). The enqueuer is callable, but its call type
 * names the machine's own actions, which this module cannot see: SideEffectParams types the slot.
 */
function sideEffect<K extends keyof SideEffectParams>(enqueue: Enqueue, type: K, params: SideEffectParams[K]): void {
  (enqueue as unknown as (action: { readonly type: K; readonly params: SideEffectParams[K] }) => void)({ type, params });
}

type FallbackRequest = Extract<CoordinatorEvent, { type: 'session.fallbackRequested' }>;

/** The stint that just ended on `event.from` is settled with the ledger (a no-op without one). */
function settleStint(enqueue: Enqueue, event: FallbackRequest): void {
  sideEffect(enqueue, 'settleStint', { sessionId: event.sessionId, stint: event.stint, provider: event.from, usedOnProvider: event.usedOnProvider });
}

function refusedFallback(enqueue: Enqueue, event: FallbackRequest): void {
  settleStint(enqueue, event);
  enqueue.emit({ type: 'agent.fallback', stint: event.stint, usedOnProvider: event.usedOnProvider, sessionId: event.sessionId, agentId: event.agentId, from: event.from, to: null, reason: event.reason, allocatedTokens: 0 });
}

function admit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const decision = decide(context, event, event.now);
  if (decision.status !== 'admit') return;
  const now = Math.max(context.now, event.now);
  const budgets = announceLow(enqueue, context, reserve(context.budgets, decision.provider, decision.allocation));
  if (confirmsWithLedger(context, event)) {
    const { type: _type, ...request } = event;
    const confirming = askLedger(enqueue, context.confirming, { ...request, deadline: event.now + event.waitMs, seq: context.queueSeq }, decision.provider, decision.allocation);
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
  const queue = enqueueOrdered(context.queue, { ...request, deadline: event.now + event.waitMs, seq: context.queueSeq });
  enqueue.assign({ queue, queueSeq: context.queueSeq + 1, now: Math.max(context.now, event.now) });
  const position = queue.findIndex((q) => q.requestId === event.requestId);
  enqueue.emit({ type: 'agent.queued', requestId: event.requestId, agentId: event.agentId, position, code: decision.status === 'refuse' ? decision.code : 'concurrency-limit' });
}

function refuse({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const decision = decide(context, event, event.now);
  const candidates = admissionCandidates(context.config.fallbackChain, event);
  const code = decision.status === 'refuse' ? (event.waitMs > 0 && candidates.length > 0 ? 'queue-full' : decision.code) : 'concurrency-limit';
  enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code, retryAfterMs: retryAfterMs(context, code, event.now, candidates), waited: false });
}

function refuseHopeless({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  const code = hopelessCode(context, event) ?? 'no-provider';
  enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code, retryAfterMs: null, waited: false, hopeless: true });
}

function refuseStopping({ event, enqueue }: ActionArgs): void {
  assertEvent(event, 'agent.spawn');
  enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code: 'stopped', retryAfterMs: null, waited: false });
}

function refuseAllWaiting({ context, enqueue }: ActionArgs): void {
  enqueue.assign({ queue: [] });
  for (const entry of context.queue) {
    // Requeued sessions are live agents: the orchestrator stops them itself.
    if (entry.readmit === true) continue;
    enqueue.emit({ type: 'agent.refused', requestId: entry.requestId, agentId: entry.agentId, code: 'stopped', retryAfterMs: null, waited: true });
  }
}

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
  enqueue.assign({ confirming, budgets: announceLow(enqueue, context, reserve(after.budgets, decision.provider, decision.allocation)), now: after.now });
}

function requeueAfterRefusal({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  if (event.granted || event.code === 'ledger-unavailable') return;
  const after = afterLedgerRefusal(context, event);
  const { request } = context.confirming[event.requestId]!;
  // Back to its place in the queue, with its deadline: retried when a slot can have freed.
  const queue = requeueAtPlace(context.queue, request);
  enqueue.emit({ type: 'agent.queued', requestId: request.requestId, agentId: request.agentId, position: queue.indexOf(request), code: event.code });
  commitAndDrain(enqueue, { ...after, queue }, after.budgets, after.now, { confirming: after.confirming });
}

function refuseAfterLedger({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.reserveAnswered');
  if (event.granted) return;
  const after = afterLedgerRefusal(context, event);
  const { request } = context.confirming[event.requestId]!;
  const waited = request.waitMs > 0 && after.now >= request.deadline;
  enqueue.emit({ type: 'agent.refused', requestId: request.requestId, agentId: request.agentId, code: event.code, retryAfterMs: event.retryAfterMs, waited });
  commitAndDrain(enqueue, after, after.budgets, after.now, { confirming: after.confirming });
}

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
    const usage = { sessionId: event.sessionId, provider: event.provider, stint, tokens: event.tokens, withinTokens: event.withinTokens, estimate: event.estimatedTokens, usedOnProvider };
    const shared = recordSharedUsage(context.budgets, context.topUps, usage);
    topUps = shared.topUps;
    outcome = { budgets: shared.budgets, topUp: 0, overrun: shared.overrun };
    if (shared.ask !== null) enqueue.emit({ type: 'quota.topUpAsked', sessionId: event.sessionId, provider: event.provider, stint, tokens: shared.ask, usedOnProvider });
  } else {
    outcome = recordUsage(context.budgets, event.provider, event.tokens, event.withinTokens, event.estimatedTokens);
  }
  if (outcome.overrun > 0 || outcome.topUp > 0) {
    const session = system.get(event.sessionId);
    if (outcome.overrun > 0) {
      if (session) enqueue.sendTo(session, toSession({ type: 'session.topUpRefused', overrunTokens: outcome.overrun }));
      enqueue.emit({ type: 'quota.overrun', provider: event.provider, sessionId: event.sessionId, overrunTokens: outcome.overrun });
    } else if (session) {
      enqueue.sendTo(session, toSession({ type: 'session.toppedUp', tokens: outcome.topUp }));
    }
  }
  if (topUps !== context.topUps) enqueue.assign({ topUps });
  const now = Math.max(context.now, event.now);
  const circuit = recordHealth(enqueue, context, event.provider, true, now);
  const grown = recordLimitSuccess(circuit[event.provider], context.config.adaptive, context.budgets[event.provider].maxConcurrent);
  const health = grown.health === circuit[event.provider] ? circuit : { ...circuit, [event.provider]: grown.health };
  if (grown.changed !== null) enqueue.emit({ type: 'provider.limit', provider: event.provider, limit: grown.changed, previous: grown.changed - 1, reason: 'grow' });
  // A success that closes a circuit or raises the limit frees capacity: waiting requests may fit now.
  if (grown.changed !== null || health[event.provider].state !== context.health[event.provider].state) commitAndDrain(enqueue, context, outcome.budgets, now, { health });
  else enqueue.assign({ budgets: announceLow(enqueue, context, outcome.budgets), health, now });
}

/** Counts the failure on the provider's circuit when it says something about the provider (failureDecision's `countsForHealth`). */
function countFailureOnCircuit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  if (!(event.countsForHealth ?? countsForHealth(event, context.config.adaptive !== null))) return;
  const now = Math.max(context.now, event.now);
  const health = recordHealth(enqueue, context, event.provider, false, now);
  if (health !== context.health) enqueue.assign({ health, now });
}

/** Server-side throttling: adaptive concurrency halves the provider's limit. */
function lowerAdaptiveLimit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  const now = Math.max(context.now, event.now);
  const { provider } = event;
  const before = context.health[provider].limit;
  const throttled = recordThrottle(context.health[provider], context.config.adaptive, now, event.since ?? null);
  if (throttled.changed !== null && before !== null) enqueue.emit({ type: 'provider.limit', provider, limit: throttled.changed, previous: before, reason: 'throttle' });
  if (throttled.health !== context.health[provider]) enqueue.assign({ health: { ...context.health, [provider]: throttled.health }, now });
}

/** A usage limit pauses the provider until it resets (or `usageLimitPauseMs` when the provider did not say). */
function pauseForUsageLimit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  const now = Math.max(context.now, event.now);
  const { provider } = event;
  const until = event.resetAt !== null && event.resetAt > now ? event.resetAt : now + context.config.usageLimitPauseMs;
  const paused = pauseUntil(context.health[provider], until);
  if (paused === context.health[provider]) return;
  sideEffect(enqueue, 'recordPause', { provider, pause: { until: paused.pausedUntil, reason: event.kind } });
  enqueue.emit({ type: 'provider.paused', provider, until: paused.pausedUntil, reason: event.kind });
  enqueue.assign({ health: { ...context.health, [provider]: paused }, now });
}

function pauseExhausted({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.exhausted');
  const now = Math.max(context.now, event.now);
  if (event.until <= now) return;
  const paused = pauseUntil(context.health[event.provider], event.until);
  if (paused === context.health[event.provider]) return;
  sideEffect(enqueue, 'recordPause', { provider: event.provider, pause: { until: paused.pausedUntil, reason: event.reason } });
  enqueue.emit({ type: 'provider.paused', provider: event.provider, until: paused.pausedUntil, reason: event.reason });
  enqueue.assign({ health: { ...context.health, [event.provider]: paused }, now });
}

function answerLedgerTopUp({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'ledger.topUpAnswered');
  const answer = answerTopUp(context.budgets, context.topUps, event.sessionId, event.stint, event.granted);
  if (answer === null) return;
  const session = system.get(event.sessionId);
  const pending = context.topUps[event.sessionId]!;
  if (session && answer.grant > 0) enqueue.sendTo(session, toSession({ type: 'session.toppedUp', tokens: answer.grant }));
  if (answer.ask !== null) {
    enqueue.emit({ type: 'quota.topUpAsked', sessionId: event.sessionId, provider: pending.provider, stint: event.stint, tokens: answer.ask, usedOnProvider: pending.usedOnProvider });
  }
  if (answer.overrun > 0) {
    if (session) enqueue.sendTo(session, toSession({ type: 'session.topUpRefused', overrunTokens: answer.overrun }));
    enqueue.emit({ type: 'quota.overrun', provider: pending.provider, sessionId: event.sessionId, overrunTokens: answer.overrun });
  }
  // A refused top-up gives its share back: waiting requests may fit now.
  commitAndDrain(enqueue, context, answer.budgets, Math.max(context.now, event.now), { topUps: answer.topUps });
}

function applyLedgerLimits({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'ledger.limits');
  let budgets: Budgets = context.budgets;
  for (const p of PROVIDER_IDS) budgets = withBudget(budgets, p, { dailyLimit: event.limits[p].dailyLimit, maxConcurrent: event.limits[p].maxConcurrent });
  commitAndDrain(enqueue, context, budgets, Math.max(context.now, event.now));
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
    requestId, sessionId: event.sessionId, agentId: event.agentId, estimatedTokens: event.estimatedTokens, preferredProvider: event.from, onlyPreferred: true,
    waitMs: context.config.leaseMs, priority: Number.MAX_SAFE_INTEGER, now, deadline, seq: context.queueSeq, readmit: true, notBefore: event.notBefore,
  };
  settleStint(enqueue, event);
  enqueue.emit({ type: 'agent.requeued', requestId, sessionId: event.sessionId, agentId: event.agentId, provider: event.from, reason: event.reason, notBefore: event.notBefore, deadline, stint: event.stint, usedOnProvider: event.usedOnProvider });
  const waiting = { ...returned.context, queue: enqueueOrdered(context.queue, entry) };
  commitAndDrain(enqueue, waiting, returned.budgets, now, { topUps: returned.context.topUps, queueSeq: context.queueSeq + 1 });
}

function admitFallback({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  const decision = decideFallback(context, event);
  if (decision.status !== 'admit') return;
  const now = Math.max(context.now, event.now);
  const returned = returnStint(context, event);
  const session = system.get(event.sessionId);
  if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackAdmitted', provider: decision.provider, allocatedTokens: decision.allocation }));
  settleStint(enqueue, event);
  enqueue.emit({ type: 'agent.fallback', stint: event.stint, usedOnProvider: event.usedOnProvider, sessionId: event.sessionId, agentId: event.agentId, from: event.from, to: decision.provider, reason: event.reason, allocatedTokens: decision.allocation });
  commitAndDrain(enqueue, returned.context, reserve(returned.budgets, decision.provider, decision.allocation), now, { topUps: returned.context.topUps });
}

function refuseFallback({ context, event, enqueue, system }: ActionArgs): void {
  assertEvent(event, 'session.fallbackRequested');
  const now = Math.max(context.now, event.now);
  const returned = returnStint(context, event);
  const decision = decideFallback(context, event);
  const message = event.candidates.length === 0
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
  if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackRefused', code: 'stopped', message: 'the orchestrator is stopping' }));
  refusedFallback(enqueue, event);
  enqueue.assign({ budgets: settle(context.budgets, event.from, event.returnedTokens) });
}

/** A session ended: its last stint is settled (when it held a slot) and its usage teaches the estimates. */
function endSideEffects(enqueue: Enqueue, output: Extract<CoordinatorEvent, { type: 'session.ended' }>['output']): void {
  if (output.heldSlot) {
    const { sessionId, stint, provider, usedOnProvider } = output;
    sideEffect(enqueue, 'settleStint', { sessionId, stint, provider, usedOnProvider });
  }
  sideEffect(enqueue, 'learnEstimate', { sessionId: output.sessionId, reason: output.reason, usedTokens: output.usedTokens });
}

function settleSession({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.ended');
  const { output } = event;
  const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
  const budgets = output.heldSlot ? settle(dropped.budgets, output.provider, output.returnedOnProvider) : dropped.budgets;
  endSideEffects(enqueue, output);
  enqueue.emit({ type: 'agent.released', output });
  // A session that ended while requeued (released by its host, swept) no longer waits.
  const queue = output.heldSlot ? context.queue : context.queue.filter((q) => q.sessionId !== output.sessionId || q.readmit !== true);
  commitAndDrain(enqueue, { ...context, queue, topUps: dropped.topUps }, budgets, Math.max(context.now, output.endedAt), { topUps: dropped.topUps });
}

function settleOnly({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'session.ended');
  const { output } = event;
  const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
  enqueue.assign({ topUps: dropped.topUps, budgets: output.heldSlot ? settle(dropped.budgets, output.provider, output.returnedOnProvider) : dropped.budgets });
  endSideEffects(enqueue, output);
  enqueue.emit({ type: 'agent.released', output });
}

function startNewWindow({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  if (event.day === context.day) {
    // The same window with another end (the reset time changed across a restore): only its end moves.
    if (event.nextResetAt !== context.nextResetAt) enqueue.assign({ nextResetAt: event.nextResetAt });
    return;
  }
  let budgets: Budgets = context.budgets;
  for (const p of PROVIDER_IDS) budgets = withBudget(budgets, p, { used: 0, overrun: 0, lowAnnounced: false });
  enqueue.emit({ type: 'quota.reset', day: event.day });
  enqueue.assign({ budgets, day: event.day, nextResetAt: event.nextResetAt, now: Math.max(context.now, event.now) });
}

function resumeProviders({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  let health = context.health;
  for (const p of PROVIDER_IDS) {
    const h = health[p];
    const resumed = h.pausedUntil !== 0 && h.pausedUntil <= event.now;
    const cooled = h.state === 'open' && h.openUntil <= event.now;
    if (!resumed && !cooled) continue;
    // A cooled-down circuit is stored half-open so its openUntil is no longer due.
    health = { ...health, [p]: { ...h, ...(resumed ? { pausedUntil: 0 } : {}), ...(cooled ? { state: 'halfOpen' as const } : {}) } };
    if (resumed) {
      sideEffect(enqueue, 'recordPause', { provider: p, pause: null });
      enqueue.emit({ type: 'provider.resumed', provider: p });
    }
  }
  if (health !== context.health) enqueue.assign({ health, now: Math.max(context.now, event.now) });
}

function drainQueue({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const now = Math.max(context.now, event.now);
  // A passed not-before time is dropped, so it is no longer due.
  const ready = context.queue.some((q) => q.notBefore !== undefined && q.notBefore <= event.now);
  const queue = ready ? context.queue.map((q) => (q.notBefore !== undefined && q.notBefore <= event.now ? withoutNotBefore(q) : q)) : context.queue;
  commitAndDrain(enqueue, ready ? { ...context, queue } : context, context.budgets, now);
}

function expireWaits({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const expired = context.queue.filter((q) => q.deadline <= event.now);
  if (expired.length === 0) return;
  enqueue.assign({ queue: context.queue.filter((q) => q.deadline > event.now), now: Math.max(context.now, event.now) });
  for (const entry of expired) {
    const decision = decide(context, entry, event.now);
    const code = decision.status === 'refuse' ? decision.code : 'concurrency-limit';
    if (entry.readmit === true) {
      const message = `the session waited ${context.config.leaseMs} ms to be re-admitted on ${entry.preferredProvider ?? 'its provider'} after throttling (${code})`;
      enqueue.sendTo(context.supervisor, { type: 'supervisor.forward', sessionId: entry.sessionId, event: { type: 'session.fallbackRefused', code: 'no-provider', message } });
      continue;
    }
    const retry = retryAfterMs(context, code, event.now, admissionCandidates(context.config.fallbackChain, entry));
    enqueue.emit({ type: 'agent.refused', requestId: entry.requestId, agentId: entry.agentId, code, retryAfterMs: retry, waited: true });
  }
}

function sweepLeases({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const interval = context.config.sweepIntervalMs;
  if (interval === undefined || event.now < context.sweptAt + interval) return;
  // Sweeps stay on their grid (start + k * interval) however late the tick comes.
  enqueue.assign({ sweptAt: context.sweptAt + Math.floor((event.now - context.sweptAt) / interval) * interval, now: Math.max(context.now, event.now) });
  enqueue.sendTo(context.supervisor, { type: 'supervisor.sweep', now: event.now });
}

/**
 * The coordinator's action bodies, by name; machines/coordinator.machine.ts wraps each in `enqueueActions`.
 *
 * @example setup({ actions: { admit: enqueueActions(coordinatorActionBodies.admit) } })
 */
export const coordinatorActionBodies = {
  admit, enqueueRequest, refuse, refuseHopeless, refuseStopping, refuseAllWaiting,
  startReserved, askLedgerElsewhere, requeueAfterRefusal, refuseAfterLedger,
  announceActive, recordSessionUsage, countFailureOnCircuit, lowerAdaptiveLimit, pauseForUsageLimit, pauseExhausted,
  answerLedgerTopUp, applyLedgerLimits, requeueSession, admitFallback, refuseFallback, refuseFallbackStopping, settleSession, settleOnly,
  startNewWindow, resumeProviders, drainQueue, expireWaits, sweepLeases,
} as const;
