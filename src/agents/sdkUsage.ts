import { AgentvisorError } from '../errors';
import type { FailureReport } from '../orchestrator';
import { classifyHttpFailure, claudeUsage, codexUsage, safeFailureMessage } from '../providers';
import type { HeadersInput, TokenUsage } from '../providers';
import { agentFailureReport } from './agentFailureReport';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for a message: its type, or an object's first keys; never its contents. */
function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (!isRecord(value)) return typeof value;
  const keys = Object.keys(value);
  if (keys.length === 0) return 'an empty object';
  return `an object with ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`;
}

function invalidUsage(helper: string, message: string, value: unknown): AgentvisorError {
  return new AgentvisorError('invalid-usage', `${helper}: ${message} (got ${shapeOf(value)})`, { details: { helper } });
}

/** The usage object: the response's `usage`, or the value itself when it is one. */
function usageObject(value: unknown, helper: string, expected: string): Record<string, unknown> {
  if (!isRecord(value)) throw invalidUsage(helper, `needs ${expected}`, value);
  if ('usage' in value) {
    if (isRecord(value.usage)) return value.usage;
    throw invalidUsage(
      helper,
      `its usage is ${value.usage === null ? 'null' : 'not an object'}: ${expected} that finished carries one`,
      value,
    );
  }
  return value;
}

const ANTHROPIC_EXPECTED =
  'an Anthropic Messages API message (or the final message of a stream) with usage.input_tokens and usage.output_tokens';

/**
 * The tokens an Anthropic Messages API answer used, ready for `agent.reportUsage`: input counts
 * `input_tokens + cache_creation_input_tokens + cache_read_input_tokens` (all three are input the
 * provider bills and limits, as the budget counts them), output is `output_tokens`. Takes the
 * message `messages.create()` returns, the one `stream.finalMessage()` resolves to, or its
 * `usage`. Throws AgentvisorError `invalid-usage` for anything else (an OpenAI response included).
 *
 * @example
 * const { data, response } = await client.messages.create({ model, max_tokens: 1024, messages }).withResponse();
 * agent.reportUsage({ ...usageFromAnthropic(data), headers: response.headers });
 * usageFromAnthropic({ usage: { input_tokens: 3, cache_creation_input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 7 } })
 * // { inputTokens: 123, outputTokens: 7 }
 */
export function usageFromAnthropic(message: unknown): TokenUsage {
  const helper = 'usageFromAnthropic';
  const usage = usageObject(message, helper, ANTHROPIC_EXPECTED);
  if (
    (isRecord(message) && message.object === 'response') ||
    'input_tokens_details' in usage ||
    'prompt_tokens' in usage
  ) {
    throw invalidUsage(helper, 'this is an OpenAI response: use usageFromOpenAI', message);
  }
  // Absent or null cache counts are 0; a malformed one is refused rather than counted as 0 (tokens lost).
  for (const field of ['cache_creation_input_tokens', 'cache_read_input_tokens']) {
    const count = usage[field];
    if (count !== undefined && count !== null && !(Number.isSafeInteger(count) && (count as number) >= 0))
      throw invalidUsage(helper, `usage.${field} must be a whole number >= 0 or null`, message);
  }
  const tokens = claudeUsage(usage);
  if (tokens === null) throw invalidUsage(helper, `needs ${ANTHROPIC_EXPECTED}, as whole numbers >= 0`, message);
  return tokens;
}

const OPENAI_EXPECTED =
  'an OpenAI Responses API response (usage.input_tokens, usage.output_tokens) or Chat Completion (usage.prompt_tokens, usage.completion_tokens)';

/**
 * The tokens an OpenAI answer used, ready for `agent.reportUsage`: from a Responses API response
 * (`input_tokens`, `output_tokens`) or a Chat Completion, streamed chunk included
 * (`prompt_tokens`, `completion_tokens`). Cached input is already inside the input count and
 * reasoning inside the output count, so nothing is added. A streamed Chat Completion carries
 * usage only when asked: `stream_options: { include_usage: true }`. Throws AgentvisorError
 * `invalid-usage` for anything else (an Anthropic message included, whose cache tokens would be
 * missed).
 *
 * @example
 * const response = await client.responses.create({ model: 'gpt-5', input: 'fix the test' });
 * agent.reportUsage(usageFromOpenAI(response));
 * usageFromOpenAI({ usage: { prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 } } })
 * // { inputTokens: 120, outputTokens: 30 }
 */
