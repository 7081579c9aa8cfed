import { isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError, errnoOf } from '../errors';
import { maskKeyLike } from './providerRegistry';
import { readRateLimitHeaders } from './rateLimitHeaders';
import type { HeadersInput, RateLimitFacts, RemainingCapacity } from './rateLimitHeaders';
import { isUsageLimitText, tryAgainInMs, usageLimitResetAt } from './usageLimitText';

/**
 * What went wrong with a provider, in terms of what to do next (docs/failures.md has the table).
 * `truncated`: the answer stopped before its terminal event, so it is never a success.
 */
export const PROVIDER_FAILURE_KINDS = ['auth', 'rate-limit', 'quota', 'overloaded', 'server', 'network', 'timeout', 'truncated', 'invalid-request'] as const;
export type ProviderFailureKind = (typeof PROVIDER_FAILURE_KINDS)[number];

/** Server-side throttling (back off, lower concurrency) versus a usage limit (gone until it resets). */
export const THROTTLES = ['server', 'usage-limit'] as const;
export type Throttle = (typeof THROTTLES)[number];

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** One classified provider failure. Times are epoch ms; `message` is safe to log and show. */
export interface ProviderFailure {
  readonly ok: false;
  readonly kind: ProviderFailureKind;
  readonly provider: ProviderId;
  /** The HTTP status, from the response or read from an agent CLI's output; `null` when none. */
  readonly status: number | null;
  /** How long the provider asked us to wait (Retry-After, "try again in", or until `resetAt`). */
  readonly retryAfterMs: number | null;
  /** When the limit behind a `rate-limit` or `quota` failure lifts; `null` for other kinds or when unknown. */
  readonly resetAt: number | null;
  /** `server` for rate-limit and overloaded, `usage-limit` for quota, else `null`. */
  readonly throttle: Throttle | null;
  /** The provider's own words, keys masked (`sk-ant-…WXYZ`), whitespace collapsed, at most 300 characters. */
  readonly message: string;
  /** What the rate-limit headers said was left, when they said. */
  readonly remaining?: RemainingCapacity;
  /** Tokens a failed agent run reported using (agent CLIs only): real usage is never dropped. */
  readonly usage?: TokenUsage;
}

const MAX_MESSAGE_LENGTH = 300;

/**
 * Text from a provider or an agent CLI made safe to log: key-shaped text masked, bearer tokens and
 * JWTs cut to a stub, terminal colours and control characters removed, capped at 300 characters.
 * Masking happens before capping, so a cap can never leave a key's head unmasked.
 *
 * @example safeFailureMessage('Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvWXYZ') // 'Incorrect API key provided: sk-…WXYZ'
 */
