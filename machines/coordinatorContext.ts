/**
 * The coordinator's context and the helpers its guards and actions share (machines/coordinatorGuards.ts,
 * machines/coordinatorActions.ts). Pure: effects go through `enqueue` (assign, sendTo, emit).
 */
import type { ActorRefFrom, AnyActorRef, EventObject } from 'xstate';
import type { SessionEvent, SessionInput } from './agentSession.types';
import { availableTokens, decideAdmission, settle, withBudget } from './budget';
import type { Budgets, RefusalCode } from './budget';
import { admissionCandidates, candidatesFor, onlyAllowed, planDrain } from './admissionQueue';
import type {
  CoordinatorEmitted,
  CoordinatorEvent,
  CoordinatorInput,
  QueuedRequest,
  SpawnRequest,
} from './coordinator.types';
import { admissionCap, isCapped, recordOutcome, windowCounts } from './providerHealth';
import type { HealthByProvider } from './providerHealth';
import { PROVIDER_IDS } from './providers';
import type { ProviderId } from './providers';
import type { SessionSupervisorLogic, SupervisorEvent } from './sessionSupervisor';
import { dropTopUp } from './topUps';
import { sharedRefusalCode } from './ledgerAdmission';
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
export interface Enqueue {
  assign(update: Partial<CoordinatorContext>): void;
  sendTo(to: ActorRefFrom<SessionSupervisorLogic>, event: SupervisorEvent): void;
  sendTo(to: AnyActorRef, event: EventObject): void;
  emit(event: CoordinatorEmitted): void;
}

/**
 * The request without its not-before time (passed).
 *
 * @example withoutNotBefore({ ...entry, notBefore: now }) // entry without notBefore
 */
export function withoutNotBefore(request: QueuedRequest): QueuedRequest {
  const { notBefore: _passed, ...rest } = request;
  return rest;
}

/**
 * Types an answer to a session (found by systemId, so its ref is untyped).
 *
 * @example enqueue.sendTo(session, toSession({ type: 'session.toppedUp', tokens: 500 }))
 */
export function toSession(event: SessionEvent): EventObject {
  return event;
}

/**
 * Concurrency caps from circuits that are not closed; undefined (no caps) in the common case.
 *
 * @example capsAt(context, now) // undefined while every circuit is closed
 */
export function capsAt(
  context: CoordinatorContext,
  now: number,
  health: HealthByProvider = context.health,
): Readonly<Record<ProviderId, number>> | undefined {
  if (!isCapped(health.claude) && !isCapped(health.openai)) return undefined;
  const cap = (p: ProviderId) => admissionCap(health[p], context.config.circuit, now);
  return { claude: cap('claude'), openai: cap('openai') };
}

/**
 * The admission decision for a request now: admit on a provider, or the refusal code (reported as what it is on a shared ledger).
 *
 * @example decide(context, spawnEvent, spawnEvent.now) // { status: 'admit', provider: 'claude', allocation: 10_000 }
 */
export function decide(context: CoordinatorContext, request: SpawnRequest, now: number) {
  const candidates = admissionCandidates(context.config.fallbackChain, request);
  const decision = decideAdmission(context.budgets, candidates, request.estimatedTokens, capsAt(context, now));
  if (decision.status === 'admit' || context.config.sharedLedger !== true || context.config.globalLimits === undefined)
    return decision;
  return {
    status: 'refuse' as const,
    code: sharedRefusalCode(decision.code, context.budgets, candidates, context.config.globalLimits),
  };
}

/**
 * A new spawn (not a requeued session) on a shared ledger starts only once the ledger reserved it too.
 *
 * @example confirmsWithLedger(context, request) // true for a new spawn on a shared ledger
 */
export function confirmsWithLedger(context: CoordinatorContext, request: QueuedRequest | SpawnRequest): boolean {
  return context.config.sharedLedger === true && !('readmit' in request && request.readmit === true);
}

/**
 * Holds a locally reserved admission until the ledger answers (ledger.reserveAnswered).
 *
 * @example const confirming = askLedger(enqueue, context.confirming, request, 'claude', 10_000)
 */