export function usageFromOpenAI(response: unknown): TokenUsage {
  const helper = 'usageFromOpenAI';
  const usage = usageObject(response, helper, OPENAI_EXPECTED);
  if (
    (isRecord(response) && response.type === 'message') ||
    'cache_read_input_tokens' in usage ||
    'cache_creation_input_tokens' in usage
  ) {
    throw invalidUsage(
      helper,
      'this is an Anthropic message: use usageFromAnthropic (it counts the cache tokens)',
      response,
    );
  }
  const tokens =
    'prompt_tokens' in usage
      ? codexUsage({ input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens })
      : codexUsage(usage);
  if (tokens === null) throw invalidUsage(helper, `needs ${OPENAI_EXPECTED}, as whole numbers >= 0`, response);
  return tokens;
}

/** The SDKs' connection errors, by class name: a timeout, or the body cut after the answer began. */
const TIMEOUT_NAME = /Timeout|Abort/;
// The openai SDK's stream helpers rethrow undici's "terminated" as OpenAIError('TypeError: terminated').
const TRUNCATED_TEXT = /^(?:TypeError: )?terminated$|stream ended without|premature close/i;
/**
 * The frame that parsed a response body: undici's `Response.json()` (the Anthropic SDK) or the
 * openai SDK's own parse. A SyntaxError raised there is an answer cut short, not the agent's bug.
 */
const BODY_PARSE_FRAME =
  /parseJSONFromBytes|[\\/](?:openai|@anthropic-ai[\\/]sdk)[\\/](?:src[\\/])?internal[\\/]parse\./;
/** Responses API statuses of a response that never finished (what finalResponse() gives for a cut stream). */
const UNFINISHED_RESPONSE = new Set(['in_progress', 'queued']);

/** Whether a SyntaxError was thrown while the SDK parsed the response body (read from the frame after JSON.parse). */
function isCutBody(error: Record<string, unknown>): boolean {
  if (error.name !== 'SyntaxError' || typeof error.stack !== 'string') return false;
  const frames = error.stack.split('\n').filter((line) => line.trimStart().startsWith('at '));
  const parse = frames.findIndex((line) => line.includes('JSON.parse'));
  return parse >= 0 && BODY_PARSE_FRAME.test(frames[parse + 1] ?? '');
}

/** Names and constructor names along the `cause` chain (OpenAI's errors are all named 'Error'). */
function chain(error: Record<string, unknown>): { names: string[]; texts: string[]; errno: boolean } {
  const names: string[] = [];
  const texts: string[] = [];
  let errno = false;
  for (let current: unknown = error, depth = 0; isRecord(current) && depth < 4; depth += 1) {
    for (const name of [current.name, current.constructor?.name]) if (typeof name === 'string') names.push(name);
    if (typeof current.message === 'string') texts.push(current.message);
    if (typeof current.code === 'string' && /^[A-Z_]{2,40}$/.test(current.code)) errno = true;
    current = current.cause;
  }
  return { names, texts, errno };
}

/** The SDKs' `APIError` (both): `status`, `headers` and `error` are own fields, set even when undefined. */
function isSdkApiError(error: Record<string, unknown>): boolean {
  return error instanceof Error && 'status' in error && 'headers' in error && 'error' in error;
}

function headersOf(value: unknown): HeadersInput | undefined {
  if (isRecord(value) && typeof value.get === 'function') return value as Pick<Headers, 'get'>;
  return isRecord(value) ? (value as HeadersInput) : undefined;
}

/** Anthropic's `APIError.error` is the whole body; OpenAI's is the body's `error`, wrapped back here. */
function bodyOf(value: unknown): unknown {
  if (isRecord(value)) return isRecord(value.error) ? value : { error: value };
  return typeof value === 'string' ? value : undefined;
}

function messageOf(error: Record<string, unknown>): { message?: string } {
  return typeof error.message === 'string' && error.message.trim() !== ''
    ? { message: safeFailureMessage(error.message) }
    : {};
}

