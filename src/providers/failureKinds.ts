import type { ProviderFailureKind } from './providerFailure';

/** Error `type` / `code` values of the Anthropic and OpenAI APIs (and the ChatGPT backend Codex uses). */
const KIND_OF_ERROR_TYPE: Readonly<Record<string, ProviderFailureKind>> = {
  authentication_error: 'auth',
  permission_error: 'auth',
  invalid_api_key: 'auth',
  rate_limit_error: 'rate-limit',
  rate_limit_exceeded: 'rate-limit',
  insufficient_quota: 'quota',
  usage_limit_reached: 'quota',
  billing_error: 'quota',
  overloaded_error: 'overloaded',
  api_error: 'server',
  server_error: 'server',
  timeout_error: 'timeout',
  invalid_request_error: 'invalid-request',
  not_found_error: 'invalid-request',
  request_too_large: 'invalid-request',
  context_length_exceeded: 'invalid-request',
  model_not_found: 'invalid-request',
};

/**
 * Wording of agent CLIs and APIs when there is no status or error type; first match wins.
 * A kind may have several patterns in a row (only to keep lines short): together they match what one would.
 */
const KIND_OF_TEXT: readonly (readonly [RegExp, ProviderFailureKind])[] = [
  [/\boverloaded\b|\bat capacity\b|\bservice unavailable\b/i, 'overloaded'],
  [/invalid api key|invalid x-api-key|\bunauthori[sz]ed\b|\bauthentication\b|not logged in|\/login\b/i, 'auth'],
  [/oauth token|token (?:has )?expired|refresh token|permission denied/i, 'auth'],
  [/\brate limit|too many requests/i, 'rate-limit'],
  [
    /stream disconnected|stream (?:closed|ended) before|before (?:the )?(?:response|stream) (?:completed|finished)/i,
    'truncated',
  ],
  [/incomplete response|premature close/i, 'truncated'],
  [/\btimed? ?out\b|\btimeout\b/i, 'timeout'],
  [
    /connection error|connection refused|connection reset|\bECONN[A-Z]+|\bENOTFOUND\b|\bEAI_AGAIN\b|fetch failed|network error|socket hang up/i,
    'network',
  ],
  [
    /prompt is too long|context window|maximum context length|output token maximum|invalid_request_error|not_found_error/i,
    'invalid-request',
  ],
  [/internal server error|\bapi_error\b|\bserver error\b|bad gateway/i, 'server'],
];

/** Statuses seen in agent CLI messages: "unexpected status 401", "last status: 429", "API Error: 529", "rejected (429)". */
const STATUS_IN_TEXT =
  /\b(?:unexpected status|last status:?|API Error:?|rejected \(|status(?: code)?:?|HTTP(?:\/\d(?:\.\d)?)?)\s*([45]\d\d)\b/i;

/**
 * The kind an error body's `code`, else its `type`, names; `null` when neither is known.
 *
 * @example kindOfErrorType({ type: 'error', code: 'insufficient_quota' }) // 'quota'
 */
export function kindOfErrorType(body: {
  readonly type: string | null;
  readonly code: string | null;
}): ProviderFailureKind | null {
  return (
    (body.code === null ? undefined : KIND_OF_ERROR_TYPE[body.code]) ??
    (body.type === null ? undefined : KIND_OF_ERROR_TYPE[body.type]) ??
    null
  );
}

/**
 * 401/403 auth; 402 quota; 408 timeout; 429 rate-limit; 503 and 529 overloaded; other 5xx server;
 * other 4xx (400, 404, 409, 413, 422, …) invalid-request: the request is at fault and would fail
 * the same way elsewhere; 0 (a request that never got an answer) network.
 *
 * @example kindOfStatus(529) // 'overloaded'
 */
export function kindOfStatus(status: number | null): ProviderFailureKind | null {
  if (status === null) return null;
  if (status === 0) return 'network';
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'quota';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate-limit';
  if (status === 503 || status === 529) return 'overloaded';
  if (status >= 500) return 'server';
  if (status >= 400) return 'invalid-request';
  return null;
}

/**
 * The kind an agent CLI's or API's wording names; `null` when nothing is recognised.
 *
 * @example kindOfText('stream disconnected before completion') // 'truncated'
 */
export function kindOfText(text: string | null): ProviderFailureKind | null {
  if (text === null) return null;
  return KIND_OF_TEXT.find(([pattern]) => pattern.test(text))?.[1] ?? null;
}

/**
 * The HTTP status an agent CLI quoted in its message; `null` when it quoted none.
 *
 * @example statusInText('exceeded retry limit, last status: 429 Too Many Requests') // 429
 */
export function statusInText(text: string): number | null {
  const statusMatch = STATUS_IN_TEXT.exec(text);
  return statusMatch ? Number(statusMatch[1]) : null;
}
