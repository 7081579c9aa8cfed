import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { updateJsonFile } from '../storage/secureStore';
import type { JsonRecord } from '../storage/secureStore';
import { CLAUDE_AUTH_FILE, CLAUDE_AUTH_SCHEMA_VERSION } from '../credentials/sources/claudeAuthFile';
import { CLAUDE_PROFILE_URL, defaultProfileUrl, loginTier } from './claudeProfile';
import type { TierSource } from './claudeProfile';
import { requestAuthorizationCodeGrant } from './tokenEndpoint';
import type { FetchLike, OAuthAccount, OAuthOrganization } from './tokenEndpoint';

/**
 * Anthropic OAuth as Claude Code uses it (reverse-engineered, unofficial): the values of Claude Code
 * 2.1.197's "log in with your Claude subscription" (its authorize URL with `code=true`, its token
 * URL, client id and scopes). Configuration, never hard-wired: `startPkceLogin` takes every value
 * as an option; spread these and override any that change.
 */
export const CLAUDE_OAUTH_DEFAULTS = {
  authorizeUrl: 'https://claude.com/cai/oauth/authorize?code=true',
  tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  scopes: ['org:create_api_key', 'user:profile', 'user:inference', 'user:sessions:claude_code', 'user:mcp_servers', 'user:file_upload'],
  profileUrl: CLAUDE_PROFILE_URL,
} as const satisfies { authorizeUrl: string; tokenEndpoint: string; clientId: string; scopes: readonly string[]; profileUrl: string };

/** The host names `redirect_uri` may carry; both reach the callback server on 127.0.0.1. */
export const REDIRECT_HOSTS = ['localhost', '127.0.0.1'] as const;

export interface PkceLoginOptions {
  readonly authorizeUrl: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** How long to wait for the browser's callback (and the code exchange). Default 5 minutes. */
  readonly timeoutMs?: number;
  /** Bound on the code exchange request. Default 10 s (never past the login's own deadline). */
  readonly exchangeTimeoutMs?: number;
  /**
   * Where the login's subscription tier is asked when the token answer does not name it (GET with
   * the new access token, as Claude Code does); `null` asks nowhere. Default: Anthropic's profile
   * for Anthropic's token endpoints, else `/api/oauth/profile` on `tokenEndpoint`'s origin.
   */
  readonly profileUrl?: string | null;
  /**
   * The host in `redirect_uri` (`http://<host>:<port>/callback`). The callback server listens on
   * 127.0.0.1 either way; `localhost` is what Claude Code sends, and what the authorization server
   * expects for its client id.
   * @default 'localhost'
   */
  readonly redirectHost?: (typeof REDIRECT_HOSTS)[number];
  /** Called once with the authorize URL when given; agentvisor never opens a browser by itself. */
  readonly openBrowser?: (url: string) => void;
  /** Default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** Wall-clock time (epoch ms) for `expiresAt`. Default `Date.now`. */
  readonly clock?: { now(): number };
}

/** What a completed login gives. Tokens stay inside `Secret`s. */
export interface LoginTokens {
  readonly accessToken: Secret;
  readonly refreshToken: Secret | null;
  /** Epoch milliseconds from `expires_in`; `null` when the server did not say. */
  readonly expiresAt: number | null;
  /** The scope the server granted, else the scopes asked for (space-separated). */
  readonly scope: string;
  readonly account?: OAuthAccount;
  readonly organization?: OAuthOrganization;
  /** The subscription tier (`max`, `pro`, `team`, `enterprise`), `null` when neither the answer nor the profile said. */
  readonly tier: string | null;
  /** Where `tier` came from. */
  readonly tierSource: TierSource;
}

export interface PkceLogin {
  /** The authorize URL to open in a browser. */
  readonly url: string;
  /** The loopback callback server's port (on 127.0.0.1). */
  readonly port: number;
  /** The `redirect_uri` sent in the authorize URL and the code exchange: `http://localhost:<port>/callback` by default. */
  readonly redirectUri: string;
  /** Settles once; the callback server is closed before it does. */
  readonly result: Promise<LoginTokens>;
  /** Closes the callback server and rejects `result` (`auth-failed`, `details.reason: 'cancelled'`). Idempotent. */
  cancel(): void;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_EXCHANGE_TIMEOUT_MS = 10_000;
/** Claude Code's own bound on the profile request. */
const PROFILE_TIMEOUT_MS = 10_000;
const CALLBACK_PATH = '/callback';

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

function checkHttpUrl(field: string, value: unknown): URL {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' ? new URL(value) : null;
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw invalid(field, `${field} must be an absolute http(s) URL.`);
  return url;
}

function checkPositive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw invalid(field, `${field} must be a positive number of milliseconds.`);
  return value;
}

