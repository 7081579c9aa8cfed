/**
 * The PKCE login against real loopback fakes: a token endpoint on 127.0.0.1:0 that checks the
 * verifier against the challenge of the authorize URL, and the test playing the browser with plain
 * HTTP GETs to the callback server.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { spawn } from 'node:child_process';
import { createCredentialResolver } from '../../src/credentials/credentialResolver';
import { isAgentvisorError } from '../../src/errors';
import {
  CLAUDE_OAUTH_DEFAULTS,
  CLAUDE_PROFILE_URL,
  defaultProfileUrl,
  saveClaudeLogin,
  startPkceLogin,
} from '../../src/oauth';
import type { LoginTokens, PkceLogin, PkceLoginOptions } from '../../src/oauth';

const CLIENT_ID = 'test-client-0000';
const SCOPES = ['org:create_api_key', 'user:profile', 'user:inference'];

interface FakeTokenEndpoint {
  readonly url: string;
  readonly requests: { body: Record<string, unknown>; contentType: string | undefined }[];
  /** The `code_challenge` of the authorize URL, set by the test once it has the URL. */
  challenge: string | null;
  /** The authorization code the fake authorization server "issued". */
  readonly code: string;
  /** Answer every exchange with 400 invalid_grant. */
  reject: boolean;
  /** Whether the last exchange's verifier matched the challenge (S256). */
  verifierOk: boolean | null;
  /** Every secret this fake issued or saw, for leak scans. */
  readonly secrets: string[];
  /** `organization.organization_type` of the profile (`GET /api/oauth/profile`), as Anthropic's names the plan. */
  plan: string | null;
  /** The profile's status (200: the profile). */
  profileStatus: number;
  /** `organization.organization_type` in the token answer itself (null: the answer does not name the plan). */
  answerPlan: string | null;
  /** The Authorization header of every profile request. */
  readonly profileRequests: (string | undefined)[];
  close(): Promise<void>;
}

const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

async function startFakeTokenEndpoint(): Promise<FakeTokenEndpoint> {
  const sockets = new Set<Socket>();
  const code = `code-${randomBytes(16).toString('hex')}`;
  const fake: FakeTokenEndpoint = {
    url: '',
    requests: [],
    challenge: null,
    code,
    reject: false,
    verifierOk: null,
    secrets: [code],
    plan: 'claude_max',
    profileStatus: 200,
    answerPlan: null,
    profileRequests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/api/oauth/profile') {
      // The shape Claude Code reads (2.1.x): organization.organization_type, account.has_claude_*.
      fake.profileRequests.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.statusCode = fake.profileStatus;
      res.end(
        fake.profileStatus !== 200
          ? '{"error":"down"}'
          : JSON.stringify({
              account: {
                uuid: 'acc-1',
                email: 'dev@example.com',
                has_claude_max: fake.plan === 'claude_max',
                has_claude_pro: fake.plan === 'claude_pro',
              },
              organization: { uuid: 'org-1', organization_type: fake.plan, rate_limit_tier: 'default_claude_max_20x' },
            }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
      fake.requests.push({ body, contentType: req.headers['content-type'] });
      const verifier = typeof body.code_verifier === 'string' ? body.code_verifier : '';
      if (verifier !== '') fake.secrets.push(verifier);
      fake.verifierOk =
        fake.challenge !== null && verifier.length >= 43 && verifier.length <= 128 && s256(verifier) === fake.challenge;
      res.setHeader('content-type', 'application/json');
      const valid =
        req.method === 'POST' &&
        body.grant_type === 'authorization_code' &&
        body.code === code &&
        body.client_id === CLIENT_ID &&
        fake.verifierOk;
      if (fake.reject || !valid) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: `Invalid code ${String(body.code)}` }));
        return;
      }
      const access = `sk-ant-oat01-TEST${randomBytes(12).toString('hex')}`;
      const refresh = `sk-ant-ort01-TEST${randomBytes(12).toString('hex')}`;
      fake.secrets.push(access, refresh);
      res.end(
        JSON.stringify({
          token_type: 'Bearer',
          access_token: access,
          refresh_token: refresh,
          expires_in: 28_800,
          scope: 'user:inference user:profile',
          account: { uuid: 'acc-1', email_address: 'dev@example.com' },
          organization: {
            uuid: 'org-1',
            name: 'Example',
            ...(fake.answerPlan === null ? {} : { organization_type: fake.answerPlan }),
          },
        }),
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/oauth/token`;
  return fake;
}

/** The browser: one GET, no keep-alive. */
function browse(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** True when nothing accepts connections on 127.0.0.1:port any more. */
function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function callbackUrl(login: PkceLogin, params: Record<string, string>, pathname = '/callback'): string {
  const url = new URL(`http://127.0.0.1:${login.port}${pathname}`);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}

let endpoint: FakeTokenEndpoint;
let tmp: string;
let opened: string[];
let seen: unknown[];
let consoleOutput: string[];
let logins: PkceLogin[];

beforeEach(async () => {
  endpoint = await startFakeTokenEndpoint();
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-pkce-')));
  opened = [];
  seen = [];
  logins = [];
  consoleOutput = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleOutput.push(util.format(...args));
    });
  }
});

