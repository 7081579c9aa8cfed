import type { ProviderId } from '../../machines/providers';
import { checkProvider, checkResetContext, checkStatus } from './failureInputChecks';
import { kindOfErrorType, kindOfStatus, kindOfText, statusInText } from './failureKinds';
import { embeddedErrorBody, nonEmpty, readErrorBody } from './providerErrorBody';
import type { ErrorBody } from './providerErrorBody';
import { safeFailureMessage, throttleOf } from './providerFailure';
import type { ProviderFailure, ProviderFailureKind } from './providerFailure';
import { readRateLimitHeaders } from './rateLimitHeaders';
import type { HeadersInput, RateLimitFacts } from './rateLimitHeaders';
import { isUsageLimitText, tryAgainInMs, usageLimitResetAt } from './usageLimitText';

// The failure types, the network classifier and the input checks live in their own modules; this one
// keeps the names importable from where they have always been.
export { PROVIDER_FAILURE_KINDS, THROTTLES, safeFailureMessage, throttleOf } from './providerFailure';
export type { ProviderFailure, ProviderFailureKind, Throttle, TokenUsage } from './providerFailure';
export { classifyNetworkError } from './networkFailure';
export type { NetworkFailureInput } from './networkFailure';
export { checkResetContext } from './failureInputChecks';

interface Evidence {
  readonly provider: ProviderId;
  readonly status: number | null;
  readonly body: ErrorBody;
  /** All the provider's words: the body's message, or a CLI's whole text. */
  readonly text: string | null;
  readonly headers: RateLimitFacts;
  readonly now: number;
  readonly timeZone: string | undefined;
}

/**
 * Quota first (an OpenAI 429 `insufficient_quota` is not a rate limit; Anthropic's 400 "credit
 * balance is too low" is not the task's fault), then `overloaded_error` whatever the status, then
 * the status, then the body's error type, then the wording.
 */
function kindOf(evidence: Evidence): ProviderFailureKind | null {
  const { body, status, text } = evidence;
  const typeKind = kindOfErrorType(body);
  const usageLimitHeader = status === 429 && evidence.headers.usageLimit !== null;
  if (typeKind === 'quota' || usageLimitHeader || (text !== null && isUsageLimitText(text))) return 'quota';
  if (typeKind === 'overloaded') return 'overloaded';
  return kindOfStatus(status) ?? typeKind ?? kindOfText(text);
}

function resetAtOf(kind: ProviderFailureKind, evidence: Evidence): number | null {
  if (kind === 'rate-limit') return evidence.headers.resetAt;
  if (kind !== 'quota') return null;
  const fromText =
    evidence.text === null
      ? null
      : usageLimitResetAt(evidence.text, { now: evidence.now, timeZone: evidence.timeZone });
  return evidence.headers.usageLimit?.resetAt ?? evidence.body.resetAt ?? fromText;
}

function buildFailure(kind: ProviderFailureKind, evidence: Evidence, message: string): ProviderFailure {
  const resetAt = resetAtOf(kind, evidence);
  const textWait = evidence.text === null || kind === 'quota' ? null : tryAgainInMs(evidence.text);
  const untilReset = resetAt === null ? null : Math.max(0, resetAt - evidence.now);
  const remaining = evidence.headers.remaining;
  return {
    ok: false,
    kind,
    provider: evidence.provider,
    status: evidence.status,
    retryAfterMs: evidence.headers.retryAfterMs ?? textWait ?? untilReset,
    resetAt,
    throttle: throttleOf(kind),
    message: safeFailureMessage(message),
    ...(remaining === null ? {} : { remaining }),
  };
}

export interface HttpFailureInput {
  readonly provider: ProviderId;
  /** The response status; `null` for an error event inside a 200 stream. */
  readonly status: number | null;
  /** A Fetch `Headers` or a plain object, names in any case. */
  readonly headers?: HeadersInput | null;
  /** The body as text or parsed JSON. */
  readonly body?: unknown;
  /** When the response arrived (epoch ms): HTTP-dates and reset durations are counted from it. */
  readonly now: number;
  /** Zone for reset times printed without one. */
  readonly timeZone?: string;
}

/**
 * Classifies a failed provider response (or an `error` event of a stream) from its status,
 * headers and body. Unrecognised failures are `server`.
 *
 * @example
 * classifyHttpFailure({ provider: 'openai', status: 429, now: Date.now(),
 *   body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } } })
 * // { ok: false, kind: 'quota', throttle: 'usage-limit', status: 429, … }
 */
export function classifyHttpFailure(input: HttpFailureInput): ProviderFailure {
  checkProvider('classifyHttpFailure', input.provider);
  checkStatus('classifyHttpFailure', input.status);
  checkResetContext('classifyHttpFailure', input.now, input.timeZone);
  const body = readErrorBody(input.body, input.now);
  const evidence: Evidence = {
    provider: input.provider,
    status: input.status,
    body,
    text: body.message,
    headers: readRateLimitHeaders(input.headers, input.now),
    now: input.now,
    timeZone: input.timeZone,
  };
  const kind = kindOf(evidence) ?? 'server';
  const label = [input.status === null ? 'Error' : `HTTP ${input.status}`, body.type ?? body.code]
    .filter((part) => part !== null)
    .join(' ');
  return buildFailure(
    kind,
    evidence,
    body.message === null ? `${label} with no error message` : `${label}: ${body.message}`,
  );
}

export interface TextFailureInput {
  readonly provider: ProviderId;
  /** What the agent CLI or SDK said. */
  readonly text: string;
  /** A status known from elsewhere (Claude Code's `api_error_status`); else read from the text. */
  readonly status?: number | null;
  readonly now: number;
  readonly timeZone?: string;
  /** The kind when nothing in the text is recognised. @default 'server' */
  readonly unknownKind?: ProviderFailureKind;
}

/**
 * Classifies a failure an agent CLI reported in words ("unexpected status 401 Unauthorized: …",
 * "API Error: 529 {…}", "Quota exceeded. Check your plan and billing details.").
 *
 * @example
 * classifyFailureText({ provider: 'openai', text: 'exceeded retry limit, last status: 429 Too Many Requests', now: Date.now() }).kind // 'rate-limit'
 */
export function classifyFailureText(input: TextFailureInput): ProviderFailure {
  const given = input.status ?? null;
  checkProvider('classifyFailureText', input.provider);
  checkStatus('classifyFailureText', given);
  checkResetContext('classifyFailureText', input.now, input.timeZone);
  const text = typeof input.text === 'string' ? input.text : '';
  const status = given ?? statusInText(text);
  const evidence: Evidence = {
    provider: input.provider,
    status,
    body: embeddedErrorBody(text, input.now),
    text: nonEmpty(text),
    headers: readRateLimitHeaders(null, input.now),
    now: input.now,
    timeZone: input.timeZone,
  };
  const kind = kindOf(evidence) ?? input.unknownKind ?? 'server';
  return buildFailure(kind, evidence, nonEmpty(text) ?? `${kind} failure with no message`);
}
