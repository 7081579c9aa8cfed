import type { SessionNotice, SessionOutput } from './agentSession.types';
import type { Budgets, RefusalCode } from './budget';
import type { FailurePolicies } from './failureDecision';
import type { AdaptiveConfig, CircuitConfig, CircuitState } from './providerHealth';
import type { ProviderId } from './providers';

export interface SpawnRequest {
  readonly requestId: string;
  readonly sessionId: string;
  readonly agentId: string;
  readonly estimatedTokens: number;
  readonly preferredProvider: ProviderId | null;
  /** Admit on `preferredProvider` only (never further down the chain at admission). */
  readonly onlyPreferred: boolean;
  /**
   * The providers this session may use at all, at admission and on fallback (provider switches and
   * canary shares, decided by the host per agent). Absent: every provider.
   */
  readonly allowedProviders?: readonly ProviderId[];
  /** 0 refuses at once when nothing fits; > 0 waits in the queue until `deadline`. */
  readonly waitMs: number;
  /** Higher runs first; equal priorities keep arrival order. */
  readonly priority: number;
  readonly now: number;
}

export interface QueuedRequest extends SpawnRequest {
  readonly deadline: number;
  readonly seq: number;
  /** A live session waiting to be re-admitted (requeued after throttling), not a new spawn. */
  readonly readmit?: boolean;
  /** Not admitted before this time (epoch ms): the provider's Retry-After. */
  readonly notBefore?: number;
}

/** Settings fixed for the coordinator's life. */
export interface CoordinatorConfig {
  /** The fallback order; a session that starts on P tries P, then the others in this order. */
  readonly fallbackChain: readonly ProviderId[];
  readonly maxFallbacks: number;
  readonly leaseMs: number;
  readonly maxQueue: number;
  /** `quota.low` fires once per window when available falls below this share of the daily limit. */
  readonly lowWatermark: number;
  /** The retry hint given with concurrency refusals (a slot has no known release time). */
  readonly retryHintMs: number;
  /** The circuit breaker every provider gets. */
  readonly circuit: CircuitConfig;
  /** Adaptive concurrency (AIMD); null: off, every provider runs up to its maxConcurrent. */
  readonly adaptive: AdaptiveConfig | null;
  /** How long a usage limit pauses a provider when the provider did not say when it resets. */
  readonly usageLimitPauseMs: number;
  /**
   * How often the sessions' leases are swept (`clock.tick` sends `supervisor.sweep` once this long
   * after the last sweep). Absent: never swept.
   */
  readonly sweepIntervalMs?: number;
  /**
   * A shared ledger (file, Redis) must confirm every token that leaves the budget: top-ups are
   * asked of it (`quota.topUpAsked`) and granted on its answer (`ledger.topUpAnswered`), and
   * admissions are confirmed by it (`ledger.reserveAsked` / `ledger.reserveAnswered`) before the
   * session starts. false: this coordinator's budget is the ledger. @default false
   */
  readonly sharedLedger?: boolean;
  /**
   * The configured limits: on a shared ledger `budgets` hold only this host's view (the global
   * limits minus what others hold), so a request above every candidate's configured daily limit
   * (or on providers with limit 0) is known hopeless from these. Absent: the budgets' own limits.
   */
  readonly globalLimits?: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>;
  /** The policies every session decides its failures by (machines/failureDecision.ts); absent: sessions fall back while the chain allows. */
  readonly failurePolicies?: FailurePolicies;
  /** How often a session throttled before any work may wait for its provider again. @default 0 */
  readonly maxRequeues?: number;
}

export interface CoordinatorInput {
  readonly config: CoordinatorConfig;
  readonly budgets: Budgets;
  /** The time (epoch ms) at start; afterwards the latest time carried by any event. */
  readonly now: number;
  /** The current window's key and when the next window starts (epoch ms). */
  readonly day: string;
  readonly nextResetAt: number;
}

/** Events the coordinator accepts. */
export type CoordinatorEvent =
  | ({ readonly type: 'agent.spawn' } & SpawnRequest)
  /**
   * Time passed (the clock actor's one timer, armed on `nextDueAt`): `day` and `nextResetAt` are the
   * daily window at `now`. Expires waits, resumes providers, sweeps leases, starts a new window and
   * drains the queue, whichever of these is due.
   */
  | { readonly type: 'clock.tick'; readonly now: number; readonly day: string; readonly nextResetAt: number }
  /** What sessions tell the coordinator: session.activated, session.usageReported, session.fallbackRequested, session.ended. */
  | SessionNotice
  /**
   * A request to the provider failed. Whether it counts against the provider's circuit is decided
   * here (`countsForHealth` of machines/failureDecision.ts: transient kinds, not adaptive throttling);
   * `countsForHealth`, when given, overrides that.
   */
  | {
      readonly type: 'provider.failed';
      readonly provider: ProviderId;
      readonly kind: string;
      readonly countsForHealth?: boolean;
      /** `server`: server-side throttling (adaptive concurrency halves); `usage-limit`: pause the provider until `resetAt`. */
      readonly throttle: 'server' | 'usage-limit' | null;
      readonly resetAt: number | null;
      /** When the failed session started on the provider (null: unknown); throttling of sessions admitted after the last halving halves again at once. */
      readonly since?: number | null;
      readonly now: number;
    }
  /** A shared ledger's view: what this coordinator may admit locally (the global limits minus what other hosts hold). */
  | {
      readonly type: 'ledger.limits';
      readonly limits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>;
      readonly now: number;
    }
  /**
   * A provider said, in the rate-limit headers of an answer, that nothing is left (0 tokens or 0
   * requests) until `until`: nothing new is admitted onto it until then.
   */
  | {
      readonly type: 'provider.exhausted';
      readonly provider: ProviderId;
      readonly until: number;
      readonly reason: string;
      readonly now: number;
    }
  /** The shared ledger's answer to an admission asked with `ledger.reserveAsked`. */
  | {
      readonly type: 'ledger.reserveAnswered';
      readonly requestId: string;
      readonly granted: true;
      readonly now: number;
    }
  | {
      readonly type: 'ledger.reserveAnswered';
      readonly requestId: string;
      readonly granted: false;
      readonly code: RefusalCode | 'ledger-unavailable';
      readonly retryAfterMs: number | null;
      readonly now: number;
    }
  /** The shared ledger's answer to a top-up asked for a session's stint. */
  | {
      readonly type: 'ledger.topUpAnswered';
      readonly sessionId: string;
      readonly stint: number;
      readonly granted: boolean;
      readonly now: number;
    }
  | { readonly type: 'coordinator.stop' };

