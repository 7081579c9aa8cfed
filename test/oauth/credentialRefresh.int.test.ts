import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, isAgentvisorError } from '../../src';
import { newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';

let server: FakeOAuthServer;
let root: string;
let home: string;
let file: string;

beforeEach(async () => {
  server = await startFakeOAuthServer();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-refresh-'));
  home = path.join(root, 'codex');
  fs.mkdirSync(home, { mode: 0o700 });
  file = path.join(home, 'claude_auth.json');
});

afterEach(async () => {
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function writeLogin(expiresInMs: number, options: { revoked?: boolean } = {}): { access: string; refresh: string } {
  const access = newToken('oat');
  const refresh = newToken('ort');
  // A revoked refresh token is one the server never accepted (it answers invalid_grant).
  if (options.revoked) server.issued.push(refresh);
  else server.allow(refresh);
  server.issued.push(access);
  const data = {
    ANTHROPIC_API_KEY: null,
    oauth_tokens: {
      access_token: access,
      refresh_token: refresh,
      expires_at: new Date(Date.now() + expiresInMs).toISOString(),
      subscription_tier: 'max',
    },
    preferred_mode: 'MaxSubscription',
    other_program: { keep: true },
  };
  fs.writeFileSync(file, JSON.stringify(data), { mode: 0o600 });
  return { access, refresh };
}

function orchestrator() {
  return createOrchestrator({
    env: {},
    home,
    claudeHome: path.join(root, 'claude'),
    oauth: { tokenEndpoint: server.url, clientId: 'test-client' },
    limits: { claude: { maxConcurrent: 50 } },
  });
}

describe('orchestrator with a Claude login in claude_auth.json', () => {
  it('should hand out the stored token while it has more than 5 minutes left, with no token request', async () => {
    const { access } = writeLogin(60 * 60_000);
    const orch = orchestrator();
    await orch.start();
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(access);
    expect(server.requests).toHaveLength(0);
    await orch.stop();
  });

  it('should refresh once for 20 sessions spawned at once near expiry, keep the rotated refresh token and give every session the new token', async () => {
    const old = writeLogin(60_000);
    const orch = orchestrator();
    await orch.start();
    const agents = await Promise.all(Array.from({ length: 20 }, () => orch.spawnAgent({ estimatedTokens: 1000 })));
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.body).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: old.refresh,
      client_id: 'test-client',
    });
    const tokens = new Set(agents.map((a) => a.env.CLAUDE_CODE_OAUTH_TOKEN));
    expect(tokens.size).toBe(1);
    const [token] = [...tokens];
    expect(token).not.toBe(old.access);
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(data.oauth_tokens.access_token).toBe(token);
    expect(data.oauth_tokens.refresh_token).not.toBe(old.refresh);
    expect(server.redeem(String(data.oauth_tokens.refresh_token))).not.toBeNull();
    expect(data.other_program).toEqual({ keep: true });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Later sessions use the refreshed token without another request.
    await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(server.requests).toHaveLength(1);
    await orch.stop();
  });

  it('should refuse the session with auth-failed when the refresh token was revoked, and leave the file as it was', async () => {
    writeLogin(60_000, { revoked: true });
    const before = fs.readFileSync(file);
    const orch = createOrchestrator({
      env: {},
      home,
      claudeHome: path.join(root, 'claude'),
      fallbackChain: ['claude'],
      oauth: { tokenEndpoint: server.url, clientId: 'test-client' },
    });
    await orch.start();
    let caught: unknown;
    await orch.spawnAgent({ estimatedTokens: 1000 }).catch((error: unknown) => {
      caught = error;
    });
    expect(isAgentvisorError(caught, 'auth-failed')).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    for (const token of server.issued) expect(JSON.stringify(caught)).not.toContain(token);
    await orch.stop();
  });
});
