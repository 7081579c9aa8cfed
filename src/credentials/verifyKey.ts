import type { ProviderId } from '../../machines/providers';
import type { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { MAX_HTTP_BODY_BYTES, readBoundedBody } from '../storage/boundedRead';
import { keyHint, maskKeyLike } from '../providers';
import { checkKeyFormat, providerSpec } from './keyFormat';
import type { KeyKind } from './keyFormat';

export type KeyVerdict = 'ok' | 'auth-failed' | 'rate-limited' | 'unreachable' | 'timeout' | 'server-error';

export interface KeyVerification {
  /**
   * `ok`: the provider accepted the key (2xx). `auth-failed`: it refused the key (401/403), or the key
   * is malformed and was never sent (no `status`). `rate-limited`: 429, the key is valid but limited
   * or out of quota (`errorType` `insufficient_quota`). `unreachable`: no connection, or a 3xx
   * (redirects are not followed, so the key never travels on). `timeout`: no full answer within
   * `timeoutMs`. `server-error`: 5xx (529 overloaded) or another status that says nothing about the key.
   */
  readonly verdict: KeyVerdict;
  readonly status?: number;
  /** Time from sending the request to the verdict (ms). */
  readonly latencyMs: number;
  /** From `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
  readonly retryAfterMs?: number;
  /** From `anthropic-ratelimit-*-remaining` or `x-ratelimit-remaining-*`, when sent. */
  readonly remaining?: { readonly requests?: number; readonly tokens?: number };
  /** The limits those counts are of, from `anthropic-ratelimit-*-limit` or `x-ratelimit-limit-*`, when sent. */
  readonly limits?: { readonly requests?: number; readonly tokens?: number };
  /** The provider's error type or code (`authentication_error`, `invalid_api_key`, `insufficient_quota`...). */
  readonly errorType?: string;
  /** What went wrong, from the provider's error body; the key appears at most as its hint. */
  readonly message?: string;
}

export interface VerifyKeyOptions {
  readonly provider: ProviderId;
  readonly secret: Secret;
  /** API location without `/v1` (OpenAI: with or without `/v1`). @default https://api.anthropic.com or https://api.openai.com */
  readonly baseUrl?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_BASE_URLS: Readonly<Record<ProviderId, string>> = Object.freeze({
  claude: 'https://api.anthropic.com',
  openai: 'https://api.openai.com',
});

export const ANTHROPIC_VERSION = '2023-06-01';
export const ANTHROPIC_OAUTH_BETA = 'oauth-2025-04-20';
const MAX_MESSAGE_LENGTH = 500;
const MAX_TIMEOUT_MS = 600_000;

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

/** `GET …/v1/models` for the provider; a trailing slash is dropped, and an OpenAI base ending in `/v1` keeps one `/v1`. */
export function modelsUrl(provider: ProviderId, baseUrl?: string): string {
  const given = baseUrl ?? DEFAULT_BASE_URLS[provider];
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw invalid('baseUrl', 'baseUrl is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('baseUrl', `baseUrl must be http: or https:, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw invalid('baseUrl', 'baseUrl must not contain a user name or password');
  if (url.search !== '' || url.hash !== '') throw invalid('baseUrl', 'baseUrl must not contain a query or fragment');
  const path = url.pathname.replace(/\/+$/, '');
  const suffix = provider === 'openai' && path.endsWith('/v1') ? '/models' : '/v1/models';
  return `${url.origin}${path}${suffix}`;
}

function requestHeaders(provider: ProviderId, kind: KeyKind, key: string): Record<string, string> {
  if (provider === 'openai') return { authorization: `Bearer ${key}`, accept: 'application/json' };
  if (kind === 'oauth-access') {
    return {
      authorization: `Bearer ${key}`,
      'anthropic-version': ANTHROPIC_VERSION,
      'anthropic-beta': ANTHROPIC_OAUTH_BETA,
      accept: 'application/json',
    };
  }
  return { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION, accept: 'application/json' };
}

/** Replaces the key (and anything else shaped like a key) with a hint, and bounds the length. */
function mask(text: string, key: string, prefix: string): string {
  let out = key.length > 0 ? text.split(key).join(keyHint(key, prefix)) : text;
  out = maskKeyLike(out);
  return out.length > MAX_MESSAGE_LENGTH ? `${out.slice(0, MAX_MESSAGE_LENGTH)}…` : out;
}

function headerCount(headers: Headers, name: string): number | undefined {
  const value = headers.get(name)?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function retryAfter(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function remainingFrom(
  provider: ProviderId,
  headers: Headers,
  what: 'remaining' | 'limit' = 'remaining',
): KeyVerification['remaining'] {
  const requests = headerCount(
    headers,
    provider === 'claude' ? `anthropic-ratelimit-requests-${what}` : `x-ratelimit-${what}-requests`,
  );
  const tokens = headerCount(
    headers,
    provider === 'claude' ? `anthropic-ratelimit-tokens-${what}` : `x-ratelimit-${what}-tokens`,
  );
  if (requests === undefined && tokens === undefined) return undefined;
  return { ...(requests === undefined ? {} : { requests }), ...(tokens === undefined ? {} : { tokens }) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads Anthropic `{type:'error',error:{type,message}}` and OpenAI `{error:{message,type,code}}`. */
function parseErrorBody(text: string): { message?: string; errorType?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isRecord(body) || !isRecord(body.error)) return {};
  const { message, type, code } = body.error;
  const errorType =
    typeof code === 'string' && code !== '' ? code : typeof type === 'string' && type !== '' ? type : undefined;
  return {
    ...(typeof message === 'string' && message !== '' ? { message } : {}),
    ...(errorType === undefined ? {} : { errorType }),
  };
}

function verdictFor(status: number): KeyVerdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 401 || status === 403) return 'auth-failed';
  if (status === 429) return 'rate-limited';
  if (status >= 300 && status < 400) return 'unreachable';
  return 'server-error';
}

function networkReason(err: unknown): string {
  const cause = isRecord(err) ? err.cause : undefined;
  const code = isRecord(cause) && typeof cause.code === 'string' ? cause.code : undefined;
  if (code !== undefined) return code;
  return err instanceof Error ? err.message : 'network error';
}

/**
 * Checks a key live with `GET {baseUrl}/v1/models`, and never throws for what the network or the
 * provider does: the answer is a verdict with the status, latency, `retry-after` and the remaining
 * rate limits. Claude API keys go as `x-api-key`, Claude OAuth access tokens as `Authorization: Bearer`
 * with `anthropic-beta: oauth-2025-04-20` (never both); both with `anthropic-version: 2023-06-01`.
 * OpenAI keys go as `Authorization: Bearer`. A malformed key (see `checkKeyFormat`: a refresh token,
 * another provider's key...) is never sent: the verdict is `auth-failed` with no `status`. Redirects
 * are not followed. The result never contains the key; the provider's message shows it at most as a hint.
 * Throws `AgentvisorError` `'invalid-option'` only for bad options (provider, secret, baseUrl, timeoutMs).
 *
 * @example
 * const v = await verifyKey({ provider: 'claude', secret: new Secret(process.env.ANTHROPIC_API_KEY ?? '') });
 * if (v.verdict === 'auth-failed') console.error(v.message);
 */
export async function verifyKey(options: VerifyKeyOptions): Promise<KeyVerification> {
  const { provider, secret, baseUrl, timeoutMs = 5000 } = options;
  const spec = providerSpec(provider);
  if (typeof (secret as Partial<Secret> | undefined)?.reveal !== 'function')
    throw invalid('secret', 'secret must be a Secret (new Secret(key))');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw invalid('timeoutMs', `timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  const url = modelsUrl(provider, baseUrl);
  const doFetch = options.fetch ?? fetch;
  if (typeof doFetch !== 'function') throw invalid('fetch', 'fetch must be a function');

  const key = secret.reveal();
  const format = checkKeyFormat(provider, key);
  if (!format.ok) return { verdict: 'auth-failed', latencyMs: 0, message: format.reason };
  const prefix = key.startsWith('sk-ant-') ? 'sk-ant-' : spec.keyPrefix;

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  try {
    const response = await doFetch(url, {
      method: 'GET',
      headers: requestHeaders(provider, format.kind, key),
      redirect: 'manual',
      signal: controller.signal,
    });
    // Only the error message is wanted from the body: an answer past 1 MB is cut there, never read whole.
    const { text, overLimit } = await readBoundedBody(response, MAX_HTTP_BODY_BYTES);
    const latencyMs = elapsed();
    const status = response.status;
    const verdict = verdictFor(status);
    const retryAfterMs = retryAfter(response.headers, Date.now());
    const remaining = remainingFrom(provider, response.headers);
    const limits = remainingFrom(provider, response.headers, 'limit');
    let message: string | undefined;
    let errorType: string | undefined;
    if (verdict !== 'ok') {
      const parsed = parseErrorBody(text);
      errorType = parsed.errorType;
      if (verdict === 'unreachable') {
        message = `${spec.displayName} API answered ${status} with a redirect, which is not followed; set baseUrl to the API's own location`;
      } else {
        message =
          parsed.message ??
          `${spec.displayName} API answered ${status}${response.statusText ? ` ${response.statusText}` : ''}` +
            `${overLimit ? ` with a body larger than ${MAX_HTTP_BODY_BYTES / 1024 / 1024} MB (not read past that)` : ''}`;
      }
      message = mask(message, key, prefix);
    }
    return {
      verdict,
      status,
      latencyMs,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(remaining === undefined ? {} : { remaining }),
      ...(limits === undefined ? {} : { limits }),
      ...(errorType === undefined ? {} : { errorType: mask(errorType, key, prefix) }),
      ...(message === undefined ? {} : { message }),
    };
  } catch (err) {
    const latencyMs = elapsed();
    if (controller.signal.aborted) {
      return {
        verdict: 'timeout',
        latencyMs,
        message: `${spec.displayName} API did not answer within ${timeoutMs} ms`,
      };
    }
    return {
      verdict: 'unreachable',
      latencyMs,
      message: mask(
        `cannot reach the ${spec.displayName} API at ${new URL(url).origin}: ${networkReason(err)}`,
        key,
        prefix,
      ),
    };
  } finally {
    clearTimeout(timer);
  }
}
