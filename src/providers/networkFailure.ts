import type { ProviderId } from '../../machines/providers';
import { errnoOf } from '../errors';
import { checkProvider } from './failureInputChecks';
import { isRecord, nonEmpty } from './providerErrorBody';
import { safeFailureMessage } from './providerFailure';
import type { ProviderFailure, ProviderFailureKind } from './providerFailure';

const TIMEOUT_NAMES = new Set(['AbortError', 'TimeoutError']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ABORT_ERR',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function namesOf(error: unknown): string[] {
  const names: string[] = [];
  for (
    let current: unknown = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 4;
    depth += 1
  ) {
    const name = (current as { name?: unknown }).name;
    if (typeof name === 'string') names.push(name);
    current = (current as { cause?: unknown }).cause;
  }
  return names;
}

export interface NetworkFailureInput {
  readonly provider: ProviderId;
  /** What fetch or the socket threw. */
  readonly error: unknown;
  /** True when the response had started: the answer is partial, so the failure is `truncated`. */
  readonly midStream?: boolean;
}

/**
 * Classifies a thrown fetch or socket error: `truncated` mid-stream; `timeout` for AbortError,
 * TimeoutError and timeout errno codes (an abort is taken as a deadline: agentvisor aborts
 * requests only when their time is up); otherwise `network` (ECONNREFUSED, ECONNRESET, ENOTFOUND,
 * EAI_AGAIN, or anything unrecognised).
 *
 * @example
 * classifyNetworkError({ provider: 'claude', error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) }).kind // 'network'
 */
export function classifyNetworkError(input: NetworkFailureInput): ProviderFailure {
  checkProvider('classifyNetworkError', input.provider);
  const errno = errnoOf(input.error);
  const names = namesOf(input.error);
  const timedOut = names.some((name) => TIMEOUT_NAMES.has(name)) || (errno !== null && TIMEOUT_CODES.has(errno));
  const kind: ProviderFailureKind = input.midStream === true ? 'truncated' : timedOut ? 'timeout' : 'network';
  const error = input.error;
  const text =
    error instanceof Error || isRecord(error) ? nonEmpty((error as { message?: unknown }).message) : nonEmpty(error);
  const head = [names[0], text].filter((part) => part !== undefined && part !== null).join(': ');
  const message = `${head === '' ? 'network failure' : head}${errno === null || head.includes(errno) ? '' : ` (${errno})`}`;
  return {
    ok: false,
    kind,
    provider: input.provider,
    status: null,
    retryAfterMs: null,
    resetAt: null,
    throttle: null,
    message: safeFailureMessage(message),
  };
}
