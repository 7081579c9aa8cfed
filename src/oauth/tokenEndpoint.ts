import { Secret } from '../../machines/secret';
import { AgentvisorError, errnoOf } from '../errors';
import { decodeJwtClaims } from '../credentials/sources/jwt';
import { MAX_HTTP_BODY_BYTES, readBoundedBody } from '../storage/boundedRead';
import { maskUrl } from '../providers/maskUrl';
import { parseRetryAfterMs } from '../providers/rateLimitHeaders';

/** The fetch this module calls; `globalThis.fetch` unless a test or host passes its own. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface RefreshGrantRequest {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly refreshToken: Secret;
  /** Sent only when given (Codex sends `openid profile email`; Anthropic sends none). */
  readonly scope?: string;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly fetch: FetchLike;
}

/** A token endpoint's successful answer, secrets wrapped. */
export interface GrantedTokens {
  readonly accessToken: Secret;
  /** The rotated refresh token, or `null` when the server did not rotate it. */
  readonly refreshToken: Secret | null;
  /** From `expires_in`, else from the access token's JWT `exp` claim, else `null` (unknown). */
  readonly expiresAt: number | null;
  /** OpenID Connect servers (Codex) answer an `id_token`. */
  readonly idToken: Secret | null;
  readonly scope: string | null;
  /** Anthropic answers the account the tokens belong to (`account {uuid, email_address}`). */
  readonly account: OAuthAccount | null;
  /** Anthropic answers the organization (`organization {uuid, name}`). */
  readonly organization: OAuthOrganization | null;
}

/** Non-secret account facts from a token answer. */
export interface OAuthAccount {
  readonly uuid: string;
  readonly emailAddress: string | null;
}

export interface OAuthOrganization {
  readonly uuid: string;
  readonly name: string | null;
  /** The plan (`organization_type`, e.g. `claude_max`), present only when the answer names one. */
  readonly organizationType?: string;
}

export type GrantOutcome =
  | { readonly kind: 'granted'; readonly tokens: GrantedTokens }
  /** 400/401 or `invalid_grant`: the refresh token is dead (used, revoked or expired). */
  | { readonly kind: 'rejected'; readonly status: number; readonly oauthError: string | null };

/** An OAuth `error` value is a short ASCII code; anything else is not echoed into errors. */
function safeOauthError(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

function refreshFailed(
  endpoint: string,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
  retryAfterMs = 5_000,
): AgentvisorError {
  return new AgentvisorError(
    'token-refresh-failed',
    `Could not refresh the OAuth access token at ${maskUrl(endpoint)}: ${message} The stored credentials were left as they are; try again.`,
    {
      retryAfterMs,
      details: { endpoint: maskUrl(endpoint), reason, ...extra },
    },
  );
}

function parseExpiresIn(value: unknown): number | null {
  const seconds =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function jwtExpiry(token: string): number | null {
  const exp = decodeJwtClaims(token)?.exp;
  return typeof exp === 'number' && exp > 0 ? dateMs(exp * 1000) : null;
}

/** The latest instant a `Date` holds (ECMA-262 time values), so `toISOString` never throws. */
const MAX_DATE_MS = 8.64e15;

/**
 * `ms` when a date can hold it, else null (unknown). An absurd expiry from a server must not make
 * the write of the rotated tokens throw: the old refresh token is already spent.
 */
function dateMs(ms: number): number | null {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Builds the error for a failed token request; the refresher and the login word theirs differently. */
type GrantFailure = (
  reason: string,
  message: string,
  extra?: Record<string, unknown>,
  retryAfterMs?: number,
) => AgentvisorError;

interface TokenRequest {
  readonly endpoint: string;
  readonly body: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly fetch: FetchLike;
  /** Aborts the request early (the login's `cancel()`); it then fails as `network`. */
  readonly signal?: AbortSignal;
  readonly fail: GrantFailure;
}

function parseAccount(value: unknown): OAuthAccount | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const account = value as Record<string, unknown>;
  const uuid = nonEmptyString(account.uuid);
  return uuid === null ? null : { uuid, emailAddress: nonEmptyString(account.email_address) };
}

function parseOrganization(value: unknown): OAuthOrganization | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const organization = value as Record<string, unknown>;
  const uuid = nonEmptyString(organization.uuid);
  const organizationType = nonEmptyString(organization.organization_type);
  if (uuid === null) return null;
  return organizationType === null
    ? { uuid, name: nonEmptyString(organization.name) }
    : { uuid, name: nonEmptyString(organization.name), organizationType };
}

/**
 * One POST to a token endpoint with a JSON body (the Anthropic and Codex endpoints take JSON, not
 * the RFC 6749 form encoding), bounded by `timeoutMs` for the whole exchange including the body.
 * Network faults, timeouts, 5xx, 429 and malformed answers throw `request.fail(...)`; 400/401 or
 * `invalid_grant` is returned as `rejected`. No error quotes a token or the server's body.
 */
async function postTokenRequest(request: TokenRequest): Promise<GrantOutcome> {
  const { endpoint, fail } = request;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, request.timeoutMs);
  const onAbort = (): void => controller.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted === true) controller.abort();
  let status: number;
  let text: string;
  let retryAfterHeader: string | null;
  let overLimit = false;
  try {
    const response = await request.fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request.body),
      redirect: 'manual',
      signal: controller.signal,
    });
    status = response.status;
    retryAfterHeader = response.headers.get('retry-after');
    ({ text, overLimit } = await readBoundedBody(response, MAX_HTTP_BODY_BYTES));
  } catch (error) {
    // The underlying error is not kept as `cause`: it is not ours to vouch for.
    if (timedOut) {
      throw fail('timeout', `the token endpoint did not answer within ${request.timeoutMs} ms.`, {
        timeoutMs: request.timeoutMs,
      });
    }
    const errno = errnoOf(error);
    throw fail(
      'network',
      `the connection failed${errno === null ? '' : ` (${errno})`}.`,
      errno === null ? {} : { errno },
    );
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }

  if (overLimit) {
    throw fail(
      'bad-response',
      `the answer (HTTP ${status}) was larger than ${MAX_HTTP_BODY_BYTES / 1024 / 1024} MB; it was not read past that.`,
      { status },
    );
  }
  let json: Record<string, unknown> | null = null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) json = value as Record<string, unknown>;
  } catch {
    json = null;
  }
  const oauthError = safeOauthError(json?.error);

  if (status === 400 || status === 401 || oauthError === 'invalid_grant') {
    return { kind: 'rejected', status, oauthError };
  }
  if (status < 200 || status >= 300) {
    const retryAfterMs = parseRetryAfterMs(retryAfterHeader, request.now()) ?? (status === 429 ? 30_000 : 5_000);
    throw fail(
      status === 429 ? 'rate-limited' : 'http-status',
      `the token endpoint answered HTTP ${status}${oauthError === null ? '' : ` (${oauthError})`}.`,
      { status, ...(oauthError === null ? {} : { oauthError }) },
      retryAfterMs,
    );
  }
  const access = nonEmptyString(json?.access_token);
  if (json === null || access === null) {
    throw fail('bad-response', 'the answer was not a JSON object with an access_token.', { status });
  }
  const refresh = nonEmptyString(json.refresh_token);
  const idToken = nonEmptyString(json.id_token);
  const expiresIn = parseExpiresIn(json.expires_in);
  return {
    kind: 'granted',
    tokens: {
      accessToken: new Secret(access),
      refreshToken: refresh === null ? null : new Secret(refresh),
      expiresAt: expiresIn !== null ? dateMs(request.now() + expiresIn * 1000) : jwtExpiry(access),
      idToken: idToken === null ? null : new Secret(idToken),
      scope: nonEmptyString(json.scope),
      account: parseAccount(json.account),
      organization: parseOrganization(json.organization),
    },
  };
}

