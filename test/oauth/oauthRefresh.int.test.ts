import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { updateJsonFile } from '../../src/storage/secureStore';
import { isAgentvisorError } from '../../src/errors';
import type { ErrorCode } from '../../src/errors';
import { claudeAuthTokens, createTokenRefresher } from '../../src/oauth';
import type { TokenRefresherOptions } from '../../src/oauth';
import { newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';

const REPO_ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(REPO_ROOT, 'test', 'helpers', 'oauthRefreshWorker.ts');
const run = util.promisify(execFile);
const MINUTE = 60_000;

let tmp: string;
let home: string;
let file: string;
let server: FakeOAuthServer;
/** Results and errors seen by the tests; scanned for tokens at the end of each test. */
let seen: unknown[];

beforeEach(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-oauth-')));
  home = path.join(tmp, 'home');
  fs.mkdirSync(path.join(home, '.codex'), { recursive: true, mode: 0o700 });
  file = path.join(home, '.codex', 'claude_auth.json');
  server = await startFakeOAuthServer();
  seen = [];
});

afterEach(async () => {
  // Secret scan: no result or error, serialised or inspected, carries a token.
  for (const item of seen) {
    const texts = [JSON.stringify(item), util.inspect(item, { depth: 10, showHidden: true }), String(item)];
    if (item instanceof Error) texts.push(item.message, item.stack ?? '');
    for (const token of server.issued) for (const t of texts) expect(t.includes(token)).toBe(false);
  }
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Fixture {
  access: string;
  refresh: string;
}

/** Writes a claude_auth.json (mode 0600) with tokens expiring `expiresInMs` from now, plus foreign keys. */
function writeCredentials(expiresInMs: number, options: { validRefresh?: boolean } = {}): Fixture {
  const access = newToken('oat');
  const refresh = newToken('ort');
  if (options.validRefresh ?? true) server.allow(refresh);
  else server.issued.push(refresh);
  server.issued.push(access);
  const data = {
    ANTHROPIC_API_KEY: null,
    oauth_tokens: {
      access_token: access,
      refresh_token: refresh,
      expires_at: new Date(Date.now() + expiresInMs).toISOString(),
      subscription_tier: 'max',
      scope: 'user:inference',
    },
    subscription_info: { plan: 'max', seats: 1 },
    preferred_mode: 'MaxSubscription',
    other_program: { keep: ['me', 1] },
  };
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { access, refresh };
}

function readFile(): Record<string, unknown> & { oauth_tokens: Record<string, unknown> } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & {
    oauth_tokens: Record<string, unknown>;
  };
}

function refresher(overrides: Partial<TokenRefresherOptions> = {}) {
  return createTokenRefresher({
    file,
    home,
    ...claudeAuthTokens,
    tokenEndpoint: server.url,
    clientId: 'test-client',
    ...overrides,
  });
}

async function expectError(promise: Promise<unknown>, code: ErrorCode, reason: string) {
  let caught: unknown;
  try {
    seen.push(await promise);
  } catch (error) {
    caught = error;
  }
  seen.push(caught);
  expect(isAgentvisorError(caught, code)).toBe(true);
  expect((caught as { details: Record<string, unknown> }).details.reason).toBe(reason);
  return caught as Error;
}

function snapshot(): { bytes: Buffer; mtimeMs: number; mode: number } {
  const stat = fs.statSync(file);
  return { bytes: fs.readFileSync(file), mtimeMs: stat.mtimeMs, mode: stat.mode & 0o777 };
}

describe('createTokenRefresher', () => {
  it('should return a fresh stored token without any request', async () => {
    const fixture = writeCredentials(60 * MINUTE);
    const before = snapshot();
    const result = await refresher().getAccessToken();
    seen.push(result);
    expect(result.refreshed).toBe(false);
    expect(result.accessToken.reveal()).toBe(fixture.access);
    expect(server.requests).toHaveLength(0);
    expect(snapshot()).toEqual(before);
  });

  it('should make exactly one request for 50 concurrent callers near expiry and store the rotated refresh token', async () => {
    const fixture = writeCredentials(2 * MINUTE);
    const r = refresher();
    const results = await Promise.all(Array.from({ length: 50 }, () => r.getAccessToken()));
    seen.push(...results);
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0];
    expect(request?.contentType).toBe('application/json');
    expect(request?.body).toEqual({
      grant_type: 'refresh_token',
      refresh_token: fixture.refresh,
      client_id: 'test-client',
    });
    const tokens = new Set(results.map((x) => x.accessToken.reveal()));
    expect(tokens.size).toBe(1);
    const [access] = [...tokens];
    expect(access).not.toBe(fixture.access);
    expect(results.every((x) => x.refreshed)).toBe(true);

    const data = readFile();
    expect(data.oauth_tokens.access_token).toBe(access);
    expect(data.oauth_tokens.refresh_token).not.toBe(fixture.refresh);
    expect(server.issued).toContain(data.oauth_tokens.refresh_token);
    expect(Date.parse(String(data.oauth_tokens.expires_at))).toBeGreaterThan(Date.now() + 50 * MINUTE);
    // Every other key survives.
    expect(data.oauth_tokens.subscription_tier).toBe('max');
    expect(data.subscription_info).toEqual({ plan: 'max', seats: 1 });
    expect(data.preferred_mode).toBe('MaxSubscription');
    expect(data.other_program).toEqual({ keep: ['me', 1] });
    expect(data.ANTHROPIC_API_KEY).toBeNull();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    // The next call finds the new token fresh: no request.
    const again = await r.getAccessToken();
    seen.push(again);
    expect(again.refreshed).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('should send scope when given and keep the old refresh token when the server does not rotate', async () => {
    const fixture = writeCredentials(-MINUTE);
    server.rotate = false;
    const result = await refresher({ scope: 'openid profile email' }).getAccessToken();
    seen.push(result);
    expect(server.requests[0]?.body.scope).toBe('openid profile email');
    expect(result.refreshed).toBe(true);
    expect(readFile().oauth_tokens.refresh_token).toBe(fixture.refresh);
    expect(readFile().oauth_tokens.access_token).toBe(result.accessToken.reveal());
  });

  it('should store already-expired tokens from the server and refresh again with the rotated token next time', async () => {
    writeCredentials(-MINUTE);
    server.expiresIn = 0;
    const r = refresher();
    const first = await r.getAccessToken();
    const firstRefresh = readFile().oauth_tokens.refresh_token;
    server.expiresIn = 3600;
    const second = await r.getAccessToken();
    seen.push(first, second);
    expect(first.expiresAt).not.toBeNull();
    expect(first.expiresAt ?? Infinity).toBeLessThanOrEqual(Date.now());
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.body.refresh_token).toBe(firstRefresh);
    expect(second.refreshed).toBe(true);
    expect(second.accessToken.reveal()).not.toBe(first.accessToken.reveal());
  });

  it.each([
    ['past what a date can hold', 1e300],
    ['past what a number can hold', Number.MAX_VALUE],
  ])('should store the rotated refresh token when expires_in is %s', async (_label, expiresIn) => {
    const fixture = writeCredentials(-MINUTE);
    server.expiresIn = expiresIn;
    const result = await refresher().getAccessToken();
    seen.push(result);
    // The server spent the old refresh token: losing the rotated one would log the user out.
    const stored = readFile().oauth_tokens;
    expect(stored.refresh_token).not.toBe(fixture.refresh);
    expect(server.issued).toContain(stored.refresh_token);
    expect(stored.access_token).toBe(result.accessToken.reveal());
    // An expiry no date can hold is treated as unknown.
    expect(result.expiresAt).toBeNull();
    expect(stored.expires_at).toBeUndefined();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('should fail with auth-failed (invalid-grant) and leave the file byte-identical when the refresh token is dead and no one won', async () => {
    writeCredentials(-MINUTE, { validRefresh: false });
    const before = snapshot();
    const error = await expectError(refresher().getAccessToken(), 'auth-failed', 'invalid-grant');
    expect(error.message).toMatch(/log in again/i);
    expect((error as unknown as { details: Record<string, unknown> }).details.oauthError).toBe('invalid_grant');
    expect(server.requests).toHaveLength(1);
    expect(snapshot()).toEqual(before);
  });

  it('should use the tokens of a rival that won the race instead of failing on invalid_grant', async () => {
    const fixture = writeCredentials(MINUTE);
    let rivalAccess = '';
    // A program that does not take our lock (Claude Code) refreshes with the same token first and stores its result.
    server.beforeAnswer = async (refreshToken) => {
      server.beforeAnswer = null;
      const granted = server.redeem(refreshToken);
      if (granted === null) throw new Error('rival could not redeem');
      rivalAccess = granted.access_token;
      await updateJsonFile(
        file,
        (current) => ({
          ...current,
          oauth_tokens: {
            access_token: granted.access_token,
            refresh_token: granted.refresh_token,
            expires_at: new Date(Date.now() + granted.expires_in * 1000).toISOString(),
            subscription_tier: 'max',
          },
        }),
        { home },
      );
    };
    const result = await refresher().getAccessToken();
    seen.push(result);
    expect(server.requests).toHaveLength(1);
    expect(result.refreshed).toBe(false);
    expect(result.accessToken.reveal()).toBe(rivalAccess);
    expect(readFile().oauth_tokens.refresh_token).not.toBe(fixture.refresh);
    expect(readFile().oauth_tokens.access_token).toBe(rivalAccess);
  });

  it('should fail with token-refresh-failed (network) and leave the file untouched when the connection is cut', async () => {
    writeCredentials(MINUTE);
    server.cut = true;
    const before = snapshot();
    const error = await expectError(refresher().getAccessToken(), 'token-refresh-failed', 'network');
    expect((error as unknown as { retryAfterMs: number | null }).retryAfterMs).toBeGreaterThan(0);
    expect(server.requests).toHaveLength(1);
    expect(snapshot()).toEqual(before);
  });

  it('should not show a password or a query of the token endpoint in its errors', async () => {
    writeCredentials(-MINUTE, { validRefresh: false });
    const secret = 'EndpointQuerySecret-0123456789';
    const withQuery = `${server.url}?key=${secret}`;
    const rejected = await expectError(
      refresher({ tokenEndpoint: withQuery }).getAccessToken(),
      'auth-failed',
      'invalid-grant',
    );
    server.cut = true;
    const cut = await expectError(
      refresher({ tokenEndpoint: withQuery }).getAccessToken(),
      'token-refresh-failed',
      'network',
    );
    const withPassword = server.url.replace('://', `://user:${secret}@`);
    const refused = await expectError(
      refresher({ tokenEndpoint: withPassword }).getAccessToken(),
      'token-refresh-failed',
      'network',
    );
    for (const error of [rejected, cut, refused]) {
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(secret);
      expect(error.message).toContain('***');
    }
  });

  it('should fail with token-refresh-failed (timeout) and leave the file untouched when the answer is too slow', async () => {
    writeCredentials(MINUTE);
    server.delayMs = 3_000;
    const before = snapshot();
    const started = Date.now();
    await expectError(refresher({ timeoutMs: 300 }).getAccessToken(), 'token-refresh-failed', 'timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(snapshot()).toEqual(before);
  });

  it('should refresh once across 4 processes and give all of them the same new token', async () => {
    writeCredentials(MINUTE);
    const barrier = path.join(tmp, 'barrier');
    fs.mkdirSync(barrier);
    const children = Array.from({ length: 4 }, () =>
      run(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, file, home, server.url, barrier], {
        cwd: REPO_ROOT,
        timeout: 60_000,
      }),
    );
    const deadline = Date.now() + 45_000;
    while (fs.readdirSync(barrier).filter((n) => n.startsWith('ready-')).length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    fs.writeFileSync(path.join(barrier, 'go'), '');
    const outputs = await Promise.all(children);
    const lines = outputs.map((o) => JSON.parse(o.stdout.trim()) as { sha256: string; refreshed: boolean });
    for (const o of outputs)
      for (const token of server.issued) expect(o.stdout.includes(token) || o.stderr.includes(token)).toBe(false);

    expect(server.requests).toHaveLength(1);
    expect(new Set(lines.map((l) => l.sha256)).size).toBe(1);
    expect(lines.filter((l) => l.refreshed)).toHaveLength(1);
    const data = readFile();
    const stored = String(data.oauth_tokens.access_token);
    expect(lines[0]?.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    // The file holds the newest refresh token: the only one the server still accepts.
    expect(server.redeem(String(data.oauth_tokens.refresh_token))).not.toBeNull();
    expect(data.other_program).toEqual({ keep: ['me', 1] });
  }, 90_000);

  it('should fail with auth-failed when the token expired and there is no refresh token, but use a still-valid one', async () => {
    const access = newToken('oat');
    server.issued.push(access);
    const write = (expiresInMs: number) => {
      fs.writeFileSync(
        file,
        JSON.stringify({
          oauth_tokens: { access_token: access, expires_at: new Date(Date.now() + expiresInMs).toISOString() },
        }),
        { mode: 0o600 },
      );
    };
    write(MINUTE);
    const ok = await refresher().getAccessToken();
    seen.push(ok);
    expect(ok.accessToken.reveal()).toBe(access);
    write(-MINUTE);
    const before = snapshot();
    await expectError(refresher().getAccessToken(), 'auth-failed', 'no-refresh-token');
    expect(server.requests).toHaveLength(0);
    expect(snapshot()).toEqual(before);
  });

  it('should refuse bad options', () => {
    expect(() => refresher({ tokenEndpoint: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'invalid-option' }),
    );
    expect(() => refresher({ skewMs: -1 })).toThrow(expect.objectContaining({ code: 'invalid-option' }));
    expect(() => refresher({ clientId: '' })).toThrow(expect.objectContaining({ code: 'invalid-option' }));
  });
});
