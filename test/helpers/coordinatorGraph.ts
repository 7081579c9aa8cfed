/**
 * The two sides of the coordinator's graph model tests (test/machines/coordinator.graph.model.test.ts,
 * coordinator.ledger.model.test.ts): the real coordinator machine (with its real supervisor and
 * sessions, a credentials actor that grants at once and no clock: time is the `now` on the events)
 * and the real orchestrator (manual clock, keys in its env), each driven by the same abstract steps
 * and each read back as the same abstract state, so a path can be compared step by step. Both sides
 * run with the same failure policy (the machine gets it resolved as the orchestrator resolves it).
 * With `shared`, the orchestrator runs on a real file ledger in a temp folder that a second writer
 * (another FileLedger on the same file) takes slots of, and the machine side is answered by
 * test/helpers/sharedLedgerModel.ts as the orchestrator's ledger actor and link answer it.
 * This file: the steps, the views and the settings both sides share; the sides are
 * test/helpers/graphMachineSide.ts and graphOrchestratorSide.ts.
 */
import type { FailureFacts } from '../../machines/failureDecision';
import type { CircuitConfig } from '../../machines/providerHealth';
import type { FailureReport, ProviderId } from '../../src';
import type { FailurePolicyOptions } from '../../src/providers';
import { DAY, SECOND } from './timeOrigin';

export const ESTIMATE = 100;
export const WAIT_MS = 45_000;
export const TICK_MS = 30_000;
export const PAUSE_MS = 60_000;
export const USAGE = 10;
export const OVERUSE = 150;
/** The orchestrator's default `requeueThrottled.maxRequeues`. */
export const MAX_REQUEUES = 10;
export const LIMITS = {
  claude: { dailyLimit: 1_000, maxConcurrent: 1 },
  openai: { dailyLimit: 1_000, maxConcurrent: 1 },
} as const;
/** One failure in the window opens the circuit; a half-open circuit lets one probe through. */
export const CIRCUIT: CircuitConfig = {
  windowMs: 60_000,
  allowedFailures: 0,
  minRequests: 1,
  cooldownMs: TICK_MS,
  halfOpenProbes: 1,
};
/** Leases (the coordinator's and the shared ledger's) outlast every path. */
export const LEASE_MS = 10 * DAY;
/** The Retry-After of a throttle (seconds): shorter than a tick, so the requeued session comes back within one. */
const RETRY_AFTER_S = 10;

/**
 * The failures a host reports on its oldest active agent, and what the orchestrator classifies them
 * as (src/providers/failureClassifier.ts): a 529 and a 429 are server throttling, a 429 with
 * `insufficient_quota` is the plan's usage limit.
 */
export const FAILURES = {
  overloaded: { report: { status: 529 }, facts: { kind: 'overloaded', retryAfterMs: null, throttle: 'server' } },
  auth: { report: { status: 401 }, facts: { kind: 'auth', retryAfterMs: null, throttle: null } },
  throttle: {
    report: { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } },
    facts: { kind: 'rate-limit', retryAfterMs: RETRY_AFTER_S * SECOND, throttle: 'server' },
  },
  usageLimit: {
    report: {
      status: 429,
      body: { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'quota' } },
    },
    facts: { kind: 'quota', retryAfterMs: null, throttle: 'usage-limit' },
  },
} as const satisfies Record<string, { readonly report: FailureReport; readonly facts: FailureFacts }>;
export type FailureKind = keyof typeof FAILURES;

/** What both sides run with. */
export interface GraphSetup {
  /** On a shared file ledger (orchestrator) and its model (machine), with a second writer. */
  readonly shared: boolean;
  /** The orchestrator's `failurePolicy` option. Backoffs of 0–1 ms leave nothing to the jitter. */
  readonly failurePolicy?: FailurePolicyOptions;
}
export const PLAIN: GraphSetup = { shared: false };

/**
 * The circuit and the usage-limit pause of a setup. On a shared ledger nothing the coordinator times
 * falls due on a tick's last instant (a multiple of 30 s from a step), when the link syncs: a
 * cooldown of 20 s and a pause of 50 s, so the sync reads the ledger after every answer of the tick.
 */
export function timingOf(setup: GraphSetup): { readonly circuit: CircuitConfig; readonly usageLimitPauseMs: number } {
  if (!setup.shared) return { circuit: CIRCUIT, usageLimitPauseMs: PAUSE_MS };
  return { circuit: { ...CIRCUIT, cooldownMs: 20 * SECOND }, usageLimitPauseMs: 50 * SECOND };
}

/** One abstract step of a path. */
export type GraphStep =
  | { readonly type: 'spawn'; readonly waitMs: number; readonly estimatedTokens: number }
  | { readonly type: 'fail'; readonly kind: FailureKind }
  | { readonly type: 'pause' }
  /** Usage beyond the allocation (OVERUSE tokens): on a shared ledger the coordinator asks it for a top-up. */
  | { readonly type: 'overuse' }
  | { readonly type: 'release' }
  | { readonly type: 'tick' }
  | { readonly type: 'stop' }
  /** The second writer takes one slot of `provider` in the shared ledger, or gives its oldest back. */
  | { readonly type: 'grab' | 'letGo'; readonly provider: ProviderId };

export interface ProviderView {
  readonly active: number;
  readonly used: number;
  readonly reserved: number;
  readonly circuit: string;
  readonly paused: boolean;
}

export const WAITING = ' (waiting)';

/** What both sides are compared on: the state the model-based test dedupes by. */
export interface GraphView {
  readonly stopped: boolean;
  readonly queued: number;
  readonly providers: Readonly<Record<ProviderId, ProviderView>>;
  /** Live agents in spawn order: provider and fallbacks taken, and WAITING unless active (requeued, falling back). */
  readonly agents: readonly string[];
  /** On a shared ledger: its live reservations per provider (ours and the second writer's). */
  readonly ledger?: Readonly<Record<ProviderId, number>>;
}
