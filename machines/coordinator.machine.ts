/**
 * coordinator: owns the budget, the concurrency limits and the wait queue, and supervises sessions.
 *
 * States: running → stopping. Every decision is a guarded transition on counters in context.
 * Accepts: agent.spawn, provider.failed, provider.exhausted, ledger.limits, coordinator.stop (from
 * the orchestrator), clock.tick (from the clock actor, whose one timer is armed on `nextDueAt` of
 * this context), and session.activated / usageReported / fallbackRequested / ended (from sessions,
 * addressed by systemId `coordinator`).
 * Emits (for the host): agent.admitted, agent.queued, agent.refused, agent.active, agent.fallback,
 * agent.released, quota.low, quota.overrun, quota.reset, provider.circuit / limit / paused / resumed.
 * Side-effect slots (no-op actions here, bound in src/orchestrator/bindMachines.ts): settleStint,
 * recordPause, learnEstimate, called where the matching event is emitted.
 * Children: the clock and credentials actors (bound in src/), and the session supervisor (systemId
 * `sessions`), the parent of every session.
 *
 * Invariants: admission checks and reserves in one transition (guard + action on the same context);
 * without an overrun, used + reserved <= dailyLimit and active <= maxConcurrent for every provider;
 * reserved is exactly the unused allocation of live sessions. Sessions are children of the
 * supervisor (a Map), never of this machine, so admission never copies a map of every live
 * session. Time enters only as `now` on events; `context.now` is the latest seen. Every time that
 * matters (wait deadlines, not-before times, cooldowns, pauses, the next sweep and daily reset) is
 * in context, so a restored coordinator keeps them; `clock.tick` applies whatever is due. In
 * `stopping` nothing is admitted: sessions only settle.
 */
import { assertEvent, enqueueActions, fromCallback, setup } from 'xstate';
import type { ActorRefFrom, EventObject } from 'xstate';
import { agentSessionMachine } from './agentSession.machine';
import type { CredentialsRequest, SessionEvent, SessionInput } from './agentSession.types';
import { availableTokens, decideAdmission, recordUsage, reserve, settle, withBudget } from './budget';
import type { Budgets, RefusalCode } from './budget';
import { admissionCandidates, candidatesFor, enqueueOrdered, onlyAllowed, planDrain } from './admissionQueue';
import type { CoordinatorEmitted, CoordinatorEvent, CoordinatorInput, QueuedRequest, SideEffectParams, SpawnRequest } from './coordinator.types';
import { admissionCap, initialHealth, isCapped, pauseUntil, recordLimitSuccess, recordOutcome, recordThrottle, windowCounts } from './providerHealth';
import type { HealthByProvider } from './providerHealth';
import { PROVIDER_IDS } from './providers';
import type { ProviderId } from './providers';
import { createSessionSupervisor } from './sessionSupervisor';
import type { SessionSupervisorLogic, SupervisorEvent } from './sessionSupervisor';
import { answerTopUp, dropTopUp, recordSharedUsage } from './topUps';
import { clampAfterRefusal, requeueAtPlace, sharedRefusalCode } from './ledgerAdmission';
import type { ConfirmingRequests } from './ledgerAdmission';
import type { PendingTopUps } from './topUps';

/** At most 16 top-level keys, for the reason given in agentSession.types.ts (Object.assign cost). */
export interface CoordinatorContext extends CoordinatorInput {
  readonly queue: readonly QueuedRequest[];
  readonly queueSeq: number;
  /** Sessions admitted since start (fallback admissions not counted). */
  readonly admitted: number;
  readonly supervisor: ActorRefFrom<SessionSupervisorLogic>;
  /** One circuit breaker per provider. */
  readonly health: HealthByProvider;
  /** Shared ledger: top-ups asked of the ledger and not answered yet, by session id (machines/topUps.ts). */
  readonly topUps: PendingTopUps;
  /** Shared ledger: admissions reserved locally and waiting for the ledger's reservation, by request id (machines/ledgerAdmission.ts). */
  readonly confirming: ConfirmingRequests;
  /** The last sweep of the sessions' leases (epoch ms): the next is due `config.sweepIntervalMs` later. */
  readonly sweptAt: number;
}