/** An error event inside a 200 stream: no status to report, so it goes classified. */
function streamFailure(body: unknown, headers: HeadersInput | undefined): FailureReport {
  const provider = isRecord(body) && body.type === 'error' ? 'claude' : 'openai';
  const failure = classifyHttpFailure({ provider, status: null, headers: headers ?? null, body, now: Date.now() });
  return { body, ...(headers === undefined ? {} : { headers }), ...agentFailureReport(failure) };
}

function notAFailure(what: string, error: unknown): AgentvisorError {
  return new AgentvisorError('invalid-failure', `reportFailureFrom: ${what}`, {
    details: { got: shapeOf(error) },
    cause: error,
  });
}

/**
 * Turns what an official SDK (`@anthropic-ai/sdk`, `openai`) threw into the report
 * `agent.reportFailure()` takes, reading the error's fields (no SDK is imported):
 * - an `APIError` with an HTTP status: `{ status, headers, body, message }` (Anthropic's
 *   `error` is the body; OpenAI's is the body's `error`, wrapped back as `{ error }`);
 * - an error event inside a stream (an `APIError` without a status, carrying the event), or a
 *   Responses API response that ended `failed` (what `stream.finalResponse()` gives): classified
 *   from the body as `{ kind, message, … }` (an `overloaded_error` is `overloaded`); a response still
 *   `in_progress` or `queued` (the stream closed before `response.completed`) is `{ kind: 'truncated' }`;
 * - a connection error: `{ error, kind: 'timeout' }` for `APIConnectionTimeoutError` and aborts,
 *   `{ error, kind: 'truncated' }` when the body was cut after the answer began (`terminated`,
 *   "stream ended without producing a Message", a SyntaxError from the SDK's parse of a body cut in
 *   half), else `{ error }` (a network failure).
 * Anything else (a bug in the agent's own code, a value that is not an error) throws
 * AgentvisorError `invalid-failure`: rethrow it rather than fall back on it.
 * Turn the SDK's own retries off (`maxRetries: 0`) so agentvisor decides.
 *
 * @example
 * try {
 *   agent.reportUsage(usageFromAnthropic(await client.messages.create({ model, max_tokens: 1024, messages })));
 * } catch (error) {
 *   const outcome = await agent.reportFailure(reportFailureFrom(error)); // e.g. { action: 'fallback', kind: 'overloaded', to: 'openai' }
 * }
 */
export function reportFailureFrom(error: unknown): FailureReport {
  if (!isRecord(error)) throw notAFailure(`needs the error an SDK call threw, got ${shapeOf(error)}`, error);
  if (error.object === 'response') {
    if (error.status === 'failed' && isRecord(error.error)) return streamFailure({ error: error.error }, undefined);
    if (typeof error.status === 'string' && UNFINISHED_RESPONSE.has(error.status))
      return {
        kind: 'truncated',
        message: `the response stream ended before response.completed (status ${error.status})`,
      };
    throw notAFailure(`a response with status ${JSON.stringify(error.status)} is not a failure`, error);
  }
  const { status } = error;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) {
    const headers = headersOf(error.headers);
    const body = bodyOf(error.error);
    return {
      status,
      ...(headers === undefined ? {} : { headers }),
      ...(body === undefined ? {} : { body }),
      ...messageOf(error),
    };
  }
  if ((status === undefined || status === null) && isRecord(error.error))
    return streamFailure(bodyOf(error.error), headersOf(error.headers));
  if (!(error instanceof Error) && !(typeof error.name === 'string' && typeof error.message === 'string')) {
    throw notAFailure(`needs the error an SDK call threw, got ${shapeOf(error)}`, error);
  }
  const { names, texts, errno } = chain(error);
  if (names.some((name) => TIMEOUT_NAME.test(name))) return { error, kind: 'timeout', ...messageOf(error) };
  if (texts.some((text) => TRUNCATED_TEXT.test(text)) || isCutBody(error))
    return { error, kind: 'truncated', ...messageOf(error) };
  if (isSdkApiError(error) || errno || texts.includes('fetch failed')) return { error, ...messageOf(error) };
  const said = safeFailureMessage(`${names[0] ?? 'Error'}: ${texts[0] ?? ''}`);
  throw notAFailure(`not a provider or connection failure (${said}): rethrow it`, error);
}