export function safeFailureMessage(text: string): string {
  const masked = maskKeyLike(
    text
      // eslint-disable-next-line no-control-regex -- removing terminal escapes and control characters is the point
      .replace(/\u001b\[[0-9;?]*[A-Za-z]|[\u0000-\u001f\u007f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  )
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 …')
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, 'eyJ…');
  return masked.length <= MAX_MESSAGE_LENGTH ? masked : `${masked.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

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

/** Wording of agent CLIs and APIs when there is no status or error type; first match wins. */
const KIND_OF_TEXT: readonly (readonly [RegExp, ProviderFailureKind])[] = [
  [/\boverloaded\b|\bat capacity\b|\bservice unavailable\b/i, 'overloaded'],
  [/invalid api key|invalid x-api-key|\bunauthori[sz]ed\b|\bauthentication\b|not logged in|\/login\b|oauth token|token (?:has )?expired|refresh token|permission denied/i, 'auth'],
  [/\brate limit|too many requests/i, 'rate-limit'],
  [/stream disconnected|stream (?:closed|ended) before|before (?:the )?(?:response|stream) (?:completed|finished)|incomplete response|premature close/i, 'truncated'],
  [/\btimed? ?out\b|\btimeout\b/i, 'timeout'],
  [/connection error|connection refused|connection reset|\bECONN[A-Z]+|\bENOTFOUND\b|\bEAI_AGAIN\b|fetch failed|network error|socket hang up/i, 'network'],
  [/prompt is too long|context window|maximum context length|output token maximum|invalid_request_error|not_found_error/i, 'invalid-request'],
  [/internal server error|\bapi_error\b|\bserver error\b|bad gateway/i, 'server'],
];

/** Statuses seen in agent CLI messages: "unexpected status 401", "last status: 429", "API Error: 529", "rejected (429)". */
const STATUS_IN_TEXT = /\b(?:unexpected status|last status:?|API Error:?|rejected \(|status(?: code)?:?|HTTP(?:\/\d(?:\.\d)?)?)\s*([45]\d\d)\b/i;

/**
 * 401/403 auth; 402 quota; 408 timeout; 429 rate-limit; 503 and 529 overloaded; other 5xx server;
 * other 4xx (400, 404, 409, 413, 422, …) invalid-request: the request is at fault and would fail
 * the same way elsewhere; 0 (a request that never got an answer) network.
 */
function kindOfStatus(status: number | null): ProviderFailureKind | null {
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

function kindOfText(text: string | null): ProviderFailureKind | null {
  if (text === null) return null;
  return KIND_OF_TEXT.find(([pattern]) => pattern.test(text))?.[1] ?? null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An error type or code is shown in messages: short identifiers only. */
function identifier(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

interface ErrorBody {
  readonly type: string | null;
  readonly code: string | null;
  readonly message: string | null;
  /** The ChatGPT backend's `usage_limit_reached` carries `resets_at` (epoch s) / `resets_in_seconds`. */
  readonly resetAt: number | null;
}

const EMPTY_BODY: ErrorBody = { type: null, code: null, message: null, resetAt: null };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function bodyResetAt(error: Record<string, unknown>, now: number): number | null {
  const { resets_at: at, resets_in_seconds: inSeconds } = error;
  if (typeof at === 'number' && Number.isFinite(at) && at > 0) return at * 1000;
  if (typeof inSeconds === 'number' && Number.isFinite(inSeconds) && inSeconds >= 0) return now + inSeconds * 1000;
  return null;
}

/** Reads Anthropic `{type:'error', error:{type, message}}` and OpenAI `{error:{message, type, code}}`; other text is the message. */
function readErrorBody(body: unknown, now: number): ErrorBody {
  let value = body;
  if (typeof body === 'string') {
    value = parseJson(body);
    if (value === undefined) return { ...EMPTY_BODY, message: nonEmpty(body) };
  }
  if (!isRecord(value)) return EMPTY_BODY;
  const { error } = value;
  if (typeof error === 'string') return { ...EMPTY_BODY, message: nonEmpty(error) };
  if (!isRecord(error)) return { ...EMPTY_BODY, message: nonEmpty(value.message) };
  return { type: identifier(error.type), code: identifier(error.code), message: nonEmpty(error.message), resetAt: bodyResetAt(error, now) };
}

/** The JSON object quoted inside a CLI message such as `API Error: 529 {"type":"error",…}`. */
function embeddedErrorBody(text: string, now: number): ErrorBody {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return EMPTY_BODY;
  const value = parseJson(text.slice(start, end + 1));
  return value === undefined ? EMPTY_BODY : readErrorBody(value, now);
}

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
  const typeKind = (body.code === null ? undefined : KIND_OF_ERROR_TYPE[body.code]) ?? (body.type === null ? undefined : KIND_OF_ERROR_TYPE[body.type]) ?? null;
  const usageLimitHeader = status === 429 && evidence.headers.usageLimit !== null;
  if (typeKind === 'quota' || usageLimitHeader || (text !== null && isUsageLimitText(text))) return 'quota';
  if (typeKind === 'overloaded') return 'overloaded';
  return kindOfStatus(status) ?? typeKind ?? kindOfText(text);
}

/** Which throttle a kind means: `usage-limit` for quota, `server` for rate limits and overloads. */
export function throttleOf(kind: ProviderFailureKind): Throttle | null {
  if (kind === 'quota') return 'usage-limit';
  return kind === 'rate-limit' || kind === 'overloaded' ? 'server' : null;
}

function resetAtOf(kind: ProviderFailureKind, evidence: Evidence): number | null {
  if (kind === 'rate-limit') return evidence.headers.resetAt;
  if (kind !== 'quota') return null;
  const fromText = evidence.text === null ? null : usageLimitResetAt(evidence.text, { now: evidence.now, timeZone: evidence.timeZone });
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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'number' || value === null || value === undefined ? String(value) : typeof value;
}

function checkProvider(name: string, provider: unknown): void {
  if (!isProviderId(provider)) throw new AgentvisorError('invalid-failure', `${name} needs provider 'claude' or 'openai', got ${describe(provider)}`);
}

function checkStatus(name: string, status: unknown): void {
  if (status !== null && (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 599)) {
    throw new AgentvisorError('invalid-failure', `${name}: status must be an HTTP status from 0 to 599 or null, got ${describe(status)}`);
  }
}

/** Checks the clock and zone every reset-time reading needs; shared with the agent CLI classifiers. */
export function checkResetContext(name: string, now: unknown, timeZone: unknown): void {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new AgentvisorError('invalid-failure', `${name} needs now (epoch ms) to read reset times, got ${describe(now)}`);
  if (timeZone !== undefined && typeof timeZone !== 'string') throw new AgentvisorError('invalid-failure', `${name}: timeZone must be an IANA zone name such as 'UTC', got ${describe(timeZone)}`);
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
  const evidence: Evidence = { provider: input.provider, status: input.status, body, text: body.message, headers: readRateLimitHeaders(input.headers, input.now), now: input.now, timeZone: input.timeZone };
  const kind = kindOf(evidence) ?? 'server';
  const label = [input.status === null ? 'Error' : `HTTP ${input.status}`, body.type ?? body.code].filter((part) => part !== null).join(' ');
  return buildFailure(kind, evidence, body.message === null ? `${label} with no error message` : `${label}: ${body.message}`);
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
  const statusMatch = STATUS_IN_TEXT.exec(text);
  const status = given ?? (statusMatch ? Number(statusMatch[1]) : null);
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

const TIMEOUT_NAMES = new Set(['AbortError', 'TimeoutError']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ABORT_ERR', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function namesOf(error: unknown): string[] {
  const names: string[] = [];
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth += 1) {
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
  const text = error instanceof Error || isRecord(error) ? nonEmpty((error as { message?: unknown }).message) : nonEmpty(error);
  const head = [names[0], text].filter((part) => part !== undefined && part !== null).join(': ');
  const message = `${head === '' ? 'network failure' : head}${errno === null || head.includes(errno) ? '' : ` (${errno})`}`;
  return { ok: false, kind, provider: input.provider, status: null, retryAfterMs: null, resetAt: null, throttle: null, message: safeFailureMessage(message) };
}
