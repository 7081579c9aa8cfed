/**
 * The PKCE login's redirect URI and endpoints as Claude Code 2.1.197 sends them: the test plays the
 * browser by opening exactly the `redirect_uri` of the authorize URL, and the loopback fake token
 * endpoint (test/helpers/fakeOAuthServer.ts) records the code exchange, whose `redirect_uri` must be
 * the same string.
 */
import http from 'node:http';
import util from 'node:util';
import { isAgentvisorError } from '../../src/errors';
import { CLAUDE_OAUTH_DEFAULTS, startPkceLogin } from '../../src/oauth';
import type { PkceLogin, PkceLoginOptions } from '../../src/oauth';
import { startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';

const CODE = 'test-authorization-code-7f3a';

let server: FakeOAuthServer;
let logins: PkceLogin[];
let seen: unknown[];

beforeEach(async () => {
  server = await startFakeOAuthServer();
  logins = [];
  seen = [];
});

afterEach(async () => {
  for (const login of logins) login.cancel();
  for (const item of seen) expect(util.inspect(item, { depth: 10 })).not.toContain(CODE);
  await server.close();
});

/** The browser: one GET of exactly this URL, no keep-alive. */
function browse(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function start(overrides: Partial<PkceLoginOptions> = {}): Promise<{ login: PkceLogin; authorize: URL }> {
  const login = await startPkceLogin({
    ...CLAUDE_OAUTH_DEFAULTS,
    tokenEndpoint: server.url,
    profileUrl: null,
    ...overrides,
  });
  logins.push(login);
  return { login, authorize: new URL(login.url) };
}

/** Comes back to exactly the `redirect_uri` the authorize URL carries, with the code and the login's state. */
async function comeBack(authorize: URL): Promise<{ redirectUri: string; page: { status: number; body: string } }> {
  const redirectUri = authorize.searchParams.get('redirect_uri') ?? '';
  const callback = new URL(redirectUri);
  callback.searchParams.set('code', CODE);
  callback.searchParams.set('state', authorize.searchParams.get('state') ?? '');
  return { redirectUri, page: await browse(callback.href) };
}

describe('startPkceLogin redirect URI', () => {
  it("should send Claude Code's http://localhost:<port>/callback, serve exactly that URI, and exchange the code with it", async () => {
    const { login, authorize } = await start();
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://claude.com/cai/oauth/authorize');
    expect(authorize.searchParams.get('code')).toBe('true');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`http://localhost:${login.port}/callback`);
    expect(login.redirectUri).toBe(authorize.searchParams.get('redirect_uri'));

    const { redirectUri, page } = await comeBack(authorize);
    // The listener took the browser's request and went on to the exchange, which this fake refuses.
    expect(page.status).toBe(400);
    expect(page.body).toContain('The authorization code was rejected');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.body).toMatchObject({
      grant_type: 'authorization_code',
      code: CODE,
      redirect_uri: redirectUri,
      client_id: CLAUDE_OAUTH_DEFAULTS.clientId,
    });
    const error = await login.result.then(
      () => null,
      (e: unknown) => e,
    );
    seen.push(error);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      reason: 'invalid-grant',
      endpoint: server.url,
      status: 400,
    });
  });

  it('should send and serve http://127.0.0.1:<port>/callback with redirectHost 127.0.0.1, and refuse any other host', async () => {
    const { login, authorize } = await start({ redirectHost: '127.0.0.1' });
    expect(login.redirectUri).toBe(`http://127.0.0.1:${login.port}/callback`);
    const { redirectUri, page } = await comeBack(authorize);
    expect(redirectUri).toBe(login.redirectUri);
    expect(page.status).toBe(400);
    expect(server.requests[0]?.body).toMatchObject({ redirect_uri: login.redirectUri });
    seen.push(await login.result.catch((e: unknown) => e));

    const refused = await startPkceLogin({ ...CLAUDE_OAUTH_DEFAULTS, redirectHost: 'example.com' as '127.0.0.1' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAgentvisorError(refused, 'invalid-option')).toBe(true);
    expect((refused as { details: Record<string, unknown> }).details).toEqual({ field: 'redirectHost' });
  });
});
