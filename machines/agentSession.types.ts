import type { FailureDecision, FailureFacts, FailurePolicies } from './failureDecision';
import type { ProviderId } from './providers';
import type { Secret } from './secret';

/** Why a session ended. */
export const END_REASONS = [
  'released',
  'expired',
  'quota-exhausted',
  'auth-failed',
  'no-provider',
  'failed',
  'stopped',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** What the authenticate actor learned, with no secret outside `secretEnv`. */
export interface AuthResult {
  /** Where the credential came from, e.g. `env:ANTHROPIC_API_KEY` or `options.apiKeys.claude`. */
  readonly source: string;
  /** A non-secret hint such as `sk-ant-…abcd`. */
  readonly hint: string;
  /** The provider's secret variables for the agent's env, e.g. ANTHROPIC_API_KEY and CLAUDE_API_KEY. */
  readonly secretEnv: Readonly<Record<string, Secret>>;
  /** Non-secret variables for the agent's env, e.g. ANTHROPIC_BASE_URL. */
  readonly env: Readonly<Record<string, string>>;
}

export interface AuthInput {
  readonly provider: ProviderId;
  readonly sessionId: string;
  readonly agentId: string;
  /** The allocation admitted on `provider` (a shared ledger reserves it before the agent gets its env). */
  readonly allocatedTokens?: number;
  /** Which provider stint of the session this is: 0 at spawn, +1 per fallback or requeue. */
  readonly stint?: number;
}

/** A session asks the credentials actor (systemId `credentials`) for its provider's credentials. */
export interface CredentialsRequest extends AuthInput {
  readonly type: 'credentials.request';
}

/**
 * On a shared ledger, a session asks the ledger actor (systemId `ledger`) to reserve a later stint
 * (after a fallback or a requeue; the first stint was reserved at admission) once it has credentials.
 */
export interface ReservationRequest {
  readonly type: 'reservation.request';
  readonly sessionId: string;
  readonly agentId: string;
  readonly provider: ProviderId;
  readonly stint: number;
  readonly allocatedTokens: number;
}

export interface FallbackRecord {
  readonly from: ProviderId;
  readonly to: ProviderId;
  readonly reason: string;
}

export interface SessionError {
  readonly code: string;
  readonly message: string;
}

export interface SessionInput {
  readonly sessionId: string;
  readonly agentId: string;
  readonly provider: ProviderId;
  /** Providers still to try after `provider`, in order. */
  readonly fallbackProviders: readonly ProviderId[];
  readonly maxFallbacks: number;
  readonly estimatedTokens: number;
  readonly allocatedTokens: number;
  readonly leaseMs: number;
  readonly now: number;
  /** The policies `session.failure` is decided by (machines/failureDecision.ts); absent: fall back while the chain allows. */
  readonly failurePolicies?: FailurePolicies;
  /** How often a session throttled before any work may wait for its provider again. @default 0 */
  readonly maxRequeues?: number;
  /** A shared ledger reserves every later stint: the session passes through `reserving`. @default false */
  readonly sharedLedger?: boolean;
}

/** Fixed for the session's life. */
export interface SessionTerms {
  readonly estimatedTokens: number;
  readonly leaseMs: number;
  readonly maxFallbacks: number;
  readonly maxRequeues: number;
  readonly failurePolicies: FailurePolicies | null;
  readonly sharedLedger: boolean;
}

/**
 * The failure being handled (or last handled): its kind, `requeueAt` while the session waits to be
 * re-admitted on the same provider (not before this time, epoch ms; null for a fallback to the next
 * provider), the failed attempts on the current provider since its last success or fallback, the
 * requeues so far, and the step the last `session.failure` was given (the host reads it).
 */
export interface PendingFailure {
  readonly reason: string;
  readonly requeueAt: number | null;
  readonly attempts: number;
  readonly requeues: number;
  readonly step: FailureDecision | null;
}

export interface SessionTokens {
  /** Allocation on the current provider (grows with top-ups). */
  readonly allocated: number;
  /** Usage counted on the current provider. */
  readonly usedOnProvider: number;
  /** Usage across all providers of this session. */
  readonly used: number;
  /** Unused allocation given back on earlier providers (fallbacks). */
  readonly returned: number;
}

export interface SessionOutcome {
  readonly reason: EndReason;
  readonly error: SessionError | null;
  /** Tokens of the last usage report that the daily budget could not cover. */
  readonly overrunTokens: number;
}

/**
 * The session's context. Kept to at most 16 top-level keys on purpose: XState copies context with
 * Object.assign on every assign, and V8 makes that about 30 times slower past 16 properties
 * (dictionary mode); rarely-changing fields are grouped (terms, credential, outcome).
 */
export interface SessionContext {
  readonly sessionId: string;
  readonly agentId: string;
  readonly terms: SessionTerms;
  readonly provider: ProviderId;
  /** Providers still to try after `provider`, in order. */
  readonly fallbackProviders: readonly ProviderId[];
  readonly tokens: SessionTokens;
  /** The allocation lease ends here (epoch ms) unless activity renews it. */
  readonly expiresAt: number;
  /** The latest time (epoch ms) carried by an event this session received. */
  readonly lastEventAt: number;
  /** Whether the coordinator still counts this session's slot and unused allocation on `provider`. */
  readonly holdsSlot: boolean;
  readonly fallbacks: readonly FallbackRecord[];
  /** The failure being handled, and the step it was given. One key for all of it: the 16-key limit above. */
  readonly pending: PendingFailure;
  /** Provider stints so far after the first: fallbacks and requeues (names the stint's ledger reservation). */
  readonly stint: number;
  /** Where the current credential came from and a non-secret hint of it. */
  readonly credential: { readonly source: string; readonly hint: string } | null;
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: Readonly<Record<string, Secret>>;
  readonly outcome: SessionOutcome | null;
}

export interface SessionOutput {
  readonly sessionId: string;
  readonly agentId: string;
  readonly provider: ProviderId;
  readonly usedTokens: number;
  readonly returnedTokens: number;
  /** Unused allocation returned on the final provider (the coordinator settles this). */
  readonly returnedOnProvider: number;
  /** Usage counted on the final provider (the ledger settles the last stint with it). */
  readonly usedOnProvider: number;
  /** The final provider stint (0 at spawn, +1 per fallback or requeue). */
  readonly stint: number;
  /** Whether the session still held a slot on `provider` when it ended (false after a refused fallback). */
  readonly heldSlot: boolean;
  readonly fallbacks: readonly FallbackRecord[];
  readonly reason: EndReason;
  readonly error: SessionError | null;
  readonly endedAt: number;
}

/** Commands from the host (through the orchestrator) and answers from the coordinator and the credentials actor. */
export type SessionEvent =
  | { readonly type: 'session.usage'; readonly tokens: number; readonly now: number }
  /** The agent is still at work (its process is alive): renews the lease without usage. */
  | { readonly type: 'session.heartbeat'; readonly now: number }
  /**
   * A request to the provider failed: the session decides the step (machines/failureDecision.ts) from
   * `failure` (absent: a failure of kind `reason` with no Retry-After) and `jitter` (the host's draw in [0, 1)).
   */
  | {
      readonly type: 'session.failure';
      readonly reason: string;
      readonly now: number;
      readonly failure?: FailureFacts;
      readonly jitter?: number;
    }
  | { readonly type: 'session.release'; readonly now: number; readonly reason?: 'released' | 'stopped' }
  | { readonly type: 'session.sweep'; readonly now: number }
  | { readonly type: 'session.toppedUp'; readonly tokens: number }
  | { readonly type: 'session.topUpRefused'; readonly overrunTokens: number }
  | { readonly type: 'session.fallbackAdmitted'; readonly provider: ProviderId; readonly allocatedTokens: number }
  | { readonly type: 'session.fallbackRefused'; readonly code: string; readonly message: string }
  | { readonly type: 'credentials.granted'; readonly provider: ProviderId; readonly result: AuthResult }
  /** The credentials failed (a shared ledger's refusals come as `reservation.refused`). */
  | {
      readonly type: 'credentials.denied';
      readonly provider: ProviderId;
      readonly code: string;
      readonly message: string;
    }
  | { readonly type: 'reservation.granted'; readonly stint: number }
  | { readonly type: 'reservation.refused'; readonly stint: number; readonly code: string; readonly message: string };

/** What a session tells the coordinator. */
export type SessionNotice =
  | {
      readonly type: 'session.activated';
      readonly sessionId: string;
      readonly agentId: string;
      readonly provider: ProviderId;
    }
  | {
      readonly type: 'session.usageReported';
      readonly sessionId: string;
      readonly provider: ProviderId;
      readonly tokens: number;
      readonly withinTokens: number;
      readonly estimatedTokens: number;
      /** The provider stint the usage belongs to (names its ledger reservation), and its usage so far including `tokens`. */
      readonly stint?: number;
      readonly usedOnProvider?: number;
      readonly now: number;
    }
  | {
      readonly type: 'session.fallbackRequested';
      readonly sessionId: string;
      readonly agentId: string;
      readonly from: ProviderId;
      readonly returnedTokens: number;
      /** Usage counted on `from` during this stint. */
      readonly usedOnProvider: number;
      /** The stint that ends on `from`. */
      readonly stint: number;
      readonly candidates: readonly ProviderId[];
      readonly estimatedTokens: number;
      readonly reason: string;
      /** A requeue (re-admission on `from` only, not before this time), or null for a fallback down `candidates`. */
      readonly notBefore: number | null;
      /** The failure's time (the latest this session saw). */
      readonly now: number;
    }
  | { readonly type: 'session.ended'; readonly output: SessionOutput };