const base64url = (bytes: Buffer): string => bytes.toString('base64url');

/** RFC 7636 S256: BASE64URL(SHA-256(ASCII(verifier))). */
function s256(verifier: string): string {
  return base64url(createHash('sha256').update(verifier, 'ascii').digest());
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** An OAuth `error` value is a short ASCII code; anything else is not echoed. */
function safeOauthError(value: string | null): string | null {
  return value !== null && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

/** Fixed pages: nothing from the request is reflected into them. */
function page(title: string, text: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

function loginFailed(reason: string, message: string, extra: Record<string, unknown> = {}): AgentvisorError {
  return new AgentvisorError('auth-failed', `${message} Nothing was stored; start the login again.`, { details: { reason, ...extra } });
}

/**
 * Starts an OAuth authorization-code login with PKCE (S256) and a loopback redirect, as Claude
 * Code does: a callback server on 127.0.0.1 (random port) with `redirect_uri`
 * `http://localhost:<port>/callback`, an authorize URL with a fresh verifier
 * challenge and `state`, and, when the browser comes back with the right `state`, a code exchange
 * (JSON body) at `tokenEndpoint`, then the subscription tier (`loginTier`: the answer's
 * organization, else one GET of `profileUrl`). The server is closed on every outcome: success, a wrong
 * `state` (400, `state-mismatch`), an authorization error such as `access_denied`, a rejected code,
 * the timeout, or `cancel()`. Failures reject `result` with `auth-failed` (`details.reason`).
 *
 * @example
 * const login = await startPkceLogin({ ...CLAUDE_OAUTH_DEFAULTS, openBrowser: (url) => console.log(`Open ${url}`) });
 * const tokens = await login.result; // tokens.tier: 'max' for a Max plan
 * await saveClaudeLogin(codexHome, tokens);
 */
export async function startPkceLogin(options: PkceLoginOptions): Promise<PkceLogin> {
  const authorize = checkHttpUrl('authorizeUrl', options.authorizeUrl);
  const tokenEndpoint = checkHttpUrl('tokenEndpoint', options.tokenEndpoint).href;
  const profileUrl = options.profileUrl === null ? null : options.profileUrl === undefined ? defaultProfileUrl(tokenEndpoint) : checkHttpUrl('profileUrl', options.profileUrl).href;
  if (typeof options.clientId !== 'string' || options.clientId === '') throw invalid('clientId', 'clientId must be a non-empty string.');
  if (!Array.isArray(options.scopes) || options.scopes.length === 0 || !options.scopes.every((s) => typeof s === 'string' && /^[\x21-\x7e]+$/.test(s))) {
    throw invalid('scopes', 'scopes must be a non-empty list of scope names without spaces.');
  }
  const redirectHost = options.redirectHost ?? 'localhost';
  if (!(REDIRECT_HOSTS as readonly string[]).includes(redirectHost)) throw invalid('redirectHost', `redirectHost must be one of ${REDIRECT_HOSTS.join(', ')}.`);
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const exchangeTimeoutMs = checkPositive('exchangeTimeoutMs', options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS);
  const now = (): number => (options.clock ? options.clock.now() : Date.now());
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const scope = options.scopes.join(' ');

  const verifier = new Secret(base64url(randomBytes(64))); // 86 characters
  const state = base64url(randomBytes(32));
  const exchangeAbort = new AbortController();
  const sockets = new Set<Socket>();
  let settled = false;
  let exchanging = false;
  let resolveResult!: (tokens: LoginTokens) => void;
  let rejectResult!: (error: AgentvisorError) => void;
  const result = new Promise<LoginTokens>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  // A caller that cancels need not await `result`: its rejection must not be an unhandled one.
  result.catch(() => undefined);

  const server = http.createServer();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /** Closes the server (every connection too) and then settles `result`, once. */
  function finish(outcome: { tokens: LoginTokens } | { error: AgentvisorError }): void {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    exchangeAbort.abort();
    server.close(() => {
      if ('tokens' in outcome) resolveResult(outcome.tokens);
      else rejectResult(outcome.error);
    });
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  }

  /** Sends a final page, then finishes once the page has been written. */
  function answerAndFinish(res: http.ServerResponse, status: number, html: string, outcome: { tokens: LoginTokens } | { error: AgentvisorError }): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
    res.end(html, () => finish(outcome));
  }

  function answer(res: http.ServerResponse, status: number, html: string): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  }

  async function exchange(res: http.ServerResponse, code: Secret): Promise<void> {
    let outcome;
    try {
      outcome = await requestAuthorizationCodeGrant({
        tokenEndpoint,
        clientId: options.clientId,
        code,
        codeVerifier: verifier,
        redirectUri,
        state,
        timeoutMs: Math.min(exchangeTimeoutMs, Math.max(1, deadline - Date.now())),
        now,
        fetch: doFetch,
        signal: exchangeAbort.signal,
      });
    } catch (error) {
      const failure = error instanceof AgentvisorError ? error : loginFailed('network', `Could not complete the OAuth login at ${tokenEndpoint}.`);
      answerAndFinish(res, 502, page('Login failed', 'The token exchange failed. You can close this window and try again.'), { error: failure });
      return;
    }
    if (outcome.kind === 'rejected') {
      const error = loginFailed('invalid-grant', `The token endpoint ${tokenEndpoint} rejected the authorization code (HTTP ${outcome.status}${outcome.oauthError === null ? '' : `, ${outcome.oauthError}`}).`, {
        endpoint: tokenEndpoint,
        status: outcome.status,
        ...(outcome.oauthError === null ? {} : { oauthError: outcome.oauthError }),
      });
      answerAndFinish(res, 400, page('Login failed', 'The authorization code was rejected. You can close this window and try again.'), { error });
      return;
    }
    const granted = outcome.tokens;
    // The tier ranks the login (a Max login before a ChatGPT one); a login without it still stands.
    const { tier, source: tierSource } = await loginTier({
      organization: granted.organization,
      accessToken: granted.accessToken,
      profileUrl,
      timeoutMs: Math.min(PROFILE_TIMEOUT_MS, Math.max(1, deadline - Date.now())),
      fetch: doFetch,
      signal: exchangeAbort.signal,
    });
    const tokens: LoginTokens = {
      accessToken: granted.accessToken,
      refreshToken: granted.refreshToken,
      expiresAt: granted.expiresAt,
      scope: granted.scope ?? scope,
      ...(granted.account === null ? {} : { account: granted.account }),
      ...(granted.organization === null ? {} : { organization: granted.organization }),
      tier,
      tierSource,
    };
    answerAndFinish(res, 200, page('Login complete', 'You are logged in. You can close this window.'), { tokens });
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== CALLBACK_PATH) {
      answer(res, 404, page('Not found', 'This is the login callback server.'));
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      answer(res, 405, page('Method not allowed', 'The login callback takes GET.'));
      return;
    }
    if (settled || exchanging) {
      answer(res, 409, page('Login already handled', 'This login has already received its answer. You can close this window.'));
      return;
    }
    const params = url.searchParams;
    const given = params.get('state');
    if (given === null || !sameText(given, state)) {
      answerAndFinish(res, 400, page('Login failed', 'The login answer did not match this login (state mismatch). Start the login again.'), {
        error: loginFailed('state-mismatch', 'The OAuth callback carried a state that does not match this login (a stale or forged answer); it was refused.'),
      });
      return;
    }
    const oauthError = params.get('error');
    if (oauthError !== null) {
      const code = safeOauthError(oauthError);
      const denied = code === 'access_denied';
      answerAndFinish(res, 400, page('Login failed', denied ? 'Access was denied. You can close this window.' : 'The authorization server reported an error. You can close this window.'), {
        error: loginFailed(denied ? 'access-denied' : 'authorization-error', denied ? 'The OAuth login was denied in the browser (access_denied).' : `The authorization server answered the login with an error${code === null ? '' : ` (${code})`}.`, code === null ? {} : { oauthError: code }),
      });
      return;
    }
    const code = params.get('code');
    if (code === null || code === '') {
      answerAndFinish(res, 400, page('Login failed', 'The login answer carried no authorization code.'), {
        error: loginFailed('missing-code', 'The OAuth callback carried no authorization code.'),
      });
      return;
    }
    exchanging = true;
    void exchange(res, new Secret(code));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown): void => {
      const errno = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'unknown';
      reject(loginFailed('listen', `Could not start the OAuth callback server on 127.0.0.1 (${errno}).`, { errno }));
    };
    server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://${redirectHost}:${port}${CALLBACK_PATH}`;
  const deadline = Date.now() + timeoutMs;

  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('client_id', options.clientId);
  authorize.searchParams.set('redirect_uri', redirectUri);
  authorize.searchParams.set('scope', scope);
  authorize.searchParams.set('code_challenge', s256(verifier.reveal()));
  authorize.searchParams.set('code_challenge_method', 'S256');
  authorize.searchParams.set('state', state);
  const url = authorize.href;

  // Set before any request can arrive: requests are handled only after this function returns to the event loop.
  const timer = setTimeout(() => {
    finish({ error: loginFailed('timeout', `The OAuth login did not complete within ${timeoutMs} ms; the callback server was closed.`, { timeoutMs }) });
  }, timeoutMs);
  const cancel = (): void => finish({ error: loginFailed('cancelled', 'The OAuth login was cancelled; the callback server was closed.') });

  if (options.openBrowser) {
    try {
      options.openBrowser(url);
    } catch (error) {
      cancel();
      throw error;
    }
  }
  return { url, port, redirectUri, result, cancel };
}