afterEach(async () => {
  jest.restoreAllMocks();
  // Every callback server is closed, whatever the outcome.
  for (const login of logins) expect(await portClosed(login.port)).toBe(true);
  // No token, code or verifier in any result or error, serialised or inspected, nor on the console.
  const texts = [...consoleOutput];
  for (const item of seen) {
    texts.push(JSON.stringify(item), util.inspect(item, { depth: 10, showHidden: true }), String(item));
    if (item instanceof Error) texts.push(item.message, item.stack ?? '');
  }
  for (const secret of endpoint.secrets) for (const text of texts) expect(text.includes(secret)).toBe(false);
  await endpoint.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function start(overrides: Partial<PkceLoginOptions> = {}): Promise<{ login: PkceLogin; authorize: URL }> {
  const login = await startPkceLogin({
    authorizeUrl: 'https://auth.example.test/oauth/authorize?code=true',
    tokenEndpoint: endpoint.url,
    clientId: CLIENT_ID,
    scopes: SCOPES,
    openBrowser: (url) => opened.push(url),
    ...overrides,
  });
  logins.push(login);
  const authorize = new URL(login.url);
  endpoint.challenge = authorize.searchParams.get('code_challenge');
  return { login, authorize };
}

async function failure(login: PkceLogin): Promise<unknown> {
  const error = await login.result.then(
    () => {
      throw new Error('the login should have failed');
    },
    (err: unknown) => err,
  );
  seen.push(error);
  return error;
}

describe('startPkceLogin', () => {
  it('should log in end to end and save the tokens into claude_auth.json (0600, foreign keys kept)', async () => {
    const { login, authorize } = await start();
    expect(opened).toEqual([login.url]);
    const params = authorize.searchParams;
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://auth.example.test/oauth/authorize');
    expect(params.get('code')).toBe('true');
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe(CLIENT_ID);
    // As Claude Code sends it: localhost, answered by the callback server on 127.0.0.1.
    expect(params.get('redirect_uri')).toBe(`http://localhost:${login.port}/callback`);
    expect(login.redirectUri).toBe(params.get('redirect_uri'));
    expect(params.get('scope')).toBe(SCOPES.join(' '));
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const state = params.get('state') ?? '';
    expect(Buffer.from(state, 'base64url').length).toBeGreaterThanOrEqual(32);

    // A wrong path is answered 404 and the login keeps waiting.
    expect((await browse(callbackUrl(login, { code: endpoint.code, state }, '/favicon.ico'))).status).toBe(404);

    const page = await browse(callbackUrl(login, { code: endpoint.code, state }));
    expect(page.status).toBe(200);
    expect(page.body).toContain('Login complete');
    const tokens = await login.result;
    seen.push(tokens);

    expect(endpoint.verifierOk).toBe(true);
    expect(endpoint.requests).toHaveLength(1);
    const request = endpoint.requests[0];
    if (request === undefined) throw new Error('no token request');
    expect(request.contentType).toBe('application/json');
    expect(Object.keys(request.body).sort()).toEqual([
      'client_id',
      'code',
      'code_verifier',
      'grant_type',
      'redirect_uri',
      'state',
    ]);
    expect(request.body).toMatchObject({
      grant_type: 'authorization_code',
      code: endpoint.code,
      client_id: CLIENT_ID,
      redirect_uri: `http://localhost:${login.port}/callback`,
      state,
    });

    const [, , access, refresh] = endpoint.secrets;
    expect(tokens.accessToken.reveal()).toBe(access);
    expect(tokens.refreshToken?.reveal()).toBe(refresh);
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 28_000_000);
    expect(tokens.scope).toBe('user:inference user:profile');
    expect(tokens.account).toEqual({ uuid: 'acc-1', emailAddress: 'dev@example.com' });
    expect(tokens.organization).toEqual({ uuid: 'org-1', name: 'Example' });
    expect([tokens.tier, tokens.tierSource]).toEqual(['max', 'profile']);

    const home = path.join(tmp, 'codex');
    fs.mkdirSync(home, { mode: 0o700 });
    const file = path.join(home, 'claude_auth.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        ANTHROPIC_API_KEY: null,
        preferred_mode: 'MaxSubscription',
        subscription_info: { plan: 'max' },
        oauth_tokens: { access_token: 'old', stale: true },
      }),
      { mode: 0o600 },
    );
    const saved = await saveClaudeLogin(home, tokens, { tier: 'max', userHome: tmp });
    seen.push(saved);
    expect(saved.file).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(data).toEqual({
      ANTHROPIC_API_KEY: null,
      preferred_mode: 'MaxSubscription',
      subscription_info: { plan: 'max' },
      schema_version: 1,
      oauth_tokens: {
        access_token: access,
        refresh_token: refresh,
        expires_at: new Date(tokens.expiresAt ?? 0).toISOString(),
        subscription_tier: 'max',
        scope: 'user:inference user:profile',
      },
    });
  });

  it('should refuse a callback with the wrong state (400) and reject with state-mismatch', async () => {
    const { login } = await start();
    const page = await browse(callbackUrl(login, { code: endpoint.code, state: 'forged-state' }));
    expect(page.status).toBe(400);
    const error = await failure(login);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details.reason).toBe('state-mismatch');
    expect(endpoint.requests).toHaveLength(0);
  });

  it('should reject with access-denied when the browser comes back with error=access_denied', async () => {
    const { login, authorize } = await start();
    const page = await browse(
      callbackUrl(login, { error: 'access_denied', state: authorize.searchParams.get('state') ?? '' }),
    );
    expect(page.status).toBe(400);
    const error = await failure(login);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      reason: 'access-denied',
      oauthError: 'access_denied',
    });
    expect(endpoint.requests).toHaveLength(0);
  });

  it('should reject with invalid-grant when the token endpoint answers 400 invalid_grant', async () => {
    endpoint.reject = true;
    const { login, authorize } = await start();
    const page = await browse(
      callbackUrl(login, { code: endpoint.code, state: authorize.searchParams.get('state') ?? '' }),
    );
    expect(page.status).toBe(400);
    const error = await failure(login);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      reason: 'invalid-grant',
      status: 400,
      oauthError: 'invalid_grant',
    });
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.verifierOk).toBe(true);
  });

  it('should time out, reject with timeout and close the server', async () => {
    const { login } = await start({ timeoutMs: 150 });
    const error = await failure(login);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      reason: 'timeout',
      timeoutMs: 150,
    });
  });

  it('should close the server and reject on cancel()', async () => {
    const { login } = await start({ openBrowser: undefined });
    expect(opened).toEqual([]);
    login.cancel();
    login.cancel();
    const error = await failure(login);
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details.reason).toBe('cancelled');
    await expect(browse(callbackUrl(login, { code: endpoint.code }))).rejects.toThrow();
  });

  it("should export Claude Code 2.1.197's values as the defaults (configuration)", () => {
    expect(CLAUDE_OAUTH_DEFAULTS).toEqual({
      authorizeUrl: 'https://claude.com/cai/oauth/authorize?code=true',
      tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
      clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
      scopes: [
        'org:create_api_key',
        'user:profile',
        'user:inference',
        'user:sessions:claude_code',
        'user:mcp_servers',
        'user:file_upload',
      ],
      profileUrl: 'https://api.anthropic.com/api/oauth/profile',
    });
  });
});

