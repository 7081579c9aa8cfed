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

const DEFAULT_SETTINGS = { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 } as const;
const SETTING_NAMES = ['maxRetries', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const;
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_RETRIES = 10;

function optionError(message: string, option: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { option } });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : typeof value === 'object' && value !== null ? 'an object' : String(value);
}

function wholeNumber(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw optionError(`${name} must be a whole number from 0 to ${max}, got ${describe(value)}`, name);
  }
  return value;
}

function checkKeys(name: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw optionError(`${name}.${key} is not an option (known: ${known.join(', ')})`, `${name}.${key}`);
  }
}

function settings(name: string, given: Partial<KindPolicy>, base: Omit<KindPolicy, 'action'>): Omit<KindPolicy, 'action'> {
  const maxRetries = wholeNumber(`${name}.maxRetries`, given.maxRetries ?? base.maxRetries, MAX_RETRIES);
  const baseDelayMs = wholeNumber(`${name}.baseDelayMs`, given.baseDelayMs ?? base.baseDelayMs, MAX_TIMER_MS);
  const maxDelayMs = wholeNumber(`${name}.maxDelayMs`, given.maxDelayMs ?? base.maxDelayMs, MAX_TIMER_MS);
  const maxRetryAfterMs = wholeNumber(`${name}.maxRetryAfterMs`, given.maxRetryAfterMs ?? base.maxRetryAfterMs, MAX_TIMER_MS);
  if (baseDelayMs > maxDelayMs) throw optionError(`${name}.baseDelayMs (${baseDelayMs}) must not exceed maxDelayMs (${maxDelayMs})`, `${name}.baseDelayMs`);
  return { maxRetries, baseDelayMs, maxDelayMs, maxRetryAfterMs };
}

function kindPolicy(kind: ProviderFailureKind, given: unknown, base: Omit<KindPolicy, 'action'>): KindPolicy {
  const name = `failurePolicy.kinds.${kind}`;
  if (given === undefined) return { action: DEFAULT_FAILURE_ACTIONS[kind], ...base };
  if (typeof given !== 'object' || given === null) throw optionError(`${name} must be an object such as { action: 'retry', maxRetries: 3 }`, name);
  checkKeys(name, given, ['action', ...SETTING_NAMES]);
  const entry = given as Partial<KindPolicy>;
  const action = entry.action ?? DEFAULT_FAILURE_ACTIONS[kind];
  if (!(FAILURE_ACTIONS as readonly unknown[]).includes(action)) throw optionError(`${name}.action must be one of ${FAILURE_ACTIONS.join(', ')}, got ${describe(action)}`, `${name}.action`);
  if (kind === 'invalid-request' && action !== 'fail') {
    throw optionError(`${name}.action must be 'fail': the request itself is at fault, so retrying it or sending it to another provider only repeats the failure`, `${name}.action`);
  }
  return { action, ...settings(name, entry, base) };
}

/**
 * Checks policy options and fills in defaults; throws `invalid-option` naming the option and the fix.
 *
 * @example resolveFailurePolicy({ maxRetries: 3, kinds: { auth: { action: 'fail' } } })['rate-limit'].maxRetries // 3
 */
export function resolveFailurePolicy(options: FailurePolicyOptions = {}): FailurePolicy {
  if (typeof options !== 'object' || options === null) throw optionError('failurePolicy must be an object such as { maxRetries: 2 }', 'failurePolicy');
  checkKeys('failurePolicy', options, [...SETTING_NAMES, 'kinds']);
  const base = settings('failurePolicy', options, DEFAULT_SETTINGS);
  const kinds: unknown = options.kinds ?? {};
  if (typeof kinds !== 'object' || kinds === null) throw optionError("failurePolicy.kinds must be an object such as { overloaded: { maxRetries: 4 } }", 'failurePolicy.kinds');
  checkKeys('failurePolicy.kinds', kinds, PROVIDER_FAILURE_KINDS);
  const given = kinds as Partial<Record<ProviderFailureKind, unknown>>;
  const entries = PROVIDER_FAILURE_KINDS.map((kind) => [kind, Object.freeze(kindPolicy(kind, given[kind], base))] as const);
  return Object.freeze(Object.fromEntries(entries) as Record<ProviderFailureKind, KindPolicy>);
}

/** The policy with every default (docs/failures.md has the table). */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = resolveFailurePolicy();

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
export function decideNextStep(failure: Pick<ProviderFailure, 'kind' | 'retryAfterMs'>, context: NextStepContext): NextStep {
  const { attempt } = context;
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) {
    throw optionError(`attempt must be a whole number from 1 (the first try), got ${describe(attempt)}`, 'attempt');
  }
  const policy = (context.policy ?? DEFAULT_FAILURE_POLICY)[failure.kind];
  if (policy === undefined) throw new AgentvisorError('invalid-failure', `unknown failure kind ${describe(failure.kind)} (known: ${PROVIDER_FAILURE_KINDS.join(', ')})`);
  return policyStep(policy, failure.retryAfterMs, attempt, (context.random ?? Math.random)());
}
