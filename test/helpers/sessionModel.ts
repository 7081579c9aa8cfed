/**
 * The session model of test/machines/agentSession.model.test.ts: the real agentSessionMachine with
 * its five messaging actions as no-ops (so xstate/graph can traverse it without a system), the
 * events a host can cause in each state, and the coordinator's answers, computed here from the
 * rules in docs/machines.md (allocation min(estimate, floor(available / 2)); a top-up is the
 * overage plus min(estimate, floor(free / 2)), or, when the window cannot cover the usage, an
 * overrun that ends the session). It does not import machines/budget.ts: a slip in that arithmetic
 * shows up as a difference from the orchestrator.
 */
import type { SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import type { SessionEvent, SessionInput } from '../../machines/agentSession.types';
import type { ProviderId } from '../../src';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';

export const ESTIMATE = 10_000;
export const AGENT_ID = 'model-agent';
export const SMALL_USAGE_REPORT = { inputTokens: 500, outputTokens: 200 } as const;
/** Beyond any allocation of the scenarios (at most ESTIMATE): always asks for a top-up. */
export const BIG_USAGE_REPORT = { inputTokens: 11_000, outputTokens: 1_000 } as const;
export const SMALL_USAGE = SMALL_USAGE_REPORT.inputTokens + SMALL_USAGE_REPORT.outputTokens;
export const BIG_USAGE = BIG_USAGE_REPORT.inputTokens + BIG_USAGE_REPORT.outputTokens;
/** The orchestrator's requeue default (src/orchestrator/options.ts `requeueThrottled`). */
const MAX_REQUEUES = 10;
/** The Retry-After of the throttling that requeues a session: within the default maxRetryAfterMs (30 s), beyond which nothing is requeued. */
export const RETRY_AFTER_MS = 20_000;

/** The failures a host reports, as the orchestrator sends them (src/orchestrator/managedAgent.ts reportFailure; jitter: Math.random()). */
export const FAILURES = {
  /** 401: falls back while the chain allows, else ends the session. */
  auth: {
    type: 'session.failure',
    reason: 'auth',
    failure: { kind: 'auth', retryAfterMs: null, throttle: null },
    jitter: 0,
    now: 0,
  },
  /** 429 with Retry-After before any usage on the provider: requeued on it. */
  throttled: {
    type: 'session.failure',
    reason: 'rate-limit',
    failure: { kind: 'rate-limit', retryAfterMs: RETRY_AFTER_MS, throttle: 'server' },
    jitter: 0,
    now: 0,
  },
  /** 529 with no fallback left: retried on the provider (the session stays active). */
  overloaded: {
    type: 'session.failure',
    reason: 'overloaded',
    failure: { kind: 'overloaded', retryAfterMs: null, throttle: null },
    jitter: 0,
    now: 0,
  },
  /** 400: the request was at fault; the session stays active. */
  invalidRequest: {
    type: 'session.failure',
    reason: 'invalid-request',
    failure: { kind: 'invalid-request', retryAfterMs: null, throttle: null },
    jitter: 0,
    now: 0,
  },
} as const satisfies Record<string, SessionEvent>;

export interface Limits {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
}

export interface SessionScenario {
  readonly name: string;
  readonly limits: Readonly<Record<ProviderId, Limits>>;
  readonly maxFallbacks: number;
  /** Whether the host may report a throttle that requeues the session (doubles the graph: one scenario leaves it out). */
  readonly requeues: boolean;
  /** Transitions of the machine this scenario cannot reach (id → why); every other one must be taken. */
  readonly unreached: Readonly<Record<string, string>>;
}

const noop = () => undefined;
export const sessionModel = agentSessionMachine.provide({
  actions: {
    requestCredentials: noop,
    notifyActivated: noop,
    notifyUsage: noop,
    requestFallback: noop,
    notifyEnded: noop,
  },
});
export type SessionModelSnapshot = SnapshotFrom<typeof sessionModel>;

/** The allocation rule on a fresh window: min(estimate, floor(available / 2)). */
export function allocationOn(limits: Limits): number {
  return Math.min(ESTIMATE, Math.floor(limits.dailyLimit / 2));
}

export function modelInput(scenario: SessionScenario): SessionInput {
  return {
    sessionId: 'model-session',
    agentId: AGENT_ID,
    provider: 'claude',
    fallbackProviders: ['openai'],
    maxFallbacks: scenario.maxFallbacks,
    estimatedTokens: ESTIMATE,
    allocatedTokens: allocationOn(scenario.limits.claude),
    leaseMs: 2 * 60 * 60 * 1000,
    now: 0,
    maxRequeues: MAX_REQUEUES,
    failurePolicies: resolveAgentFailurePolicy(),
  };
}

/**
 * The coordinator's answer to the session's fallingBack: a requeue is re-admitted on its provider
 * (its slot came back, so it fits again); a fallback goes to openai unless openai is disabled.
 */
export function fallbackAnswer(scenario: SessionScenario, snapshot: SessionModelSnapshot): SessionEvent {
  const { provider, pending } = snapshot.context;
  if (pending.requeueAt !== null)
    return { type: 'session.fallbackAdmitted', provider, allocatedTokens: allocationOn(scenario.limits[provider]) };
  const openai = scenario.limits.openai;
  if (openai.dailyLimit === 0 || openai.maxConcurrent === 0)
    return { type: 'session.fallbackRefused', code: 'no-provider', message: 'refused' };
  return { type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: allocationOn(openai) };
}

/**
 * The coordinator's answer to usage beyond the allocation. Each provider carries one stint with
 * usage at most (a requeue happens only before any usage), so the provider's `used` is the stint's.
 */
export function topUpAnswer(scenario: SessionScenario, snapshot: SessionModelSnapshot): SessionEvent {
  const { provider, tokens } = snapshot.context;
  const overage = tokens.usedOnProvider - tokens.allocated;
  const free = scenario.limits[provider].dailyLimit - tokens.usedOnProvider;
  if (free < 0) return { type: 'session.topUpRefused', overrunTokens: Math.min(overage, -free) };
  return { type: 'session.toppedUp', tokens: overage + Math.min(ESTIMATE, Math.floor(free / 2)) };
}

/** Whether the session waits for the coordinator's answer to usage beyond its allocation. */
export function awaitsTopUp(snapshot: SessionModelSnapshot): boolean {
  return snapshot.value === 'active' && snapshot.context.tokens.usedOnProvider > snapshot.context.tokens.allocated;
}

/** Requeues on the current provider (a stint starts with each fallback and each requeue). */
function requeuesOf(snapshot: SessionModelSnapshot): number {
  return snapshot.context.stint - snapshot.context.fallbacks.length;
}

/** Whether the chain still has a fallback for the session (the rule of docs/machines.md, not machines/failureDecision.ts). */
function canFallBack(scenario: SessionScenario, snapshot: SessionModelSnapshot): boolean {
  return snapshot.context.fallbacks.length < scenario.maxFallbacks && snapshot.context.provider === 'claude';
}

/** What a host can cause in each state, and the coordinator's answers where the session waits for one. */
export function eventsFor(scenario: SessionScenario, snapshot: SessionModelSnapshot): SessionEvent[] {
  const { provider, tokens } = snapshot.context;
  if (awaitsTopUp(snapshot)) return [topUpAnswer(scenario, snapshot)];
  // One usage report per provider stint keeps the graph finite; the count is in the serialised state.
  const fresh = tokens.usedOnProvider === 0;
  const small: SessionEvent[] = fresh ? [{ type: 'session.usage', tokens: SMALL_USAGE, now: 0 }] : [];
  const release: SessionEvent = { type: 'session.release', now: 0 };
  const sweep: SessionEvent = { type: 'session.sweep', now: Number.MAX_SAFE_INTEGER };
  switch (snapshot.value) {
    case 'authenticating':
      return [
        { type: 'credentials.granted', provider, result: { source: 'model', hint: 'model', secretEnv: {}, env: {} } },
        { type: 'credentials.denied', provider, code: 'auth-failed', message: 'denied' },
        ...small,
        release,
        sweep,
      ];
    case 'active':
      return [
        ...small,
        ...(fresh ? [{ type: 'session.usage', tokens: BIG_USAGE, now: 0 } as const] : []),
        { type: 'session.heartbeat', now: 0 },
        FAILURES.auth,
        FAILURES.invalidRequest,
        // Retried in place only once the chain is spent (with a fallback left, the policy falls back as for auth).
        ...(canFallBack(scenario, snapshot) ? [] : [FAILURES.overloaded]),
        // Throttled before any work on the provider: the orchestrator requeues instead of failing over.
        // Once, on the first provider: a requeue comes back to a fresh stint, so more would never end the graph.
        ...(scenario.requeues && fresh && requeuesOf(snapshot) === 0 && snapshot.context.fallbacks.length === 0
          ? [FAILURES.throttled]
          : []),
        release,
        sweep,
      ];
    case 'fallingBack':
      return [fallbackAnswer(scenario, snapshot)];
    default:
      return [];
  }
}

/** The state plus the context that decides what the orchestrator must show. */
export function serialize(snapshot: SessionModelSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    provider: c.provider,
    fallbacks: c.fallbacks.length,
    holdsSlot: c.holdsSlot,
    requeue: snapshot.value === 'fallingBack' && c.pending.requeueAt !== null,
    // Without it a re-admitted requeue would be its own starting state, and that edge in no path.
    requeues: requeuesOf(snapshot),
    allocated: c.tokens.allocated,
    usedOnProvider: c.tokens.usedOnProvider,
    used: c.tokens.used,
    reason: c.outcome?.reason ?? null,
  });
}

export function sessionModelFor(scenario: SessionScenario) {
  const events = (snapshot: SessionModelSnapshot) => eventsFor(scenario, snapshot);
  return createTestModel(sessionModel, {
    input: modelInput(scenario),
    events,
    // createTestModel adds a bare `{ type }` for every other event the state accepts; keep only ours.
    filterEvents: (snapshot, event) => events(snapshot).some((e) => JSON.stringify(e) === JSON.stringify(event)),
    serializeState: (snapshot) => serialize(snapshot),
  });
}

export type SessionTestModel = ReturnType<typeof sessionModelFor>;
export type SessionTestPath = ReturnType<SessionTestModel['getShortestPaths']>[number];
