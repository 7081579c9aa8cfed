/**
 * Provider priority and ChatGPT logins, end to end through the orchestrator with real credential
 * files in temp homes: which provider a session starts on, the env a ChatGPT session gets, and the
 * refresh of Codex's tokens (opt-in, single-flight, other keys kept).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { OrchestratorOptions } from '../../src';
import { newChatgptAccessToken, newIdToken, newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';

const CLAUDE_KEY = 'sk-ant-api03-PRIORITYclaudeKEY-0001';
const OPENAI_KEY = 'sk-proj-PRIORITYopenaiKEY-0002';
const HOUR = 3_600_000;

let root: string;
let home: string;
let claudeHome: string;
let server: FakeOAuthServer;

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'priority-'));
  home = path.join(root, 'codex');
  claudeHome = path.join(root, 'claude');
  fs.mkdirSync(home, { mode: 0o700 });
  fs.mkdirSync(claudeHome, { mode: 0o700 });
  server = await startFakeOAuthServer();
  server.chatgptPlan = 'pro';
});

afterEach(async () => {
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function writeClaudeCodeLogin(subscriptionType: string): string {
  const access = newToken('oat');
  const data = {
    claudeAiOauth: {
      accessToken: access,
      refreshToken: newToken('ort'),
      expiresAt: Date.now() + 8 * HOUR,
      scopes: ['user:inference'],
      subscriptionType,
    },
  };
  fs.writeFileSync(path.join(claudeHome, '.credentials.json'), JSON.stringify(data), { mode: 0o600 });
  return access;
}

interface ChatgptLogin {
  readonly access: string;
  readonly refresh: string;
  readonly idToken: string;
}

function writeCodexAuth(
  options: { expiresInMs?: number; authMode?: string | null; apiKey?: string | null } = {},
): ChatgptLogin {
  const login = {
    access: newChatgptAccessToken(options.expiresInMs ?? 8 * HOUR),
    refresh: `rt-TEST${Math.random().toString(36).slice(2)}`,
    idToken: newIdToken('plus', 'acct-priority-7'),
  };
  server.allow(login.refresh);
  server.issued.push(login.access);
  const data: Record<string, unknown> = {
    OPENAI_API_KEY: options.apiKey ?? null,
    tokens: {
      id_token: login.idToken,
      access_token: login.access,
      refresh_token: login.refresh,
      account_id: 'acct-priority-7',
    },
    last_refresh: '2026-01-01T00:00:00Z',
    codex_owned: { keep: ['this', 1] },
  };
  if (options.authMode !== null) data.auth_mode = options.authMode ?? 'chatgpt';
  fs.writeFileSync(path.join(home, 'auth.json'), JSON.stringify(data), { mode: 0o600 });
  return login;
}

async function started(options: OrchestratorOptions) {
  const orch = createOrchestrator({ env: {}, home, claudeHome, ...options });
  await orch.start();
  return orch;
}

describe('provider priority (default policy: subscription)', () => {
  it('should start on Claude with a Claude Max login, ahead of an OpenAI API key', async () => {
    const access = writeClaudeCodeLogin('max');
    const orch = await started({ env: { OPENAI_API_KEY: OPENAI_KEY } });
    expect(orch.providerOrder()).toEqual({
      order: ['claude', 'openai'],
      credentials: { claude: 'claude-max', openai: 'openai-api-key' },
    });
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.provider).toBe('claude');
    expect(agent.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(access);
    await orch.stop();
  });

  it('should start on OpenAI with a ChatGPT login ahead of Claude Pro, handing the Codex tokens and no API key', async () => {
    writeClaudeCodeLogin('pro');
    const login = writeCodexAuth();
    const orch = await started({});
    expect(orch.providerOrder().credentials).toEqual({ claude: 'claude-pro', openai: 'chatgpt' });
    const agent = await orch.spawnAgent({ estimatedTokens: 1000, agentId: 'codex-1' });
    expect(agent.provider).toBe('openai');
    expect(agent.env).toMatchObject({
      AGENTVISOR_CHATGPT_ACCESS_TOKEN: login.access,
      AGENTVISOR_CHATGPT_ID_TOKEN: login.idToken,
      AGENTVISOR_CHATGPT_ACCOUNT_ID: 'acct-priority-7',
    });
    expect(agent.env).not.toHaveProperty('OPENAI_API_KEY');
    expect(agent.env).not.toHaveProperty('CLAUDE_CODE_OAUTH_TOKEN');
    expect(server.requests).toHaveLength(0);
    await orch.stop();
  });

  it('should start on OpenAI when both providers have API keys only (OpenAI API key first)', async () => {
    const orch = await started({ env: { ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_API_KEY: OPENAI_KEY } });
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.provider).toBe('openai');
    expect(agent.env.OPENAI_API_KEY).toBe(OPENAI_KEY);
    // The host's choice wins over the policy.
    const named = await orch.spawnAgent({ estimatedTokens: 1000, preferredProvider: 'claude' });
    expect(named.provider).toBe('claude');
    await orch.stop();
  });

  it('should use the API key in auth.json before its ChatGPT tokens when auth_mode does not choose', async () => {
    writeCodexAuth({ authMode: null, apiKey: OPENAI_KEY });
    const orch = await started({});
    expect(orch.providerOrder().credentials.openai).toBe('openai-api-key');
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.env.OPENAI_API_KEY).toBe(OPENAI_KEY);
    expect(agent.env).not.toHaveProperty('AGENTVISOR_CHATGPT_ACCESS_TOKEN');
    await orch.stop();
  });
});

describe('provider priority (configured)', () => {
  const env = { ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_API_KEY: OPENAI_KEY };

  it.each([
    [{ providerPriority: 'prefer-claude' }, 'claude'],
    [{ providerPriority: 'prefer-openai' }, 'openai'],
    [{ providerPriority: ['claude'] }, 'claude'],
    // A chain given without a policy is the explicit order.
    [{ fallbackChain: ['claude', 'openai'] }, 'claude'],
    [{ fallbackChain: ['openai', 'claude'] }, 'openai'],
    // A policy given with a chain still picks the start; the rest of the chain follows.
    [{ fallbackChain: ['claude', 'openai'], providerPriority: 'subscription' }, 'openai'],
  ] as [OrchestratorOptions, string][])('should start sessions under %j on %s', async (options, expected) => {
    const orch = await started({ env, ...options });
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.provider).toBe(expected);
    expect(orch.providerOrder().order[0]).toBe(expected);
    await orch.stop();
  });

  it('should refuse an unknown policy at creation with invalid-option', () => {
    let error: unknown;
    try {
      createOrchestrator({ env, providerPriority: 'cheapest' as never });
    } catch (e) {
      error = e;
    }
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
  });
});

describe('ChatGPT tokens in Codex auth.json', () => {
  const oauth = () => ({ openai: { tokenEndpoint: server.url, clientId: 'codex-test-client' } });

  it('should not write Codex auth.json unless refreshCodex is set: a token near expiry is used as it is', async () => {
    const login = writeCodexAuth({ expiresInMs: 2 * 60_000 });
    const before = fs.readFileSync(path.join(home, 'auth.json'), 'utf8');
    const orch = await started({ oauth: oauth() });
    const agent = await orch.spawnAgent({ estimatedTokens: 1000, preferredProvider: 'openai' });
    expect(agent.env.AGENTVISOR_CHATGPT_ACCESS_TOKEN).toBe(login.access);
    expect(server.requests).toHaveLength(0);
    expect(fs.readFileSync(path.join(home, 'auth.json'), 'utf8')).toBe(before);
    await orch.stop();
  });

  it('should pass over an expired ChatGPT token it may not refresh, saying why', async () => {
    const login = writeCodexAuth({ expiresInMs: -60_000 });
    const orch = await started({ oauth: oauth(), fallbackChain: ['openai'] });
    let error: unknown;
    await orch.spawnAgent({ estimatedTokens: 1000 }).catch((e: unknown) => {
      error = e;
    });
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as Error).message).toMatch(/the login from file:auth\.json expired at .* \(log in again\)/);
    const text = `${JSON.stringify(error)} ${String(error)} ${(error as Error).stack ?? ''}`;
    for (const secret of [login.access, login.refresh, login.idToken]) expect(text).not.toContain(secret);
    await orch.stop();
  });

  it('should refresh once for 8 sessions at once with refreshCodex, keep the rotated refresh token, the new id_token and every foreign key', async () => {
    const old = writeCodexAuth({ expiresInMs: 60_000 });
    const orch = await started({ oauth: { ...oauth(), refreshCodex: true } });
    const agents = await Promise.all(
      Array.from({ length: 8 }, () => orch.spawnAgent({ estimatedTokens: 1000, preferredProvider: 'openai' })),
    );
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.body).toEqual({
      grant_type: 'refresh_token',
      refresh_token: old.refresh,
      client_id: 'codex-test-client',
      scope: 'openid profile email',
    });
    const tokens = new Set(agents.map((a) => a.env.AGENTVISOR_CHATGPT_ACCESS_TOKEN));
    expect(tokens.size).toBe(1);
    const [token] = [...tokens];
    expect(token).not.toBe(old.access);
    const file = path.join(home, 'auth.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(data.tokens.access_token).toBe(token);
    expect(data.tokens.refresh_token).not.toBe(old.refresh);
    expect(server.issued).toContain(data.tokens.refresh_token);
    expect(data.tokens.id_token).not.toBe(old.idToken);
    expect(data.tokens.account_id).toBe('acct-priority-7');
    expect(data.auth_mode).toBe('chatgpt');
    expect(data.codex_owned).toEqual({ keep: ['this', 1] });
    expect(Date.parse(data.last_refresh)).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    await orch.stop();
  });
});
