/**
 * Harnesses for driving the pure machines (machines/) without the orchestrator.
 *
 * - createSessionHarness: one agentSession actor under a root that registers as systemId
 *   `coordinator` and records every notice the session sends it, beside a `credentials` actor
 *   that answers by a policy the test chooses (grant at once, deny, or hold for a manual answer).
 * - createCoordinatorHarness: the real coordinator (with its real session supervisor and sessions)
 *   with its `clock` slot bound to a no-op (time
 *   enters only as `now` on the events the test sends) and its `credentials` slot bound to the same
 *   policy-driven actor; every emitted event is recorded.
 */
import { DEFAULT_CIRCUIT } from '../../machines/providerHealth';
import { createActor, fromCallback, setup } from 'xstate';
import type { ActorRefFrom, EventObject } from 'xstate';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type {
  AuthResult,
  CredentialsRequest,
  ReservationRequest,
  SessionEvent,
  SessionInput,
  SessionNotice,
} from '../../machines/agentSession.types';
import type { Budgets, ProviderBudget } from '../../machines/budget';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { createSessionSupervisor } from '../../machines/sessionSupervisor';
import type {
  CoordinatorConfig,
  CoordinatorEmitted,
  CoordinatorEvent,
  SpawnRequest,
} from '../../machines/coordinator.types';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { Secret } from '../../machines/secret';
import { DAY0, HOUR, NEXT_RESET, T0 } from './timeOrigin';

export { DAY0, HOUR, NEXT_RESET, T0 } from './timeOrigin';

/** Fake keys, shaped like the real ones; tests assert they never cross providers. */
export const TEST_KEYS: Readonly<Record<ProviderId, string>> = {
  claude: 'sk-ant-api03-machine-test-CLAUDE-0001',
  openai: 'sk-proj-machine-test-OPENAI-0002',
};

/** The secret variables each provider's key goes under (mirrors src/providers for the harness). */
export const SECRET_VARS: Readonly<Record<ProviderId, readonly string[]>> = {
  claude: ['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY'],
  openai: ['OPENAI_API_KEY'],
};