/** Events the coordinator emits for the host (the orchestrator re-emits them). */
export type CoordinatorEmitted =
  | {
      readonly type: 'agent.admitted';
      readonly requestId: string;
      readonly sessionId: string;
      readonly agentId: string;
      readonly provider: ProviderId;
      readonly allocatedTokens: number;
      readonly waitedMs: number;
    }
  | {
      readonly type: 'agent.queued';
      readonly requestId: string;
      readonly agentId: string;
      readonly position: number;
      readonly code: RefusalCode;
    }
  | {
      readonly type: 'agent.refused';
      readonly requestId: string;
      readonly agentId: string;
      readonly code: RefusalCode | 'queue-full' | 'stopped' | 'ledger-unavailable';
      readonly retryAfterMs: number | null;
      readonly waited: boolean;
      /** No wait or reset can help (estimate above every candidate's daily limit, or all disabled): refused at once, even with waitMs. */
      readonly hopeless?: boolean;
    }
  | {
      readonly type: 'agent.active';
      readonly sessionId: string;
      readonly agentId: string;
      readonly provider: ProviderId;
    }
  | {
      readonly type: 'agent.requeued';
      readonly requestId: string;
      readonly sessionId: string;
      readonly agentId: string;
      readonly provider: ProviderId;
      readonly reason: string;
      readonly notBefore: number;
      readonly deadline: number;
      readonly stint: number;
      readonly usedOnProvider: number;
    }
  | {
      readonly type: 'agent.fallback';
      readonly sessionId: string;
      readonly agentId: string;
      readonly from: ProviderId;
      readonly to: ProviderId | null;
      readonly reason: string;
      readonly allocatedTokens: number;
      /** The stint that ended on `from` and the usage counted in it (the ledger settles it). */
      readonly stint: number;
      readonly usedOnProvider: number;
    }
  | { readonly type: 'agent.released'; readonly output: SessionOutput }
  | {
      readonly type: 'quota.low';
      readonly provider: ProviderId;
      readonly available: number;
      readonly dailyLimit: number;
    }
  /** Shared ledger: reserve `tokens` for the session's first stint, then answer with `ledger.reserveAnswered`. */
  | {
      readonly type: 'ledger.reserveAsked';
      readonly requestId: string;
      readonly sessionId: string;
      readonly provider: ProviderId;
      readonly tokens: number;
    }
  /** Shared ledger: reserve `tokens` more for the session's stint (usage so far `usedOnProvider`), then answer with `ledger.topUpAnswered`. */
  | {
      readonly type: 'quota.topUpAsked';
      readonly sessionId: string;
      readonly provider: ProviderId;
      readonly stint: number;
      readonly tokens: number;
      readonly usedOnProvider: number;
    }
  | {
      readonly type: 'quota.overrun';
      readonly provider: ProviderId;
      readonly sessionId: string;
      readonly overrunTokens: number;
    }
  | { readonly type: 'quota.reset'; readonly day: string }
  | {
      readonly type: 'provider.circuit';
      readonly provider: ProviderId;
      readonly state: Exclude<CircuitState, 'halfOpen'>;
      readonly openUntil: number | null;
      readonly failures: number;
      readonly now: number;
    }
  | {
      readonly type: 'provider.limit';
      readonly provider: ProviderId;
      readonly limit: number;
      readonly previous: number;
      readonly reason: 'grow' | 'throttle';
    }
  | { readonly type: 'provider.paused'; readonly provider: ProviderId; readonly until: number; readonly reason: string }
  | { readonly type: 'provider.resumed'; readonly provider: ProviderId };

/**
 * Parameters of the coordinator's side-effect slots (no-op actions in the machine, bound in
 * src/orchestrator/bindMachines.ts): plain data, so the machine stays pure.
 */
export interface SideEffectParams {
  /** A session's stint on a provider ended (fallback, requeue, release): the ledger settles its reservation. */
  readonly settleStint: {
    readonly sessionId: string;
    readonly stint: number;
    readonly provider: ProviderId;
    readonly usedOnProvider: number;
  };
  /** A provider was paused until `pause.until`, or resumed (`pause` null): the pause is recorded beside a file ledger. */
  readonly recordPause: {
    readonly provider: ProviderId;
    readonly pause: { readonly until: number; readonly reason: string } | null;
  };
  /** A session ended: one released by its host teaches its task kind's estimate. */
  readonly learnEstimate: Pick<SessionOutput, 'sessionId' | 'reason' | 'usedTokens'>;
}
