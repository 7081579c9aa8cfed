import { isProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import type { ErrorCode } from '../errors';
import { MAX_TOKENS } from './options';
import type { FailureReport, SpawnOptions, UsageReport } from './types';

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function tokens(code: ErrorCode, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TOKENS) {
    throw new AgentvisorError(code, `${name} must be a whole number of tokens from ${min} to ${MAX_TOKENS}, got ${describe(value)}`, {
      details: { field: name },
    });
  }
  return value;
}

export interface CheckedSpawn {
  readonly estimatedTokens: number;
  readonly preferredProvider: SpawnOptions['preferredProvider'] | null;
  readonly agentId: string | null;
  readonly task: string | null;
  readonly waitMs: number;
  readonly priority: number;
}

export function checkSpawn(options: SpawnOptions): CheckedSpawn {
  if (typeof options !== 'object' || options === null) {
    throw new AgentvisorError('invalid-estimate', 'spawnAgent needs an options object such as { estimatedTokens: 20000 }');
  }
  const estimatedTokens = tokens('invalid-estimate', 'estimatedTokens', options.estimatedTokens, 1);
  if (options.preferredProvider !== undefined && !isProviderId(options.preferredProvider)) {
    throw new AgentvisorError('invalid-option', `preferredProvider must be 'claude' or 'openai', got ${describe(options.preferredProvider)}`);
  }
  const waitMs = options.waitMs ?? 0;
  if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > 2 ** 31 - 1) {
    throw new AgentvisorError('invalid-option', `waitMs must be a whole number of milliseconds from 0 to ${2 ** 31 - 1}, got ${describe(waitMs)}`);
  }
  const priority = options.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) {
    throw new AgentvisorError('invalid-option', `priority must be a whole number, got ${describe(priority)}`);
  }
  const agentId = options.agentId ?? null;
  if (agentId !== null && (typeof agentId !== 'string' || !/^[\w.:@/-]{1,128}$/.test(agentId))) {
    throw new AgentvisorError('invalid-option', `agentId must be 1-128 characters of letters, digits and _ . : @ / -, got ${describe(agentId)}`);
  }
  const task = options.task ?? null;
  if (task !== null && typeof task !== 'string') throw new AgentvisorError('invalid-option', `task must be a string, got ${describe(task)}`);
  return { estimatedTokens, preferredProvider: options.preferredProvider ?? null, agentId, task, waitMs, priority };
}

/** The tokens of one usage report; throws `invalid-usage` and changes nothing when it is malformed. */
export function checkUsage(report: UsageReport): number {
  if (typeof report !== 'object' || report === null) {
    throw new AgentvisorError('invalid-usage', 'reportUsage needs { inputTokens, outputTokens }');
  }
  const input = tokens('invalid-usage', 'inputTokens', report.inputTokens, 0);
  const output = tokens('invalid-usage', 'outputTokens', report.outputTokens, 0);
  return tokens('invalid-usage', 'inputTokens + outputTokens', input + output, 0);
}

/** What a failure is, from the provider's HTTP status. The fallback issue refines this (bodies, headers, CLIs). */
export const FAILURE_KINDS = ['auth', 'rate-limit', 'overloaded', 'server', 'network', 'invalid-request'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export function classifyFailure(report: FailureReport): FailureKind {
  if (typeof report !== 'object' || report === null || typeof report.status !== 'number' || !Number.isInteger(report.status) || report.status < 0 || report.status > 599) {
    throw new AgentvisorError('invalid-failure', `reportFailure needs { status } with an HTTP status (or 0 for a network failure), got ${describe(report?.status)}`);
  }
  if (report.retryAfterMs !== undefined && (typeof report.retryAfterMs !== 'number' || !(report.retryAfterMs >= 0))) {
    throw new AgentvisorError('invalid-failure', `retryAfterMs must be a number of milliseconds >= 0, got ${describe(report.retryAfterMs)}`);
  }
  const { status } = report;
  if (status === 0) return 'network';
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate-limit';
  if (status === 529 || status === 503) return 'overloaded';
  if (status >= 500) return 'server';
  if (status >= 400) return 'invalid-request';
  throw new AgentvisorError('invalid-failure', `status ${status} is not a failure: report 4xx, 5xx, or 0 for a network failure`);
}