export function askLedger(
  enqueue: Enqueue,
  confirming: ConfirmingRequests,
  request: QueuedRequest,
  provider: ProviderId,
  allocation: number,
): ConfirmingRequests {
  enqueue.emit({
    type: 'ledger.reserveAsked',
    requestId: request.requestId,
    sessionId: request.sessionId,
    provider,
    tokens: allocation,
  });
  return { ...confirming, [request.requestId]: { request, provider, allocation } };
}

/**
 * A request no wait can help: every provider it may use is disabled (daily limit or maxConcurrent
 * 0) or has a daily limit below its estimate. Judged on the configured limits, not on what is
 * free now. Returns the refusal code, or null when the request may fit some day.
 *
 * @example hopelessCode(context, { ...spawnEvent, estimatedTokens: 10_000_000 }) // 'quota-exhausted'
 */
export function hopelessCode(
  context: CoordinatorContext,
  request: SpawnRequest,
): 'quota-exhausted' | 'no-provider' | null {
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

/**
 * The retry hint of a refusal: the next reset, the concurrency hint, or when the candidates' circuits or pauses end.
 *
 * @example retryAfterMs(context, 'quota-exhausted', now) // ms until the daily reset
 */
export function retryAfterMs(
  context: CoordinatorContext,
  code: RefusalCode | 'queue-full' | 'stopped',
  now: number,
  candidates: readonly ProviderId[] = PROVIDER_IDS,
): number | null {
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

/**
 * Counts one outcome on a provider's circuit and tells the host when the circuit opens or closes.
 *
 * @example const health = recordHealth(enqueue, context, 'claude', false, now)
 */
export function recordHealth(
  enqueue: Enqueue,
  context: CoordinatorContext,
  provider: ProviderId,
  ok: boolean,
  now: number,
): HealthByProvider {
  const change = recordOutcome(context.health[provider], context.config.circuit, ok, now);
  if (change.health === context.health[provider]) return context.health;
  if (change.transition !== null) {
    const opened = change.transition === 'opened';
    const failures = opened ? windowCounts(context.health[provider], context.config.circuit, now).failed + 1 : 0;
    enqueue.emit({
      type: 'provider.circuit',
      provider,
      state: opened ? 'open' : 'closed',
      openUntil: opened ? change.health.openUntil : null,
      failures,
      now,
    });
  }
  return { ...context.health, [provider]: change.health };
}

/**
 * The input of a session admitted on `provider` with `allocation`.
 *
 * @example enqueue.sendTo(context.supervisor, { type: 'supervisor.spawn', input: sessionInput(context, request, 'claude', 10_000, now) })
 */
export function sessionInput(
  context: CoordinatorContext,
  request: SpawnRequest,
  provider: ProviderId,
  allocation: number,
  now: number,
): SessionInput {
  return {
    sessionId: request.sessionId,
    agentId: request.agentId,
    provider,
    fallbackProviders: onlyAllowed(
      candidatesFor(context.config.fallbackChain, provider).slice(1),
      request.allowedProviders,
    ),
    maxFallbacks: context.config.maxFallbacks,
    estimatedTokens: request.estimatedTokens,
    allocatedTokens: allocation,
    leaseMs: context.config.leaseMs,
    now,
    ...(context.config.failurePolicies === undefined ? {} : { failurePolicies: context.config.failurePolicies }),
    ...(context.config.maxRequeues === undefined ? {} : { maxRequeues: context.config.maxRequeues }),
    ...(context.config.sharedLedger === true ? { sharedLedger: true } : {}),
  };
}

/**
 * Emits `quota.low` once a window for each provider whose available tokens fell below the watermark.
 *
 * @example const budgets = announceLow(enqueue, context, reserve(context.budgets, 'claude', 10_000))
 */
export function announceLow(enqueue: Enqueue, context: CoordinatorContext, budgets: Budgets): Budgets {
  let next = budgets;
  for (const p of PROVIDER_IDS) {
    const b = next[p];
    if (b.lowAnnounced || b.dailyLimit === 0 || availableTokens(b) >= b.dailyLimit * context.config.lowWatermark)
      continue;
    next = withBudget(next, p, { lowAnnounced: true });
    enqueue.emit({ type: 'quota.low', provider: p, available: availableTokens(b), dailyLimit: b.dailyLimit });
  }
  return next;
}

/**
 * Admits one request: the host hears of it (agent.admitted) before the session starts, so a session
 * that ends at once (credentials denied) is still known when its end is reported.
 *
 * @example admitOne(enqueue, context, request, 'claude', 10_000, now)
 */
export function admitOne(
  enqueue: Enqueue,
  context: CoordinatorContext,
  request: QueuedRequest | SpawnRequest,
  provider: ProviderId,
  allocation: number,
  now: number,
): void {
  if ('readmit' in request && request.readmit === true) {
    // A requeued session comes back: it is live already, so it is told, not spawned.
    enqueue.sendTo(context.supervisor, {
      type: 'supervisor.forward',
      sessionId: request.sessionId,
      event: { type: 'session.fallbackAdmitted', provider, allocatedTokens: allocation },
    });
    return;
  }
  enqueue.emit({
    type: 'agent.admitted',
    requestId: request.requestId,
    sessionId: request.sessionId,
    agentId: request.agentId,
    provider,
    allocatedTokens: allocation,
    waitedMs: Math.max(0, now - request.now),
  });
  enqueue.sendTo(context.supervisor, {
    type: 'supervisor.spawn',
    input: sessionInput(context, request, provider, allocation, now),
  });
}

/**
 * Commits new budgets (and time), then admits waiting requests that now fit, in queue order, in the
 * same transition that freed the capacity: a newcomer cannot take a slot a waiter was due.
 *
 * @example commitAndDrain(enqueue, context, settle(context.budgets, 'claude', 2_000), now)
 */
export function commitAndDrain(
  enqueue: Enqueue,
  context: CoordinatorContext,
  budgets: Budgets,
  now: number,
  extra: Partial<CoordinatorContext> = {},
): void {
  const plan = planDrain(budgets, context.queue, context.config.fallbackChain, capsAt(context, now, extra.health), now);
  const announced = announceLow(enqueue, context, plan.budgets);
  let confirming = extra.confirming ?? context.confirming;
  const start = plan.admitted.filter((a) => {
    if (!confirmsWithLedger(context, a.request)) return true;
    confirming = askLedger(enqueue, confirming, a.request, a.provider, a.allocation);
    return false;
  });
  // Not `{ ...extra, confirming, … }`: V8 11 (Node 20) takes a slow path of several µs for each key a literal adds after a leading spread.
  enqueue.assign(
    Object.assign({}, extra, {
      confirming,
      budgets: announced,
      queue: plan.queue,
      admitted: context.admitted + plan.admitted.length,
      now,
    }),
  );
  for (const a of start) admitOne(enqueue, context, a.request, a.provider, a.allocation, now);
}

type FallbackRequest = Extract<CoordinatorEvent, { type: 'session.fallbackRequested' }>;

/**
 * A session leaving its provider (fallback or requeue): its pending top-up is dropped and its
 * unused allocation and slot come back. The context with the top-up dropped, and the budgets after.
 *
 * @example const { context: after, budgets } = returnStint(context, fallbackEvent)
 */
export function returnStint(
  context: CoordinatorContext,
  event: FallbackRequest,
): { readonly context: CoordinatorContext; readonly budgets: Budgets } {
  const dropped = dropTopUp(context.budgets, context.topUps, event.sessionId);
  const after = dropped.topUps === context.topUps ? context : { ...context, topUps: dropped.topUps };
  return { context: after, budgets: settle(dropped.budgets, event.from, event.returnedTokens) };
}

/**
 * Where a falling-back session can go now, judged on the budgets after its stint came back.
 *
 * @example decideFallback(context, fallbackEvent) // { status: 'admit', provider: 'openai', allocation: 8_000 }
 */
export function decideFallback(context: CoordinatorContext, event: FallbackRequest) {
  return decideAdmission(
    returnStint(context, event).budgets,
    event.candidates,
    event.estimatedTokens,
    capsAt(context, Math.max(context.now, event.now)),
  );
}