/** The part of enqueueActions' `enqueue` that the shared helpers use. */
interface Enqueue {
  assign(update: Partial<CoordinatorContext>): void;
  sendTo(to: ActorRefFrom<SessionSupervisorLogic>, event: SupervisorEvent): void;
  emit(event: CoordinatorEmitted): void;
}

/**
 * Enqueues one of this machine's side-effect slots by name with plain-data params; `provide()`
 * binds the slot (src/orchestrator/bindMachines.ts). Within setup() the enqueuer does not know its
 * sibling actions' names, so the slot's type comes from SideEffectParams instead.
 */
function sideEffect<K extends keyof SideEffectParams>(enqueue: (action: never) => void, type: K, params: SideEffectParams[K]): void {
  (enqueue as (action: { readonly type: K; readonly params: SideEffectParams[K] }) => void)({ type, params });
}

/** The request without its not-before time (passed). */
function withoutNotBefore(request: QueuedRequest): QueuedRequest {
  const { notBefore: _passed, ...rest } = request;
  return rest;
}

/** Types an answer to a session (found by systemId, so its ref is untyped). */
function toSession(event: SessionEvent): EventObject {
  return event;
}

/** Concurrency caps from circuits that are not closed; undefined (no caps) in the common case. */
function capsAt(context: CoordinatorContext, now: number, health: HealthByProvider = context.health): Readonly<Record<ProviderId, number>> | undefined {
  if (!isCapped(health.claude) && !isCapped(health.openai)) return undefined;
  const cap = (p: ProviderId) => admissionCap(health[p], context.config.circuit, now);
  return { claude: cap('claude'), openai: cap('openai') };
}

function decide(context: CoordinatorContext, request: SpawnRequest, now: number) {
  const candidates = admissionCandidates(context.config.fallbackChain, request);
  const decision = decideAdmission(context.budgets, candidates, request.estimatedTokens, capsAt(context, now));
  if (decision.status === 'admit' || context.config.sharedLedger !== true || context.config.globalLimits === undefined) return decision;
  return { status: 'refuse' as const, code: sharedRefusalCode(decision.code, context.budgets, candidates, context.config.globalLimits) };
}

/** A new spawn (not a requeued session) on a shared ledger starts only once the ledger reserved it too. */
function confirmsWithLedger(context: CoordinatorContext, request: QueuedRequest | SpawnRequest): boolean {
  return context.config.sharedLedger === true && !('readmit' in request && request.readmit === true);
}

/** Holds a locally reserved admission until the ledger answers (ledger.reserveAnswered). */
function askLedger(enqueue: Enqueue, confirming: ConfirmingRequests, request: QueuedRequest, provider: ProviderId, allocation: number): ConfirmingRequests {
  enqueue.emit({ type: 'ledger.reserveAsked', requestId: request.requestId, sessionId: request.sessionId, provider, tokens: allocation });
  return { ...confirming, [request.requestId]: { request, provider, allocation } };
}

/**
 * A request no wait can help: every provider it may use is disabled (daily limit or maxConcurrent
 * 0) or has a daily limit below its estimate. Judged on the configured limits, not on what is
 * free now. Returns the refusal code, or null when the request may fit some day.
 */
function hopelessCode(context: CoordinatorContext, request: SpawnRequest): 'quota-exhausted' | 'no-provider' | null {
  const candidates = admissionCandidates(context.config.fallbackChain, request);
  if (candidates.length === 0) return null;
  const limits = context.config.globalLimits ?? context.budgets;
  let tooLarge = false;
  for (const p of candidates) {
    const { dailyLimit, maxConcurrent } = limits[p];
    if (dailyLimit === 0 || maxConcurrent === 0) continue;
    if (request.estimatedTokens > dailyLimit) tooLarge = true;
    else return null;
  }
  return tooLarge ? 'quota-exhausted' : 'no-provider';
}

