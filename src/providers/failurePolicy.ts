import { policyStep } from '../../machines/failureDecision';
import { AgentvisorError } from '../errors';
import { PROVIDER_FAILURE_KINDS } from './failureClassifier';
import type { ProviderFailure, ProviderFailureKind } from './failureClassifier';

/** `retry`: the same provider again (bounded, then `fallback`); `fallback`: the next provider in the chain; `fail`: give up. */
export const FAILURE_ACTIONS = ['retry', 'fallback', 'fail'] as const;
export type FailureAction = (typeof FAILURE_ACTIONS)[number];

/** Why a failure was not retried: the kind's action, retries used up, or a Retry-After beyond `maxRetryAfterMs`. */
export const FALLBACK_REASONS = ['policy', 'retries-exhausted', 'retry-after-over-cap'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export type NextStep =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'fallback'; readonly reason: FallbackReason }
  | { readonly action: 'fail'; readonly reason: 'policy' };

/** The retry settings of one kind, every field filled in. */
export interface KindPolicy {
  readonly action: FailureAction;
  /** Retries on the same provider after the first attempt; then `fallback`. Only for `retry`. */
  readonly maxRetries: number;
  /** Backoff ceiling of the first retry; it doubles per retry up to `maxDelayMs` (full jitter below it). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** The longest Retry-After worth sleeping for; a longer one falls back at once. */
  readonly maxRetryAfterMs: number;
}

export type FailurePolicy = Readonly<Record<ProviderFailureKind, KindPolicy>>;

/** Settings for every kind, each overridable per kind. */
export interface FailurePolicyOptions {
  /** @default 2 */
  readonly maxRetries?: number;
  /** @default 250 */
  readonly baseDelayMs?: number;
  /** @default 10000 */
  readonly maxDelayMs?: number;
  /** @default 30000 */
  readonly maxRetryAfterMs?: number;
  /** Per kind: `action` and any of the settings above. `invalid-request` is always `fail`. */
  readonly kinds?: Partial<Record<ProviderFailureKind, Partial<KindPolicy>>>;
}

/**
 * The default action of each kind. auth and quota fall back at once (waiting does not cure a bad
 * key or a spent quota soon enough); throttling, server faults and cut-off runs are retried, then
 * fall back; a request at fault fails, since every provider would refuse it the same way.
 */
export const DEFAULT_FAILURE_ACTIONS: Readonly<Record<ProviderFailureKind, FailureAction>> = {
  auth: 'fallback',
  'rate-limit': 'retry',
  quota: 'fallback',
  overloaded: 'retry',
  server: 'retry',
  network: 'retry',
  timeout: 'retry',
  truncated: 'retry',
  'invalid-request': 'fail',
};

/** The retry settings every kind takes unless the options say otherwise. */
export const DEFAULT_RETRY_SETTINGS = {
  maxRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
} as const;

function optionError(message: string, option: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { option } });
}

function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    : typeof value === 'object' && value !== null
      ? 'an object'
      : String(value);
}

/**
 * Fills in the defaults of policy options that were already checked (by `resolveFailurePolicy` in src/options, or
 * with the rest of the orchestrator's options): no check, so zod is not loaded.
 *
 * @example fillFailurePolicy({ maxRetries: 3 }).server.maxRetries // 3
 */
export function fillFailurePolicy(options: FailurePolicyOptions): FailurePolicy {
  const base = { ...DEFAULT_RETRY_SETTINGS, ...withoutUndefined(options) };
  const settings = {
    maxRetries: base.maxRetries,
    baseDelayMs: base.baseDelayMs,
    maxDelayMs: base.maxDelayMs,
    maxRetryAfterMs: base.maxRetryAfterMs,
  };
  const entries = PROVIDER_FAILURE_KINDS.map((kind) => {
    const given = withoutUndefined(options.kinds?.[kind] ?? {});
    return [kind, Object.freeze({ action: DEFAULT_FAILURE_ACTIONS[kind], ...settings, ...given })] as const;
  });
  return Object.freeze(Object.fromEntries(entries) as Record<ProviderFailureKind, KindPolicy>);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The policy with every default (docs/failures.md has the table). */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = fillFailurePolicy({});

export interface NextStepContext {
  /** Which attempt on this provider just failed, counting from 1. */
  readonly attempt: number;
  /** @default DEFAULT_FAILURE_POLICY */
  readonly policy?: FailurePolicy;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * What to do after a classified failure. `retry` waits a full-jitter exponential backoff
 * (`random() × min(maxDelayMs, baseDelayMs × 2^(attempt-1))`); with a Retry-After it waits that long
 * plus the same jitter, never sooner and never past `maxRetryAfterMs`. A Retry-After beyond
 * `maxRetryAfterMs` falls back at once instead of sleeping, as does a kind whose retries are used up.
 * The rule itself is `policyStep` of machines/failureDecision.ts; this checks the input and draws the jitter.
 *
 * @example
 * decideNextStep(failure, { attempt: 1 }) // { action: 'retry', delayMs: 183 } for an overloaded failure
 * decideNextStep(failure, { attempt: 3 }) // { action: 'fallback', reason: 'retries-exhausted' }
 */
export function decideNextStep(
  failure: Pick<ProviderFailure, 'kind' | 'retryAfterMs'>,
  context: NextStepContext,
): NextStep {
  const { attempt } = context;
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) {
    throw optionError(`attempt must be a whole number from 1 (the first try), got ${describe(attempt)}`, 'attempt');
  }
  const policy = (context.policy ?? DEFAULT_FAILURE_POLICY)[failure.kind];
  if (policy === undefined)
    throw new AgentvisorError(
      'invalid-failure',
      `unknown failure kind ${describe(failure.kind)} (known: ${PROVIDER_FAILURE_KINDS.join(', ')})`,
    );
  return policyStep(policy, failure.retryAfterMs, attempt, (context.random ?? Math.random)());
}