/**
 * One `refresh_token` grant (see `postTokenRequest`). Network faults, timeouts, 5xx, 429 and
 * malformed answers throw `token-refresh-failed`; a rejected refresh token (400/401,
 * `invalid_grant`) is returned as `rejected` so the caller can look for another process's newer
 * tokens. No error quotes a token or the server's body.
 */
export async function requestRefreshGrant(request: RefreshGrantRequest): Promise<GrantOutcome> {
  const endpoint = request.tokenEndpoint;
  const body: Record<string, string> = {
    grant_type: 'refresh_token',
    refresh_token: request.refreshToken.reveal(),
    client_id: request.clientId,
  };
  if (request.scope !== undefined) body.scope = request.scope;
  return postTokenRequest({
    endpoint,
    body,
    timeoutMs: request.timeoutMs,
    now: request.now,
    fetch: request.fetch,
    fail: (reason, message, extra, retryAfterMs) => refreshFailed(endpoint, reason, message, extra, retryAfterMs),
  });
}

export interface AuthorizationCodeGrantRequest {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** The `code` the authorization server sent to the redirect URI. */
  readonly code: Secret;
  /** The PKCE verifier whose S256 challenge went into the authorize URL. */
  readonly codeVerifier: Secret;
  /** Exactly the `redirect_uri` of the authorize URL. */
  readonly redirectUri: string;
  /** The `state` of the authorize URL (Claude Code sends it with the code). */
  readonly state: string;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly fetch: FetchLike;
  readonly signal?: AbortSignal;
}

/**
 * The one place the `authorization_code` grant body is built: JSON, with `state`, as Claude Code
 * sends it to the Anthropic endpoint.
 */
export function authorizationCodeGrantBody(
  request: Pick<AuthorizationCodeGrantRequest, 'clientId' | 'code' | 'codeVerifier' | 'redirectUri' | 'state'>,
): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code: request.code.reveal(),
    redirect_uri: request.redirectUri,
    client_id: request.clientId,
    code_verifier: request.codeVerifier.reveal(),
    state: request.state,
  };
}

/**
 * Exchanges an authorization code (PKCE) for tokens. Failures to reach the endpoint, timeouts,
 * 429, 5xx and malformed answers throw `auth-failed` (`details.reason` as for the refresher);
 * a rejected code (400/401, `invalid_grant`) is returned as `rejected`.
 */
export async function requestAuthorizationCodeGrant(request: AuthorizationCodeGrantRequest): Promise<GrantOutcome> {
  const endpoint = request.tokenEndpoint;
  return postTokenRequest({
    endpoint,
    body: authorizationCodeGrantBody(request),
    timeoutMs: request.timeoutMs,
    now: request.now,
    fetch: request.fetch,
    signal: request.signal,
    fail: (reason, message, extra = {}, retryAfterMs = 5_000) =>
      new AgentvisorError(
        'auth-failed',
        `Could not complete the OAuth login at ${maskUrl(endpoint)}: ${message} Nothing was stored; start the login again.`,
        {
          retryAfterMs,
          details: { endpoint: maskUrl(endpoint), reason, ...extra },
        },
      ),
  });
}