function retryAfterMs(context: CoordinatorContext, code: RefusalCode | 'queue-full' | 'stopped', now: number, candidates: readonly ProviderId[] = PROVIDER_IDS): number | null {
  if (code === 'quota-exhausted') return Math.max(0, context.nextResetAt - now);
  if (code === 'concurrency-limit' || code === 'queue-full') return context.config.retryHintMs;
  if (code === 'no-provider') {
    // Providers whose circuit is open (or that are paused) come back when that ends.
    const ends = candidates.flatMap((p) => {
      const h = context.health[p];
      const until = Math.max(h.state === 'open' ? h.openUntil : 0, h.pausedUntil);
      return until > now ? [until - now] : [];
    });
    return ends.length > 0 ? Math.min(...ends) : null;
  }
  return null;
}

/** Counts one outcome on a provider's circuit and tells the host when the circuit opens or closes. */
function recordHealth(enqueue: Enqueue, context: CoordinatorContext, provider: ProviderId, ok: boolean, now: number): HealthByProvider {
  const change = recordOutcome(context.health[provider], context.config.circuit, ok, now);
  if (change.health === context.health[provider]) return context.health;
  if (change.transition !== null) {
    const opened = change.transition === 'opened';
    const failures = opened ? windowCounts(context.health[provider], context.config.circuit, now).failed + 1 : 0;
    enqueue.emit({ type: 'provider.circuit', provider, state: opened ? 'open' : 'closed', openUntil: opened ? change.health.openUntil : null, failures, now });
  }
  return { ...context.health, [provider]: change.health };
}

function sessionInput(context: CoordinatorContext, request: SpawnRequest, provider: ProviderId, allocation: number, now: number): SessionInput {
  return {
    sessionId: request.sessionId,
    agentId: request.agentId,
    provider,
    fallbackProviders: onlyAllowed(candidatesFor(context.config.fallbackChain, provider).slice(1), request.allowedProviders),
    maxFallbacks: context.config.maxFallbacks,
    estimatedTokens: request.estimatedTokens,
    allocatedTokens: allocation,
    leaseMs: context.config.leaseMs,
    now,
  };
}

/** Emits `quota.low` once a window for each provider whose available tokens fell below the watermark. */
function announceLow(enqueue: Enqueue, context: CoordinatorContext, budgets: Budgets): Budgets {
  let next = budgets;
  for (const p of PROVIDER_IDS) {
    const b = next[p];
    if (b.lowAnnounced || b.dailyLimit === 0 || availableTokens(b) >= b.dailyLimit * context.config.lowWatermark) continue;
    next = withBudget(next, p, { lowAnnounced: true });
    enqueue.emit({ type: 'quota.low', provider: p, available: availableTokens(b), dailyLimit: b.dailyLimit });
  }
  return next;
}

/**
 * Admits one request: the host hears of it (agent.admitted) before the session starts, so a session
 * that ends at once (credentials denied) is still known when its end is reported.
 */
function admitOne(enqueue: Enqueue, context: CoordinatorContext, request: QueuedRequest | SpawnRequest, provider: ProviderId, allocation: number, now: number): void {
  if ('readmit' in request && request.readmit === true) {
    // A requeued session comes back: it is live already, so it is told, not spawned.
    enqueue.sendTo(context.supervisor, { type: 'supervisor.forward', sessionId: request.sessionId, event: { type: 'session.fallbackAdmitted', provider, allocatedTokens: allocation } });
    return;
  }
  enqueue.emit({ type: 'agent.admitted', requestId: request.requestId, sessionId: request.sessionId, agentId: request.agentId, provider, allocatedTokens: allocation, waitedMs: Math.max(0, now - request.now) });
  enqueue.sendTo(context.supervisor, { type: 'supervisor.spawn', input: sessionInput(context, request, provider, allocation, now) });
}

