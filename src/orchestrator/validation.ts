import { isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import {
  PROVIDER_FAILURE_KINDS,
  classifyHttpFailure,
  classifyNetworkError,
  safeFailureMessage,
  throttleOf,
} from '../providers';
import type { ProviderFailure, ProviderFailureKind } from '../providers';
import type { ErrorCode } from '../errors';
import { MAX_TOKENS } from './options';
import { checkOptions } from '../schema/checkOptions';
import { spawnOptionsSchema } from './spawnOptionsSchema';
import type { FailureReport, SpawnOptions, UsageReport } from './types';

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function tokens(code: ErrorCode, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TOKENS) {
    throw new AgentvisorError(
      code,
      `${name} must be a whole number of tokens from ${min} to ${MAX_TOKENS}, got ${describe(value)}`,
      {
        details: { field: name },
      },
    );
  }
  return value;
}

export interface CheckedSpawn {
  /** Null: take the learned estimate of `taskKind`. */
  readonly estimatedTokens: number | null;
  readonly taskKind: string | null;
  readonly preferredProvider: SpawnOptions['preferredProvider'] | null;
  readonly agentId: string | null;
  readonly task: string | null;
  readonly waitMs: number;
  readonly priority: number;
  readonly whenPreferredBusy: 'fallback' | 'wait' | null;
}

/**
 * Checks `spawnAgent`'s options against their schema and fills in the defaults. A problem throws
 * `invalid-option` naming the field (`invalid-estimate` for `estimatedTokens`); an unknown key gets
 * a "did you mean" hint. Options marked `alreadyChecked` (task runs, the CLI) skip zod.
 *
 * @example checkSpawn({ estimatedTokens: 20_000 }).waitMs // 0
 */
export function checkSpawn(options: SpawnOptions): CheckedSpawn {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new AgentvisorError(
      'invalid-estimate',
      'spawnAgent needs an options object such as { estimatedTokens: 20000 }',
    );
  }
  checkOptions(spawnOptionsSchema, options, {
    call: 'spawnAgent',
    expected: 'an object such as { estimatedTokens: 20000 }',
    codes: { estimatedTokens: 'invalid-estimate' },
  });
  if (options.estimatedTokens === undefined && options.taskKind === undefined) {
    throw new AgentvisorError(
      'invalid-estimate',
      'spawnAgent needs estimatedTokens (a whole number of tokens), or a taskKind to take the estimate learned from that kind of task',
      {
        details: { field: 'estimatedTokens' },
      },
    );
  }
  return {
    estimatedTokens: options.estimatedTokens ?? null,
    taskKind: options.taskKind ?? null,
    preferredProvider: options.preferredProvider ?? null,
    agentId: options.agentId ?? null,
    task: options.task ?? null,
    waitMs: options.waitMs ?? 0,
    priority: options.priority ?? 0,
    whenPreferredBusy: options.whenPreferredBusy ?? null,
  };
}

/** The tokens of one usage report; throws `invalid-usage` and changes nothing when it is malformed. */
export function checkUsage(report: UsageReport): number {
  if (typeof report !== 'object' || report === null) {
    throw new AgentvisorError('invalid-usage', 'reportUsage needs { inputTokens, outputTokens }');
  }
  if (
    report.headers !== undefined &&
    (typeof report.headers !== 'object' || report.headers === null || Array.isArray(report.headers))
  ) {
    throw new AgentvisorError(
      'invalid-usage',
      'headers must be the response headers: a plain object of header names to values, or a Fetch Headers',
    );
  }
  const input = tokens('invalid-usage', 'inputTokens', report.inputTokens, 0);
  const output = tokens('invalid-usage', 'outputTokens', report.outputTokens, 0);
  return tokens('invalid-usage', 'inputTokens + outputTokens', input + output, 0);
}

/** What a failure can be (docs/failures.md). */
export const FAILURE_KINDS = PROVIDER_FAILURE_KINDS;
export type FailureKind = ProviderFailureKind;

/**
 * Classifies a failure report into one kind, with Retry-After and reset times, reading the status,
 * the provider's body and headers, a thrown network error, or a kind an adapter already decided.
 * Throws `invalid-failure` (and changes nothing) when the report is malformed.
 *
 * @example classifyFailure({ status: 429, body: { error: { code: 'insufficient_quota' } } }, 'openai').kind // 'quota'
 */
