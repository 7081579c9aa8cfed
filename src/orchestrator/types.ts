import type { EndReason, FallbackRecord, SessionError } from '../../machines/agentSession.types';
import type { RefusalCode } from '../../machines/budget';
import type { CircuitState } from '../../machines/providerHealth';
import type { ProviderId } from '../../machines/providers';
import type { Activity } from './readModel';
import type { HeadersInput, ProviderFailureKind as FailureKind } from '../providers';
import type { TaskKindStats } from './learnedEstimates';

export interface SpawnOptions {
  /**
   * Tokens the agent expects to use; the allocation is `min(estimate, floor(available / 2))`.
   * May be left out when `taskKind` is given: the estimate is then learned from that kind's
   * settled sessions (`learnedEstimates`).
   */
  readonly estimatedTokens?: number;
  /**
   * The class of work (`lint`, `fix-test`, …): the session's usage is learned for the kind, and a
   * spawn without `estimatedTokens` takes the kind's learned estimate.
   */
  readonly taskKind?: string;
  /** The provider to try first. @default the first in fallbackChain */
  readonly preferredProvider?: ProviderId;
  /** A stable id for the agent; must not belong to a live agent. @default a nanoid */
  readonly agentId?: string;
  /** What the agent works on (kept for events and logs; never interpreted). */
  readonly task?: string;
  /** How long to wait in the queue for a slot and budget; 0 refuses at once. @default 0 */
  readonly waitMs?: number;
  /** Higher waits less; equal priorities keep arrival order. @default 0 */
  readonly priority?: number;
  /**
   * When the provider this session would start on has no slot or budget: `'fallback'` admits it on
   * the next provider of the chain, `'wait'` keeps it for that provider only (refused at once with
   * `waitMs: 0`, else queued). @default the orchestrator's `whenPreferredBusy` ('fallback')
   */
  readonly whenPreferredBusy?: 'fallback' | 'wait';
}

export interface UsageReport {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /**
   * The response's headers (a plain object or a Fetch `Headers`): when the provider's rate-limit
   * headers say 0 tokens or 0 requests remain, with a reset time, nothing new is admitted onto the
   * provider until then (docs/operations.md).
   */
  readonly headers?: HeadersInput;
}

export interface UsageReceipt {
  /** Tokens used by this agent across all providers. */
  readonly usedTokens: number;
  /** Allocation on the current provider (including top-ups). */
  readonly allocatedTokens: number;
  /** What is left of the allocation on the current provider. */
  readonly remainingTokens: number;
}

/**
 * A failed request, as the host saw it. Give what you have: the status with the provider's body and
 * headers classifies best (docs/failures.md); a thrown fetch error as `error`; or a `kind` an
 * adapter already decided.
 */
export interface FailureReport {
  /** The HTTP status the provider answered with; 0 for a network failure. */
  readonly status?: number;
  /** Overrides the Retry-After read from the headers or body. */
  readonly retryAfterMs?: number;
  /** When the limit behind a usage-limit failure resets (epoch ms), when the host already knows it (e.g. from a CLI's message). */
  readonly resetAt?: number;
  /** The provider's message (used when there is no body); never logged unmasked. */
  readonly message?: string;
  /** The response body: the parsed JSON or its text. */
  readonly body?: unknown;
  /** The response headers (a plain object or a Fetch `Headers`). */
  readonly headers?: HeadersInput;
  /** A thrown network error (ECONNRESET, a timeout…), when there was no response. */
  readonly error?: unknown;
  /** Already classified (e.g. by an agent CLI adapter). */
  readonly kind?: FailureKind;
  /**
   * The provider the failed request went to (`agent.provider` when it was made). A failure of a
   * provider the agent has already left (a parallel request that failed too) counts against that
   * provider only and resolves `{ action: 'fallback', from, to, latencyMs: 0 }` at once; the agent
   * stays where it is. Without it, the failure is the current provider's.
   */
  readonly provider?: ProviderId;
}

/** What `reportFailure` decided. */
export type FailureOutcome =
  /** Try the same provider again after `delayMs` (the session keeps its allocation). */
  | {
      readonly action: 'retry';
      readonly kind: FailureKind;
      readonly provider: ProviderId;
      readonly delayMs: number;
      readonly attempt: number;
    }
  /** Throttled before doing any work: the session gave its slot back, waited in the queue and is active again on `provider` (its env is current). */
  | {
      readonly action: 'requeued';
      readonly kind: FailureKind;
      readonly provider: ProviderId;
      readonly waitedMs: number;
    }
  /** The session moved to `to`; its env now holds `to`'s credentials. */
  | {
      readonly action: 'fallback';
      readonly kind: FailureKind;
      readonly from: ProviderId;
      readonly to: ProviderId;
      readonly latencyMs: number;
    };