export function authResultFor(provider: ProviderId): AuthResult {
  const secret = new Secret(TEST_KEYS[provider]);
  return {
    source: `test:${provider}`,
    hint: `…${TEST_KEYS[provider].slice(-4)}`,
    secretEnv: Object.fromEntries(SECRET_VARS[provider].map((name) => [name, secret])),
    env:
      provider === 'claude'
        ? { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1/claude' }
        : { OPENAI_BASE_URL: 'http://127.0.0.1:1/openai' },
  };
}

export type CredentialsAnswer =
  AuthResult | { readonly deny: { readonly code: string; readonly message: string } } | 'hold';

/** Decides how the credentials actor answers one request. */
export type CredentialsPolicy = (request: CredentialsRequest) => CredentialsAnswer;

export const grantAll: CredentialsPolicy = (request) => authResultFor(request.provider);

/** Denies the listed providers (as a missing key would), grants the others. */
export function denyProviders(...denied: ProviderId[]): CredentialsPolicy {
  return (request) =>
    denied.includes(request.provider)
      ? { deny: { code: 'auth-failed', message: `no credentials for ${request.provider}` } }
      : authResultFor(request.provider);
}

/**
 * A synchronous credentials actor: answers each credentials.request in the same step, through the
 * system (as src/orchestrator/credentialsActor.ts does), unless the policy says 'hold'.
 */
export function createTestCredentialsActor(policy: CredentialsPolicy, requests: CredentialsRequest[]) {
  return fromCallback<CredentialsRequest>(({ receive, system }) => {
    receive((request) => {
      requests.push(request);
      const answer = policy(request);
      if (answer === 'hold') return;
      const session = system.get(request.sessionId) as ActorRefFrom<AgentSessionMachine> | undefined;
      if ('deny' in answer) {
        session?.send({
          type: 'credentials.denied',
          provider: request.provider,
          code: answer.deny.code,
          message: answer.deny.message,
        });
      } else {
        session?.send({ type: 'credentials.granted', provider: request.provider, result: answer });
      }
    });
  });
}

function isNotice(event: EventObject): event is SessionNotice {
  return (
    event.type === 'session.activated' ||
    event.type === 'session.usageReported' ||
    event.type === 'session.fallbackRequested' ||
    event.type === 'session.ended'
  );
}

export const DEFAULT_SESSION_INPUT: SessionInput = {
  sessionId: 'session-1',
  agentId: 'agent-1',
  provider: 'claude',
  fallbackProviders: ['openai'],
  maxFallbacks: 1,
  estimatedTokens: 1_000,
  allocatedTokens: 1_000,
  leaseMs: 2 * HOUR,
  now: T0,
};

export interface SessionHarnessOptions {
  readonly input?: Partial<SessionInput>;
  readonly credentials?: CredentialsPolicy;
}

/**
 * Starts one agentSession under a recording `coordinator` root with a `credentials` actor beside it,
 * and a `ledger` actor that records reservation requests without answering (the test answers).
 */
export function createSessionHarness(options: SessionHarnessOptions = {}) {
  const input: SessionInput = { ...DEFAULT_SESSION_INPUT, ...options.input };
  const notices: SessionNotice[] = [];
  const credentialRequests: CredentialsRequest[] = [];
  const reservationRequests: ReservationRequest[] = [];
  const root = setup({
    actors: {
      session: agentSessionMachine,
      credentials: createTestCredentialsActor(options.credentials ?? grantAll, credentialRequests),
      ledger: fromCallback<ReservationRequest>(({ receive }) => {
        receive((request) => reservationRequests.push(request));
      }),
    },
  }).createMachine({
    id: 'recordingCoordinator',
    invoke: [
      { id: 'credentials', src: 'credentials', systemId: 'credentials' },
      { id: 'ledger', src: 'ledger', systemId: 'ledger' },
      { id: 'session', src: 'session', systemId: input.sessionId, input },
    ],
    on: {
      '*': {
        actions: ({ event }) => {
          if (isNotice(event)) notices.push(event);
        },
      },
    },
  });
  const actor = createActor(root, { systemId: 'coordinator' });
  actor.start();
  // By child id, not by systemId: a session that ends during start() is already unregistered.
  const session = actor.getSnapshot().children.session as ActorRefFrom<AgentSessionMachine>;
  return {
    input,
    actor,
    session,
    notices,
    credentialRequests,
    reservationRequests,
    send(event: SessionEvent): void {
      session.send(event);
    },
    snapshot() {
      return session.getSnapshot();
    },
    /** Notices of one type, in order. */
    noticesOf<T extends SessionNotice['type']>(type: T): Extract<SessionNotice, { type: T }>[] {
      return notices.filter((n): n is Extract<SessionNotice, { type: T }> => n.type === type);
    },
    stop(): void {
      actor.stop();
    },
  };
}

export type SessionHarness = ReturnType<typeof createSessionHarness>;

export interface Limits {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
}

/** A server-side 429 with Retry-After 3 s (the throttling that requeues a session before any work). */
const SERVER_THROTTLE = { kind: 'rate-limit', retryAfterMs: 3_000, throttle: 'server' as const };

/** session.failure of a session that was throttled by the server at `now` (no jitter). */
export function serverThrottled(now: number): Extract<SessionEvent, { type: 'session.failure' }> {
  return { type: 'session.failure', reason: 'rate-limit', failure: SERVER_THROTTLE, jitter: 0, now };
}

/** A provider.failed event on claude: a failure of `kind` at `now`, with no throttle and no reset unless told. */
export function providerFailed(
  kind: string,
  now: number,
  more: Partial<Omit<Extract<CoordinatorEvent, { type: 'provider.failed' }>, 'type' | 'kind' | 'now'>> = {},
): Extract<CoordinatorEvent, { type: 'provider.failed' }> {
  return { type: 'provider.failed', provider: 'claude', kind, throttle: null, resetAt: null, now, ...more };
}
export function budgetsOf(limits: Partial<Record<ProviderId, Limits>>): Budgets {
  const entries = PROVIDER_IDS.map((p): [ProviderId, ProviderBudget] => {
    const l = limits[p] ?? { dailyLimit: 0, maxConcurrent: 0 };
    return [
      p,
      {
        dailyLimit: l.dailyLimit,
        maxConcurrent: l.maxConcurrent,
        used: 0,
        reserved: 0,
        active: 0,
        overrun: 0,
        lowAnnounced: false,
      },
    ];
  });
  return Object.fromEntries(entries) as Record<ProviderId, ProviderBudget>;
}

export const DEFAULT_CONFIG: CoordinatorConfig = {
  fallbackChain: ['claude', 'openai'],
  maxFallbacks: 1,
  leaseMs: 2 * HOUR,
  maxQueue: 10,
  lowWatermark: 0.1,
  retryHintMs: 1_000,
  circuit: DEFAULT_CIRCUIT,
  adaptive: null,
  usageLimitPauseMs: 60 * 60 * 1000,
};

/** Implementations for the coordinator's side-effect slots (no-ops in machines/), as `provide` takes them. */
export type CoordinatorActionSlots = NonNullable<Parameters<typeof coordinatorMachine.provide>[0]['actions']>;

export interface CoordinatorHarnessOptions {
  readonly limits: Partial<Record<ProviderId, Limits>>;
  readonly config?: Partial<CoordinatorConfig>;
  readonly credentials?: CredentialsPolicy;
  readonly now?: number;
  /** Side-effect slots to bind (settleStint, recordPause, learnEstimate, ...): the rest stay no-ops. */
  readonly actions?: CoordinatorActionSlots;
  /** The sessions' machine (a `.provide`d one, e.g. with an action that throws); the real one unless told. */
  readonly sessionMachine?: AgentSessionMachine;
}

export interface ProviderCounters {
  readonly used: number;
  readonly reserved: number;
  readonly active: number;
  readonly overrun: number;
}

/**
 * The real coordinator (with its real supervisor and sessions) and a no-op clock: the test moves time by
 * putting `now` on the events it sends (clock.tick, agent.spawn, ...).
 */
export function createCoordinatorHarness(options: CoordinatorHarnessOptions) {
  const emitted: CoordinatorEmitted[] = [];
  const credentialRequests: CredentialsRequest[] = [];
  const machine = coordinatorMachine.provide({
    actions: options.actions ?? {},
    actors: {
      clock: fromCallback<CoordinatorEvent>(() => undefined),
      credentials: createTestCredentialsActor(options.credentials ?? grantAll, credentialRequests),
      ...(options.sessionMachine === undefined
        ? {}
        : { sessionSupervisor: createSessionSupervisor(options.sessionMachine) }),
    },
  });
  const actor = createActor(machine, {
    systemId: 'coordinator',
    input: {
      config: { ...DEFAULT_CONFIG, ...options.config },
      budgets: budgetsOf(options.limits),
      now: options.now ?? T0,
      day: DAY0,
      nextResetAt: NEXT_RESET,
    },
  });
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  let seq = 0;

  const harness = {
    actor,
    emitted,
    credentialRequests,
    /** Sends agent.spawn with ids `r-N`, `s-N`, `a-N`; returns the ids. */
    spawn(request: Partial<SpawnRequest> & { estimatedTokens: number }): {
      requestId: string;
      sessionId: string;
      agentId: string;
    } {
      seq += 1;
      const ids = { requestId: `r-${seq}`, sessionId: `s-${seq}`, agentId: `a-${seq}` };
      actor.send({
        type: 'agent.spawn',
        preferredProvider: null,
        onlyPreferred: false,
        waitMs: 0,
        priority: 0,
        now: T0,
        ...ids,
        ...request,
      });
      return ids;
    },
    /** Sends clock.tick at `now`, in the window `day` (the first window unless told). */
    tick(
      now: number,
      window: { readonly day: string; readonly nextResetAt: number } = { day: DAY0, nextResetAt: NEXT_RESET },
    ): void {
      actor.send({ type: 'clock.tick', now, ...window });
    },
    session(sessionId: string): ActorRefFrom<AgentSessionMachine> | undefined {
      return actor.system.get(sessionId) as ActorRefFrom<AgentSessionMachine> | undefined;
    },
    /** Sends an event to a live session; throws when it is not live. */
    toSession(sessionId: string, event: SessionEvent): void {
      const ref = harness.session(sessionId);
      if (!ref) throw new Error(`session ${sessionId} is not live`);
      ref.send(event);
    },
    counters(provider: ProviderId): ProviderCounters {
      const b = actor.getSnapshot().context.budgets[provider];
      return { used: b.used, reserved: b.reserved, active: b.active, overrun: b.overrun };
    },
    context() {
      return actor.getSnapshot().context;
    },
    emittedOf<T extends CoordinatorEmitted['type']>(type: T): Extract<CoordinatorEmitted, { type: T }>[] {
      return emitted.filter((e): e is Extract<CoordinatorEmitted, { type: T }> => e.type === type);
    },
    /** Session ids the supervisor holds as live. */
    supervisedSessions(): string[] {
      return [...actor.getSnapshot().context.supervisor.getSnapshot().sessions.keys()];
    },
    stop(): void {
      actor.stop();
    },
  };
  return harness;
}

export type CoordinatorHarness = ReturnType<typeof createCoordinatorHarness>;