export function classifyFailure(
  report: FailureReport,
  provider: ProviderId = 'claude',
  now: number = Date.now(),
): ProviderFailure {
  if (typeof report !== 'object' || report === null) {
    throw new AgentvisorError(
      'invalid-failure',
      `reportFailure needs { status } with an HTTP status (or 0 for a network failure), got ${describe(report)}`,
    );
  }
  if (
    report.retryAfterMs !== undefined &&
    (typeof report.retryAfterMs !== 'number' || !(report.retryAfterMs >= 0) || !Number.isFinite(report.retryAfterMs))
  ) {
    throw new AgentvisorError(
      'invalid-failure',
      `retryAfterMs must be a number of milliseconds >= 0, got ${describe(report.retryAfterMs)}`,
    );
  }
  if (
    report.headers !== undefined &&
    (typeof report.headers !== 'object' || report.headers === null || Array.isArray(report.headers))
  ) {
    throw new AgentvisorError(
      'invalid-failure',
      `headers must be the response headers: a plain object of header names to values, or a Fetch Headers; got ${
        Array.isArray(report.headers) ? 'an array' : describe(report.headers)
      }`,
    );
  }
  if (report.message !== undefined && typeof report.message !== 'string') {
    throw new AgentvisorError('invalid-failure', `message must be a string, got ${describe(report.message)}`);
  }
  if (
    report.resetAt !== undefined &&
    (typeof report.resetAt !== 'number' || !Number.isFinite(report.resetAt) || report.resetAt < 0)
  ) {
    throw new AgentvisorError(
      'invalid-failure',
      `resetAt must be a time in epoch milliseconds, got ${describe(report.resetAt)}`,
    );
  }
  if (report.provider !== undefined && !isProviderId(report.provider)) {
    throw new AgentvisorError(
      'invalid-failure',
      `provider must be 'claude' or 'openai' (the provider the failed request went to), got ${describe(report.provider)}`,
    );
  }
  const failure = classifyReport(report, report.provider ?? provider, now);
  const withWait = report.retryAfterMs === undefined ? failure : { ...failure, retryAfterMs: report.retryAfterMs };
  return report.resetAt === undefined ? withWait : { ...withWait, resetAt: report.resetAt };
}

function isHttpStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 0 && status <= 599;
}

function classifyReport(report: FailureReport, provider: ProviderId, now: number): ProviderFailure {
  if (report.kind !== undefined) {
    if (!(PROVIDER_FAILURE_KINDS as readonly unknown[]).includes(report.kind)) {
      throw new AgentvisorError(
        'invalid-failure',
        `kind must be one of ${PROVIDER_FAILURE_KINDS.join(', ')}, got ${describe(report.kind)}`,
      );
    }
    const status = report.status ?? null;
    if (status !== null && !isHttpStatus(status)) {
      throw new AgentvisorError(
        'invalid-failure',
        `status must be an HTTP status from 0 to 599 when given with a kind, got ${describe(status)}`,
      );
    }
    const throttle = throttleOf(report.kind);
    return {
      ok: false,
      kind: report.kind,
      provider,
      status,
      retryAfterMs: null,
      resetAt: null,
      throttle,
      message: safeFailureMessage(report.message ?? report.kind),
    };
  }
  if (report.status === undefined && report.error !== undefined)
    return classifyNetworkError({ provider, error: report.error });
  const { status } = report;
  if (!isHttpStatus(status)) {
    throw new AgentvisorError(
      'invalid-failure',
      `reportFailure needs { status } with an HTTP status (or 0 for a network failure), or { error } or { kind }; got status ${describe(status)}`,
    );
  }
  if (status === 0)
    return classifyNetworkError({ provider, error: report.error ?? new Error(report.message ?? 'network failure') });
  if (status < 400)
    throw new AgentvisorError(
      'invalid-failure',
      `status ${status} is not a failure: report 4xx, 5xx, or 0 for a network failure`,
    );
  return classifyHttpFailure({
    provider,
    status,
    headers: report.headers ?? null,
    body: report.body ?? report.message,
    now,
  });
}
