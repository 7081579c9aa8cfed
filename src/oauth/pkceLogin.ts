import { randomBytes } from 'node:crypto';
import type * as Http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { maskUrl } from '../providers/maskUrl';
import { loadModule } from '../observability/lazyModule';
import { loginTier } from './claudeProfile';
import { base64url, loginFailed, page, s256, safeOauthError, sameText } from './pkceCallback';
import { pkceLoginSettings } from './pkceLoginInput';
import type { LoginTokens, PkceLogin, PkceLoginOptions } from './pkceLoginTypes';
import { requestAuthorizationCodeGrant } from './tokenEndpoint';

export { CLAUDE_OAUTH_DEFAULTS, REDIRECT_HOSTS } from './pkceLoginTypes';
export type { LoginTokens, PkceLogin, PkceLoginOptions } from './pkceLoginTypes';
export { saveClaudeLogin } from './saveClaudeLogin';
export type { SaveClaudeLoginOptions } from './saveClaudeLogin';

/** Claude Code's own bound on the profile request. */
const PROFILE_TIMEOUT_MS = 10_000;
const CALLBACK_PATH = '/callback';

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
  const {
    authorize,
    tokenEndpoint,
    profileUrl,
    redirectHost,
    timeoutMs,
    exchangeTimeoutMs,
    now,
    fetch: doFetch,
    scope,
  } = pkceLoginSettings(options);

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

  const server = loadModule<typeof Http>('node:http').createServer();
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
  function answerAndFinish(
    res: Http.ServerResponse,
    status: number,
    html: string,
    outcome: { tokens: LoginTokens } | { error: AgentvisorError },
  ): void {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(html, () => finish(outcome));
  }

  function answer(res: Http.ServerResponse, status: number, html: string): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  }

  async function exchange(res: Http.ServerResponse, code: Secret): Promise<void> {
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
      const failure =
        error instanceof AgentvisorError
          ? error
          : loginFailed('network', `Could not complete the OAuth login at ${tokenEndpoint}.`);
      answerAndFinish(
        res,
        502,
        page('Login failed', 'The token exchange failed. You can close this window and try again.'),
        { error: failure },
      );
      return;
    }
    if (outcome.kind === 'rejected') {
      const answered = `HTTP ${outcome.status}${outcome.oauthError === null ? '' : `, ${outcome.oauthError}`}`;
      const error = loginFailed(
        'invalid-grant',
        `The token endpoint ${maskUrl(tokenEndpoint)} rejected the authorization code (${answered}).`,
        {
          endpoint: maskUrl(tokenEndpoint),
          status: outcome.status,
          ...(outcome.oauthError === null ? {} : { oauthError: outcome.oauthError }),
        },
      );
      answerAndFinish(
        res,
        400,
        page('Login failed', 'The authorization code was rejected. You can close this window and try again.'),
        { error },
      );
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

  server.on('request', (req: Http.IncomingMessage, res: Http.ServerResponse) => {
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
      answer(
        res,
        409,
        page('Login already handled', 'This login has already received its answer. You can close this window.'),
      );
      return;
    }
    const params = url.searchParams;
    const given = params.get('state');
    if (given === null || !sameText(given, state)) {
      answerAndFinish(
        res,
        400,
        page('Login failed', 'The login answer did not match this login (state mismatch). Start the login again.'),
        {
          error: loginFailed(
            'state-mismatch',
            'The OAuth callback carried a state that does not match this login (a stale or forged answer); it was refused.',
          ),
        },
      );
      return;
    }
    const oauthError = params.get('error');
    if (oauthError !== null) {
      const code = safeOauthError(oauthError);
      const denied = code === 'access_denied';
      const text = denied
        ? 'Access was denied. You can close this window.'
        : 'The authorization server reported an error. You can close this window.';
      const message = denied
        ? 'The OAuth login was denied in the browser (access_denied).'
        : `The authorization server answered the login with an error${code === null ? '' : ` (${code})`}.`;
      answerAndFinish(res, 400, page('Login failed', text), {
        error: loginFailed(
          denied ? 'access-denied' : 'authorization-error',
          message,
          code === null ? {} : { oauthError: code },
        ),
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
      const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
      const errno = typeof code === 'string' ? code : 'unknown';
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
    finish({
      error: loginFailed(
        'timeout',
        `The OAuth login did not complete within ${timeoutMs} ms; the callback server was closed.`,
        { timeoutMs },
      ),
    });
  }, timeoutMs);
  const cancel = (): void =>
    finish({ error: loginFailed('cancelled', 'The OAuth login was cancelled; the callback server was closed.') });

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
