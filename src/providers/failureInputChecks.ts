import { isProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'number' || value === null || value === undefined ? String(value) : typeof value;
}

/**
 * Throws `invalid-failure` unless `provider` is a provider id; `name` is the function checked.
 *
 * @example checkProvider('classifyHttpFailure', 'claude')
 */
export function checkProvider(name: string, provider: unknown): void {
  if (!isProviderId(provider))
    throw new AgentvisorError(
      'invalid-failure',
      `${name} needs provider 'claude' or 'openai', got ${describe(provider)}`,
    );
}

/**
 * Throws `invalid-failure` unless `status` is an HTTP status from 0 to 599 or `null`.
 *
 * @example checkStatus('classifyHttpFailure', 429)
 */
export function checkStatus(name: string, status: unknown): void {
  if (status !== null && (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 599)) {
    throw new AgentvisorError(
      'invalid-failure',
      `${name}: status must be an HTTP status from 0 to 599 or null, got ${describe(status)}`,
    );
  }
}

/**
 * Checks the clock and zone every reset-time reading needs; shared with the agent CLI classifiers.
 *
 * @example checkResetContext('classifyFailureText', Date.now(), 'UTC')
 */
export function checkResetContext(name: string, now: unknown, timeZone: unknown): void {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new AgentvisorError(
      'invalid-failure',
      `${name} needs now (epoch ms) to read reset times, got ${describe(now)}`,
    );
  }
  if (timeZone !== undefined && typeof timeZone !== 'string') {
    throw new AgentvisorError(
      'invalid-failure',
      `${name}: timeZone must be an IANA zone name such as 'UTC', got ${describe(timeZone)}`,
    );
  }
}