export interface SaveClaudeLoginOptions {
  /** `subscription_tier` (`max`, `pro`...). @default the login's own `tier`; omitted when neither says */
  readonly tier?: string;
  /** A symlinked file must resolve inside this folder. Default `os.homedir()`. */
  readonly userHome?: string;
  readonly lockTimeoutMs?: number;
}

/**
 * Stores a login's tokens as `oauth_tokens` in `<home>/claude_auth.json` (home: the folder,
 * usually `$CODEX_HOME`) with `schema_version: 1`, and its tier as `subscription_tier` (what ranks
 * a Max login as Max): a locked, atomic 0600 write that keeps every
 * other top-level key. `oauth_tokens` is replaced as a whole (a new login is a new credential).
 * A file with a newer `schema_version` is refused (`invalid-credentials-file`) and left as it is.
 *
 * @example
 * await saveClaudeLogin(process.env.CODEX_HOME ?? path.join(os.homedir(), '.codex'), tokens, { tier: 'max' });
 */
export async function saveClaudeLogin(home: string, tokens: LoginTokens, options: SaveClaudeLoginOptions = {}): Promise<{ file: string; warnings: readonly string[] }> {
  const file = path.resolve(home, CLAUDE_AUTH_FILE);
  const oauth: JsonRecord = { access_token: tokens.accessToken.reveal() };
  if (tokens.refreshToken !== null) oauth.refresh_token = tokens.refreshToken.reveal();
  if (tokens.expiresAt !== null) oauth.expires_at = new Date(tokens.expiresAt).toISOString();
  const tier = options.tier ?? tokens.tier;
  if (typeof tier === 'string') oauth.subscription_tier = tier;
  oauth.scope = tokens.scope;
  const { warnings } = await updateJsonFile(
    file,
    (current) => {
      const version = current?.schema_version;
      if (typeof version === 'number' && version > CLAUDE_AUTH_SCHEMA_VERSION) {
        throw new AgentvisorError('invalid-credentials-file', `Credentials file ${file} has schema_version ${version}, but this agentvisor writes ${CLAUDE_AUTH_SCHEMA_VERSION}. Upgrade agentvisor (npm install agentvisor@latest). The file was left as it is.`, {
          details: { file, reason: 'schema-version-too-new', schemaVersion: version, supportedSchemaVersion: CLAUDE_AUTH_SCHEMA_VERSION },
        });
      }
      return { ...(current ?? {}), schema_version: CLAUDE_AUTH_SCHEMA_VERSION, oauth_tokens: oauth };
    },
    { home: options.userHome, lockTimeoutMs: options.lockTimeoutMs },
  );
  return { file, warnings };
}