export interface ReleaseResult {
  readonly usedTokens: number;
  readonly returnedTokens: number;
  readonly provider: ProviderId;
  readonly fallbacks: readonly FallbackRecord[];
  readonly reason: EndReason;
}

export interface ProviderStats {
  readonly dailyLimit: number;
  readonly used: number;
  readonly reserved: number;
  readonly available: number;
  readonly active: number;
  readonly maxConcurrent: number;
  /** Usage beyond the daily limit that had already happened when it was reported. */
  readonly overrun: number;
  /** The concurrency admission allows now: maxConcurrent, or the adaptive limit when adaptive concurrency is on. */
  readonly effectiveLimit: number;
  /** A usage limit (or a provider-reported limit) pauses the provider until then (epoch ms), or null. */
  readonly pausedUntil: number | null;
  /** False when switched off (`providers.<id>.enabled: false` or AGENTVISOR_DISABLE_PROVIDERS): no session is admitted onto it. */
  readonly enabled: boolean;
  /** What switched it off, or null. */
  readonly disabledBy: 'option' | 'env' | null;
  /** The share of new sessions (0–100, by agent id) that may use it. */
  readonly rolloutPercent: number;
  /** The provider's circuit breaker now: `open` admits nothing until `openUntil`; `halfOpen` admits probes. */
  readonly circuit: {
    readonly state: CircuitState;
    readonly openUntil: number | null;
    readonly failures: number;
    readonly requests: number;
    readonly openings: number;
  };
}

export interface OrchestratorStats {
  readonly providers: Readonly<Record<ProviderId, ProviderStats>>;
  /** Spawns waiting for a slot or budget. */
  readonly queued: number;
  /** The current daily window (local date of its start) and when the next one starts. */
  readonly day: string;
  readonly nextResetAt: number;
  /** What happened since start: admissions, refusals by code, fallbacks, requeues, releases by reason, overrun, resets; the metrics' counters read it. */
  readonly activity: Activity;
  /** Per task kind: the learned estimate and how well admission allocations matched use. */
  readonly taskKinds: Readonly<Record<string, TaskKindStats>>;
  /** The budget of record: its backend, whether it is reachable, and settlements waiting for it. */
  readonly ledger: {
    readonly backend: 'memory' | 'file' | 'redis' | 'instance';
    readonly state: 'ok' | 'degraded';
    readonly unsettled: number;
  };
}

/** Events the orchestrator emits (eventemitter3). No payload carries a secret. */
export interface OrchestratorEventMap {
  'agent.queued': [{ agentId: string; position: number; code: RefusalCode }];
  /**
   * `hopeless`: no wait or reset can help (the estimate is above every usable provider's daily limit, or all are
   * disabled); refused at once even with waitMs.
   */
  'agent.refused': [
    {
      agentId: string;
      code: RefusalCode | 'queue-full' | 'stopped' | 'ledger-unavailable';
      retryAfterMs: number | null;
      waited: boolean;
      hopeless?: true;
    },
  ];
  'agent.active': [{ agentId: string; sessionId: string; provider: ProviderId; allocatedTokens: number }];
  'agent.fallback': [
    { agentId: string; sessionId: string; from: ProviderId; to: ProviderId | null; reason: string; latencyMs: number },
  ];
  'agent.released': [
    {
      agentId: string;
      sessionId: string;
      provider: ProviderId;
      usedTokens: number;
      returnedTokens: number;
      reason: EndReason;
      error: SessionError | null;
    },
  ];
  'quota.low': [{ provider: ProviderId; available: number; dailyLimit: number }];
  'quota.overrun': [{ provider: ProviderId; agentId: string | null; sessionId: string; overrunTokens: number }];
  'quota.reset': [{ day: string }];
  /** A session throttled before doing any work gave its slot back and waits to be re-admitted on `provider`, not before `notBefore`. */
  'agent.requeued': [{ agentId: string; sessionId: string; provider: ProviderId; reason: string; notBefore: number }];
  /** Adaptive concurrency moved a provider's effective limit: up after a run of successes, halved on throttling. */
  'provider.limit': [{ provider: ProviderId; limit: number; previous: number; reason: 'grow' | 'throttle' }];
  /** A usage limit was hit: nothing goes to the provider until `until`. */
  'provider.paused': [{ provider: ProviderId; until: number; reason: string }];
  /** A paused provider's usage limit reset: it takes sessions again. */
  'provider.resumed': [{ provider: ProviderId }];
  /** The shared ledger could not be reached (admission follows `ledger.whenUnavailable`) / is reachable again. */
  'ledger.degraded': [{ backend: string; reason: string | null }];
  'ledger.recovered': [{ backend: string; reason: string | null }];
  /** A provider's circuit opened (admissions skip it until `openUntil`) or closed again. */
  'provider.circuit': [{ provider: ProviderId; state: 'open' | 'closed'; openUntil: number | null; failures: number }];
}

export type OrchestratorEventName = keyof OrchestratorEventMap;