/** Plays the browser for a started login: the callback with the right state and the fake's code. */
async function completeLogin(login: PkceLogin): Promise<LoginTokens> {
  const state = new URL(login.url).searchParams.get('state') ?? '';
  expect((await browse(callbackUrl(login, { code: endpoint.code, state }))).status).toBe(200);
  const tokens = await login.result;
  seen.push(tokens);
  return tokens;
}

/** The class the saved login ranks as, read back the way run and batch read it. */
async function savedClass(
  tokens: LoginTokens,
): Promise<{ file: Record<string, unknown>; credentialClass: string | null }> {
  const home = path.join(tmp, 'codex');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const saved = await saveClaudeLogin(home, tokens, { userHome: tmp });
  const resolver = createCredentialResolver({
    env: {},
    home,
    claudeHome: path.join(tmp, 'claude'),
    userHome: tmp,
    sources: ['claude-auth-file'],
  });
  await resolver.load();
  const data = JSON.parse(fs.readFileSync(saved.file, 'utf8')) as { oauth_tokens: Record<string, unknown> };
  return { file: data.oauth_tokens, credentialClass: resolver.credentialClass('claude') };
}

describe('the subscription tier of a login', () => {
  it('should ask the profile (with the new access token) and save the tier, so a Max login ranks as Max and a Pro one as Pro', async () => {
    const max = await completeLogin((await start()).login);
    expect(endpoint.profileRequests).toEqual([`Bearer ${max.accessToken.reveal()}`]);
    expect([max.tier, max.tierSource]).toEqual(['max', 'profile']);
    const savedMax = await savedClass(max);
    expect(savedMax.file.subscription_tier).toBe('max');
    expect(savedMax.credentialClass).toBe('claude-max');

    endpoint.plan = 'claude_pro';
    const pro = await completeLogin((await start()).login);
    expect(pro.tier).toBe('pro');
    expect((await savedClass(pro)).credentialClass).toBe('claude-pro');
  });

  it('should take the tier from the token answer when it names the plan, without a profile request', async () => {
    endpoint.answerPlan = 'claude_max';
    const tokens = await completeLogin((await start()).login);
    expect([tokens.tier, tokens.tierSource]).toEqual(['max', 'token-response']);
    expect(tokens.organization).toEqual({ uuid: 'org-1', name: 'Example', organizationType: 'claude_max' });
    expect(endpoint.profileRequests).toEqual([]);
  });

  it('should still log in, with no tier saved (ranking as Pro), when the profile fails or profileUrl is null', async () => {
    endpoint.profileStatus = 503;
    const failed = await completeLogin((await start()).login);
    expect([failed.tier, failed.tierSource]).toEqual([null, null]);
    expect(endpoint.profileRequests).toHaveLength(1);
    const saved = await savedClass(failed);
    expect(saved.file).not.toHaveProperty('subscription_tier');
    expect(saved.credentialClass).toBe('claude-pro');

    endpoint.profileStatus = 200;
    const none = await completeLogin((await start({ profileUrl: null })).login);
    expect(none.tier).toBeNull();
    expect(endpoint.profileRequests).toHaveLength(1);
  });

  it("should ask Anthropic's profile only for Anthropic's token endpoints, else the token endpoint's own origin", () => {
    expect(defaultProfileUrl(CLAUDE_OAUTH_DEFAULTS.tokenEndpoint)).toBe(CLAUDE_PROFILE_URL);
    expect(defaultProfileUrl('https://platform.claude.com/v1/oauth/token')).toBe(CLAUDE_PROFILE_URL);
    expect(defaultProfileUrl('http://127.0.0.1:4000/v1/oauth/token')).toBe('http://127.0.0.1:4000/api/oauth/profile');
    expect(defaultProfileUrl('https://gateway.example.test/anthropic/oauth/token')).toBe(
      'https://gateway.example.test/api/oauth/profile',
    );
  });

  it('should record the tier with `agentvisor login claude --oauth` (the CLI as its own process, the test as the browser)', async () => {
    const root = path.join(__dirname, '..', '..');
    const home = path.join(tmp, 'codex');
    const child = spawn(
      process.execPath,
      [
        '-r',
        require.resolve('ts-node/register/transpile-only'),
        path.join(root, 'src', 'cli', 'main.ts'),
        '--json',
        '--no-audit',
        'login',
        'claude',
        '--oauth',
        '--authorize-url',
        'https://auth.example.test/oauth/authorize',
        '--token-endpoint',
        endpoint.url,
        '--client-id',
        CLIENT_ID,
        '--timeout',
        '60',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: tmp,
          CODEX_HOME: home,
          CLAUDE_CONFIG_DIR: path.join(tmp, 'claude'),
          TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<URL>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          const line = /^https:\/\/auth\.example\.test\/\S+$/m.exec(stderr);
          if (line) resolve(new URL(line[0]));
        });
        child.once('exit', () => reject(new Error(`login ended early: ${stderr}`)));
      });
      endpoint.challenge = url.searchParams.get('code_challenge');
      const callback = new URL(url.searchParams.get('redirect_uri') ?? '');
      callback.searchParams.set('code', endpoint.code);
      callback.searchParams.set('state', url.searchParams.get('state') ?? '');
      expect((await browse(callback.href)).status).toBe(200);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    consoleOutput.push(stdout, stderr);
    expect(endpoint.profileRequests).toHaveLength(1);
    const data = JSON.parse(fs.readFileSync(path.join(home, 'claude_auth.json'), 'utf8')) as {
      oauth_tokens: Record<string, unknown>;
    };
    expect(data.oauth_tokens.subscription_tier).toBe('max');
  });
});