/**
 * Commits new budgets (and time), then admits waiting requests that now fit, in queue order, in the
 * same transition that freed the capacity: a newcomer cannot take a slot a waiter was due.
 */
function commitAndDrain(enqueue: Enqueue, context: CoordinatorContext, budgets: Budgets, now: number, extra: Partial<CoordinatorContext> = {}): void {
  const plan = planDrain(budgets, context.queue, context.config.fallbackChain, capsAt(context, now, extra.health), now);
  const announced = announceLow(enqueue, context, plan.budgets);
  let confirming = extra.confirming ?? context.confirming;
  const start = plan.admitted.filter((a) => {
    if (!confirmsWithLedger(context, a.request)) return true;
    confirming = askLedger(enqueue, confirming, a.request, a.provider, a.allocation);
    return false;
  });
  enqueue.assign({ ...extra, confirming, budgets: announced, queue: plan.queue, admitted: context.admitted + plan.admitted.length, now });
  for (const a of start) admitOne(enqueue, context, a.request, a.provider, a.allocation, now);
}

export const coordinatorMachine = setup({
  types: {
    input: {} as CoordinatorInput,
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    emitted: {} as CoordinatorEmitted,
  },
  actors: {
    sessionSupervisor: createSessionSupervisor(agentSessionMachine),
    // Bound in src/orchestrator: keeps one timer on nextDueAt(context) of this coordinator (systemId
    // `coordinator`) and sends clock.tick. Time enters only as events.
    clock: fromCallback<CoordinatorEvent>(() => undefined),
    // Bound in src/orchestrator: answers each session's credentials.request (env, files, OAuth refresh).
    credentials: fromCallback<CredentialsRequest>(() => undefined),
  },
  guards: {
    isHopeless: ({ context, event }) => {
      assertEvent(event, 'agent.spawn');
      return hopelessCode(context, event) !== null;
    },
    canAdmit: ({ context, event }) => {
      assertEvent(event, 'agent.spawn');
      return decide(context, event, event.now).status === 'admit';
    },
    canQueue: ({ context, event }) => {
      assertEvent(event, 'agent.spawn');
      // A request no provider may ever take (all switched off for it) would only wait out its deadline.
      return event.waitMs > 0 && context.queue.length < context.config.maxQueue && admissionCandidates(context.config.fallbackChain, event).length > 0;
    },
  },
  actions: {
    // Side-effect slots: no-ops here, bound in src/orchestrator/bindMachines.ts.
    settleStint: (_, _params: SideEffectParams['settleStint']) => undefined,
    recordPause: (_, _params: SideEffectParams['recordPause']) => undefined,
    learnEstimate: (_, _params: SideEffectParams['learnEstimate']) => undefined,
    admit: enqueueActions(({ context, event, enqueue }) => {
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
    }),
    answerReserve: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ledger.reserveAnswered');
      const entry = context.confirming[event.requestId];
      if (entry === undefined) return;
      const { [event.requestId]: _answered, ...confirming } = context.confirming;
      const now = Math.max(context.now, event.now);
      const { request } = entry;
      if (event.granted) {
        enqueue.assign({ confirming, now });
        admitOne(enqueue, context, request, entry.provider, entry.allocation, now);
        return;
      }
      // The local view was stale: give the local reservation back and learn from the refusal.
      let budgets = settle(context.budgets, entry.provider, entry.allocation);
      if (event.code !== 'ledger-unavailable') budgets = clampAfterRefusal(budgets, entry.provider, event.code);
      const after: CoordinatorContext = { ...context, confirming, budgets, now };
      if (event.code !== 'ledger-unavailable') {
        const decision = decide(after, request, now);
        if (decision.status === 'admit') {
          // Another provider it may use has room: ask the ledger there.
          const next = askLedger(enqueue, confirming, request, decision.provider, decision.allocation);
          enqueue.assign({ confirming: next, budgets: announceLow(enqueue, context, reserve(budgets, decision.provider, decision.allocation)), now });
          return;
        }
        if (request.waitMs > 0 && now < request.deadline) {
          // Back to its place in the queue, with its deadline: retried when a slot can have freed.
          const queue = requeueAtPlace(context.queue, request);
          enqueue.emit({ type: 'agent.queued', requestId: request.requestId, agentId: request.agentId, position: queue.indexOf(request), code: event.code });
          commitAndDrain(enqueue, { ...after, queue }, budgets, now, { confirming });
          return;
        }
      }
      const waited = request.waitMs > 0 && now >= request.deadline;
      enqueue.emit({ type: 'agent.refused', requestId: request.requestId, agentId: request.agentId, code: event.code, retryAfterMs: event.retryAfterMs, waited });
      commitAndDrain(enqueue, after, budgets, now, { confirming });
    }),
    enqueueRequest: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'agent.spawn');
      const { type: _type, ...request } = event;
      const decision = decide(context, event, event.now);
      const queue = enqueueOrdered(context.queue, { ...request, deadline: event.now + event.waitMs, seq: context.queueSeq });
      enqueue.assign({ queue, queueSeq: context.queueSeq + 1, now: Math.max(context.now, event.now) });
      enqueue.emit({
        type: 'agent.queued',
        requestId: event.requestId,
        agentId: event.agentId,
        position: queue.findIndex((q) => q.requestId === event.requestId),
        code: decision.status === 'refuse' ? decision.code : 'concurrency-limit',
      });
    }),
    refuse: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'agent.spawn');
      const decision = decide(context, event, event.now);
      const candidates = admissionCandidates(context.config.fallbackChain, event);
      const code = decision.status === 'refuse' ? (event.waitMs > 0 && candidates.length > 0 ? 'queue-full' : decision.code) : 'concurrency-limit';
      enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code, retryAfterMs: retryAfterMs(context, code, event.now, candidates), waited: false });
    }),
    refuseHopeless: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'agent.spawn');
      const code = hopelessCode(context, event) ?? 'no-provider';
      enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code, retryAfterMs: null, waited: false, hopeless: true });
    }),
    refuseStopping: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'agent.spawn');
      enqueue.emit({ type: 'agent.refused', requestId: event.requestId, agentId: event.agentId, code: 'stopped', retryAfterMs: null, waited: false });
    }),
    refuseAllWaiting: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ queue: [] });
      for (const entry of context.queue) {
        // Requeued sessions are live agents: the orchestrator stops them itself.
        if (entry.readmit === true) continue;
        enqueue.emit({ type: 'agent.refused', requestId: entry.requestId, agentId: entry.agentId, code: 'stopped', retryAfterMs: null, waited: true });
      }
    }),
    announceActive: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'session.activated');
      enqueue.emit({ type: 'agent.active', sessionId: event.sessionId, agentId: event.agentId, provider: event.provider });
    }),
    recordUsage: enqueueActions(({ context, event, enqueue, system }) => {
      assertEvent(event, 'session.usageReported');
      let outcome: { budgets: Budgets; topUp: number; overrun: number };
      let topUps = context.topUps;
      if (context.config.sharedLedger === true) {
        // Beyond the allocation, more is granted only when the ledger reserved it (ledger.topUpAnswered).
        const stint = event.stint ?? 0;
        const shared = recordSharedUsage(context.budgets, context.topUps, { sessionId: event.sessionId, provider: event.provider, stint, tokens: event.tokens, withinTokens: event.withinTokens, estimate: event.estimatedTokens, usedOnProvider: event.usedOnProvider ?? event.tokens });
        topUps = shared.topUps;
        outcome = { budgets: shared.budgets, topUp: 0, overrun: shared.overrun };
        if (shared.ask !== null) enqueue.emit({ type: 'quota.topUpAsked', sessionId: event.sessionId, provider: event.provider, stint, tokens: shared.ask, usedOnProvider: event.usedOnProvider ?? event.tokens });
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
    }),
    recordFailure: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'provider.failed');
      const now = Math.max(context.now, event.now);
      const { provider } = event;
      let health = event.countsForHealth ? recordHealth(enqueue, context, provider, false, now) : context.health;
      if (event.throttle === 'server') {
        const before = health[provider].limit;
        const throttled = recordThrottle(health[provider], context.config.adaptive, now, event.since ?? null);
        health = { ...health, [provider]: throttled.health };
        if (throttled.changed !== null && before !== null) enqueue.emit({ type: 'provider.limit', provider, limit: throttled.changed, previous: before, reason: 'throttle' });
      } else if (event.throttle === 'usage-limit') {
        const until = event.resetAt !== null && event.resetAt > now ? event.resetAt : now + context.config.usageLimitPauseMs;
        const paused = pauseUntil(health[provider], until);
        if (paused !== health[provider]) {
          sideEffect(enqueue, 'recordPause', { provider, pause: { until: paused.pausedUntil, reason: event.kind } });
          enqueue.emit({ type: 'provider.paused', provider, until: paused.pausedUntil, reason: event.kind });
        }
        health = { ...health, [provider]: paused };
      }
      if (health !== context.health) enqueue.assign({ health, now });
    }),
    pauseExhausted: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'provider.exhausted');
      const now = Math.max(context.now, event.now);
      if (event.until <= now) return;
      const paused = pauseUntil(context.health[event.provider], event.until);
      if (paused === context.health[event.provider]) return;
      sideEffect(enqueue, 'recordPause', { provider: event.provider, pause: { until: paused.pausedUntil, reason: event.reason } });
      enqueue.emit({ type: 'provider.paused', provider: event.provider, until: paused.pausedUntil, reason: event.reason });
      enqueue.assign({ health: { ...context.health, [event.provider]: paused }, now });
    }),
    answerTopUp: enqueueActions(({ context, event, enqueue, system }) => {
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
    }),
    applyLedgerLimits: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ledger.limits');
      let budgets: Budgets = context.budgets;
      for (const p of PROVIDER_IDS) budgets = withBudget(budgets, p, { dailyLimit: event.limits[p].dailyLimit, maxConcurrent: event.limits[p].maxConcurrent });
      commitAndDrain(enqueue, context, budgets, Math.max(context.now, event.now));
    }),
    fallBack: enqueueActions(({ context, event, enqueue, system }) => {
      assertEvent(event, 'session.fallbackRequested');
      const now = Math.max(context.now, event.now);
      const dropped = dropTopUp(context.budgets, context.topUps, event.sessionId);
      if (dropped.topUps !== context.topUps) {
        context = { ...context, topUps: dropped.topUps };
        enqueue.assign({ topUps: dropped.topUps });
      }
      const afterReturn = settle(dropped.budgets, event.from, event.returnedTokens);
      if (event.notBefore !== null) {
        // Requeued: the slot and the unused allocation are back; the session waits, first in line, for its provider.
        const requestId = `requeue:${event.sessionId}`;
        const deadline = now + context.config.leaseMs;
        const entry: QueuedRequest = {
          requestId, sessionId: event.sessionId, agentId: event.agentId, estimatedTokens: event.estimatedTokens, preferredProvider: event.from, onlyPreferred: true,
          waitMs: context.config.leaseMs, priority: Number.MAX_SAFE_INTEGER, now, deadline, seq: context.queueSeq, readmit: true, notBefore: event.notBefore,
        };
        sideEffect(enqueue, 'settleStint', { sessionId: event.sessionId, stint: event.stint, provider: event.from, usedOnProvider: event.usedOnProvider });
        enqueue.emit({ type: 'agent.requeued', requestId, sessionId: event.sessionId, agentId: event.agentId, provider: event.from, reason: event.reason, notBefore: event.notBefore, deadline, stint: event.stint, usedOnProvider: event.usedOnProvider });
        commitAndDrain(enqueue, { ...context, queue: enqueueOrdered(context.queue, entry) }, afterReturn, now, { queueSeq: context.queueSeq + 1 });
        return;
      }
      const decision = decideAdmission(afterReturn, event.candidates, event.estimatedTokens, capsAt(context, now));
      const session = system.get(event.sessionId);
      if (decision.status === 'admit') {
        if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackAdmitted', provider: decision.provider, allocatedTokens: decision.allocation }));
        sideEffect(enqueue, 'settleStint', { sessionId: event.sessionId, stint: event.stint, provider: event.from, usedOnProvider: event.usedOnProvider });
        enqueue.emit({ type: 'agent.fallback', stint: event.stint, usedOnProvider: event.usedOnProvider, sessionId: event.sessionId, agentId: event.agentId, from: event.from, to: decision.provider, reason: event.reason, allocatedTokens: decision.allocation });
        commitAndDrain(enqueue, context, reserve(afterReturn, decision.provider, decision.allocation), now);
        return;
      }
      const message = event.candidates.length === 0
        ? `no fallback provider is configured after ${event.from}`
        : `no fallback provider can take the session (${decision.code} on ${event.candidates.join(', ')})`;
      if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackRefused', code: 'no-provider', message }));
      sideEffect(enqueue, 'settleStint', { sessionId: event.sessionId, stint: event.stint, provider: event.from, usedOnProvider: event.usedOnProvider });
      enqueue.emit({ type: 'agent.fallback', stint: event.stint, usedOnProvider: event.usedOnProvider, sessionId: event.sessionId, agentId: event.agentId, from: event.from, to: null, reason: event.reason, allocatedTokens: 0 });
      commitAndDrain(enqueue, context, afterReturn, now);
    }),
    refuseFallbackStopping: enqueueActions(({ context, event, enqueue, system }) => {
      assertEvent(event, 'session.fallbackRequested');
      const session = system.get(event.sessionId);
      if (session) enqueue.sendTo(session, toSession({ type: 'session.fallbackRefused', code: 'stopped', message: 'the orchestrator is stopping' }));
      sideEffect(enqueue, 'settleStint', { sessionId: event.sessionId, stint: event.stint, provider: event.from, usedOnProvider: event.usedOnProvider });
      enqueue.emit({ type: 'agent.fallback', stint: event.stint, usedOnProvider: event.usedOnProvider, sessionId: event.sessionId, agentId: event.agentId, from: event.from, to: null, reason: event.reason, allocatedTokens: 0 });
      enqueue.assign({ budgets: settle(context.budgets, event.from, event.returnedTokens) });
    }),
    settleSession: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'session.ended');
      const { output } = event;
      const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
      const budgets = output.heldSlot ? settle(dropped.budgets, output.provider, output.returnedOnProvider) : dropped.budgets;
      if (dropped.topUps !== context.topUps) context = { ...context, topUps: dropped.topUps };
      if (output.heldSlot) {
        const { sessionId, stint, provider, usedOnProvider } = output;
        sideEffect(enqueue, 'settleStint', { sessionId, stint, provider, usedOnProvider });
      }
      sideEffect(enqueue, 'learnEstimate', { sessionId: output.sessionId, reason: output.reason, usedTokens: output.usedTokens });
      enqueue.emit({ type: 'agent.released', output });
      // A session that ended while requeued (released by its host, swept) no longer waits.
      const queue = output.heldSlot ? context.queue : context.queue.filter((q) => q.sessionId !== output.sessionId || q.readmit !== true);
      commitAndDrain(enqueue, queue === context.queue ? context : { ...context, queue }, budgets, Math.max(context.now, output.endedAt), { topUps: context.topUps });
    }),
    settleOnly: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'session.ended');
      const { output } = event;
      const dropped = dropTopUp(context.budgets, context.topUps, output.sessionId);
      enqueue.assign({ topUps: dropped.topUps, budgets: output.heldSlot ? settle(dropped.budgets, output.provider, output.returnedOnProvider) : dropped.budgets });
      if (output.heldSlot) {
        const { sessionId, stint, provider, usedOnProvider } = output;
        sideEffect(enqueue, 'settleStint', { sessionId, stint, provider, usedOnProvider });
      }
      sideEffect(enqueue, 'learnEstimate', { sessionId: output.sessionId, reason: output.reason, usedTokens: output.usedTokens });
      enqueue.emit({ type: 'agent.released', output });
    }),
    startNewWindow: enqueueActions(({ context, event, enqueue }) => {
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
    }),
    resumeProviders: enqueueActions(({ context, event, enqueue }) => {
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
    }),
    drainQueue: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'clock.tick');
      const now = Math.max(context.now, event.now);
      // A passed not-before time is dropped, so it is no longer due.
      const ready = context.queue.some((q) => q.notBefore !== undefined && q.notBefore <= event.now);
      const queue = ready ? context.queue.map((q) => (q.notBefore !== undefined && q.notBefore <= event.now ? withoutNotBefore(q) : q)) : context.queue;
      commitAndDrain(enqueue, ready ? { ...context, queue } : context, context.budgets, now);
    }),
    expireWaits: enqueueActions(({ context, event, enqueue }) => {
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
        enqueue.emit({ type: 'agent.refused', requestId: entry.requestId, agentId: entry.agentId, code, retryAfterMs: retryAfterMs(context, code, event.now, admissionCandidates(context.config.fallbackChain, entry)), waited: true });
      }
    }),
    sweepLeases: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'clock.tick');
      const interval = context.config.sweepIntervalMs;
      if (interval === undefined || event.now < context.sweptAt + interval) return;
      // Sweeps stay on their grid (start + k * interval) however late the tick comes.
      enqueue.assign({ sweptAt: context.sweptAt + Math.floor((event.now - context.sweptAt) / interval) * interval, now: Math.max(context.now, event.now) });
      enqueue.sendTo(context.supervisor, { type: 'supervisor.sweep', now: event.now });
    }),
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input, spawn }) => ({
    ...input,
    queue: [],
    queueSeq: 0,
    admitted: 0,
    topUps: {},
    confirming: {},
    sweptAt: input.now,
    health: {
      claude: initialHealth('claude', input.budgets.claude.maxConcurrent, input.config.adaptive),
      openai: initialHealth('openai', input.budgets.openai.maxConcurrent, input.config.adaptive),
    },
    supervisor: spawn('sessionSupervisor', { id: 'sessions', systemId: 'sessions' }),
  }),
  invoke: [
    { id: 'clock', src: 'clock' },
    { id: 'credentials', src: 'credentials', systemId: 'credentials' },
  ],
  on: {
    'session.activated': { actions: 'announceActive' },
    'session.usageReported': { actions: 'recordUsage' },
    'provider.failed': { actions: 'recordFailure' },
    'provider.exhausted': { actions: 'pauseExhausted' },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'agent.spawn': [
          { guard: 'isHopeless', actions: 'refuseHopeless' },
          { guard: 'canAdmit', actions: 'admit' },
          { guard: 'canQueue', actions: 'enqueueRequest' },
          { actions: 'refuse' },
        ],
        'session.fallbackRequested': { actions: 'fallBack' },
        'session.ended': { actions: 'settleSession' },
        'clock.tick': { actions: ['startNewWindow', 'resumeProviders', 'drainQueue', 'expireWaits', 'sweepLeases'] },
        'ledger.limits': { actions: 'applyLedgerLimits' },
        'ledger.topUpAnswered': { actions: 'answerTopUp' },
        'ledger.reserveAnswered': { actions: 'answerReserve' },
        'coordinator.stop': { target: 'stopping', actions: 'refuseAllWaiting' },
      },
    },
    stopping: {
      on: {
        'agent.spawn': { actions: 'refuseStopping' },
        'session.fallbackRequested': { actions: 'refuseFallbackStopping' },
        'session.ended': { actions: 'settleOnly' },
      },
    },
  },
});

export type CoordinatorMachine = typeof coordinatorMachine;
