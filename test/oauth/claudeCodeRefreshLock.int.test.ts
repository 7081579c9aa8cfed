/**
 * Refreshing Claude Code's own `.credentials.json` (`refreshClaudeCode: true`) under Claude Code's
 * own locks, taken the way Claude Code 2.1 takes them. A second process (test/helpers/
 * claudeCodeLockHolder.ts) holds them exactly as the real CLI would; agentvisor waits, re-reads and
 * uses the token that process wrote instead of spending the refresh token again.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import lockfile from 'proper-lockfile';
import { CLAUDE_OAUTH_ENV, createCredentialResolver } from '../../src/credentials';
import { isAgentvisorError } from '../../src/errors';
import { claudeCodeTokens, createTokenRefresher } from '../../src/oauth';
import { newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';

const REPO_ROOT = path.resolve(__dirname, '../..');
const HOLDER = path.join(REPO_ROOT, 'test', 'helpers', 'claudeCodeLockHolder.ts');
const HOUR = 60 * 60_000;

let tmp: string;
let claudeDir: string;
let file: string;
let server: FakeOAuthServer;
let holders: ChildProcessWithoutNullStreams[];
let seen: unknown[];

beforeEach(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-cc-lock-')));
  claudeDir = path.join(tmp, '.claude');
  fs.mkdirSync(claudeDir, { mode: 0o700 });
  file = path.join(claudeDir, '.credentials.json');
  server = await startFakeOAuthServer();
  holders = [];
  seen = [];
});

afterEach(async () => {
  for (const holder of holders) if (holder.exitCode === null) holder.kill('SIGKILL');
  await Promise.all(
    holders.map((h) =>
      h.exitCode === null && h.signalCode === null ? new Promise((resolve) => h.once('exit', resolve)) : null,
    ),
  );
  for (const item of seen) {
    const text = `${JSON.stringify(item)} ${util.inspect(item, { depth: 10 })} ${String(item)}`;
    for (const token of server.issued) expect(text.includes(token)).toBe(false);
  }
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(`${claudeDir}.lock`, { recursive: true, force: true });
});

/** Claude Code's file with a login expiring `inMs` from now (a valid refresh token) and an MCP login of its own. */
function writeLogin(inMs: number): { access: string; refresh: string } {
  const access = newToken('oat');
  const refresh = newToken('ort');
  server.allow(refresh);
  server.issued.push(access);
  const data = {
    claudeAiOauth: {
      accessToken: access,
      refreshToken: refresh,
      expiresAt: Date.now() + inMs,
      scopes: ['user:inference', 'user:profile'],
      subscriptionType: 'max',
    },
    mcpOAuth: { keep: true },
  };
  fs.writeFileSync(file, JSON.stringify(data), { mode: 0o600 });
  return { access, refresh };
}

/** Starts the Claude Code stand-in; resolves once it holds the locks. */
async function holdClaudeCodeLock(mode: 'both' | 'legacy' | 'write'): Promise<ChildProcessWithoutNullStreams> {
  const holder = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', HOLDER, claudeDir, mode], {
    cwd: REPO_ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json') },
  });
  holders.push(holder);
  let out = '';
  let err = '';
  holder.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('locked\n')) resolve();
    });
    holder.once('exit', (code) => reject(new Error(`the lock holder exited ${code}: ${err}`)));
  });
  return holder;
}

const exited = (holder: ChildProcessWithoutNullStreams): Promise<number | null> =>
  holder.exitCode !== null ? Promise.resolve(holder.exitCode) : new Promise((resolve) => holder.once('exit', resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function refresher(lockTimeoutMs = 20_000) {
  return createTokenRefresher({
    file,
    home: tmp,
    ...claudeCodeTokens,
    tokenEndpoint: server.url,
    clientId: 'test-client',
    lockTimeoutMs,
  });
}

describe("refreshing Claude Code's .credentials.json under Claude Code's own lock", () => {
  it('should wait while Claude Code holds its refresh lock, then hand out the token it wrote without a token request', async () => {
    writeLogin(60_000);
    const holder = await holdClaudeCodeLock('both');
    const resolver = createCredentialResolver({
      env: {},
      home: path.join(tmp, '.codex'),
      claudeHome: claudeDir,
      userHome: tmp,
      sources: ['claude-code'],
      oauth: { refreshClaudeCode: true, tokenEndpoint: server.url, clientId: 'test-client' },
    });
    await resolver.load();
    let settled = false;
    const pending = Promise.resolve(
      resolver.authenticate({ provider: 'claude', sessionId: 's-1', agentId: 'a-1' }),
    ).finally(() => (settled = true));
    await sleep(800);
    expect(settled).toBe(false);
    expect(server.requests).toHaveLength(0);

    // Claude Code's refresh lands: new tokens in its file, then its locks go.
    const fresh = { accessToken: newToken('oat'), refreshToken: newToken('ort'), expiresAt: Date.now() + HOUR };
    server.allow(fresh.refreshToken);
    server.issued.push(fresh.accessToken);
    holder.stdin.write(`${JSON.stringify(fresh)}\n`);
    const auth = await pending;
    seen.push(auth);
    expect(await exited(holder)).toBe(0);
    expect(auth.secretEnv[CLAUDE_OAUTH_ENV]?.reveal()).toBe(fresh.accessToken);
    expect(server.requests).toHaveLength(0);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      claudeAiOauth: Record<string, unknown>;
      mcpOAuth: unknown;
    };
    expect(data.claudeAiOauth).toMatchObject({ accessToken: fresh.accessToken, refreshToken: fresh.refreshToken });
    expect(data.mcpOAuth).toEqual({ keep: true });
  });

  it("should wait on the legacy lock alone too, then refresh once while holding both of Claude Code's locks, and leave no lock behind", async () => {
    const old = writeLogin(60_000);
    const holder = await holdClaudeCodeLock('legacy');
    const held: boolean[] = [];
    server.beforeAnswer = async () => {
      held.push(
        await lockfile.check(claudeDir, {
          realpath: false,
          lockfilePath: path.join(claudeDir, '.oauth_refresh.lock'),
          stale: 10_000,
        }),
      );
      held.push(
        await lockfile.check(`${claudeDir}.lock`, {
          realpath: false,
          lockfilePath: `${claudeDir}.lock`,
          stale: 10_000,
        }),
      );
    };
    let settled = false;
    const pending = refresher()
      .getAccessToken()
      .finally(() => (settled = true));
    await sleep(800);
    expect(settled).toBe(false);
    expect(server.requests).toHaveLength(0);
    holder.stdin.write('release\n');
    const result = await pending;
    seen.push(result);
    expect(await exited(holder)).toBe(0);
    expect(result.refreshed).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.body).toMatchObject({ grant_type: 'refresh_token', refresh_token: old.refresh });
    expect(held).toEqual([true, true]);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth.accessToken).toBe(result.accessToken.reveal());
    expect(fs.readdirSync(claudeDir).sort()).toEqual(['.credentials.json']);
    expect(fs.existsSync(`${claudeDir}.lock`)).toBe(false);
  });

  it('should take over a lock Claude Code left behind when it died (no mtime update for 10 s)', async () => {
    writeLogin(60_000);
    const longAgo = new Date(Date.now() - 30_000);
    for (const dir of [path.join(claudeDir, '.oauth_refresh.lock'), `${claudeDir}.lock`]) {
      fs.mkdirSync(dir);
      fs.utimesSync(dir, longAgo, longAgo);
    }
    const started = Date.now();
    const result = await refresher().getAccessToken();
    seen.push(result);
    expect(result.refreshed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.existsSync(path.join(claudeDir, '.oauth_refresh.lock'))).toBe(false);
  });

  it('should give up with credentials-io (lock-timeout) after lockTimeoutMs, with no token request and the file unchanged', async () => {
    writeLogin(60_000);
    const before = fs.readFileSync(file);
    await holdClaudeCodeLock('both');
    const error = await refresher(400)
      .getAccessToken()
      .then(
        () => null,
        (e: unknown) => e,
      );
    seen.push(error);
    expect(isAgentvisorError(error, 'credentials-io')).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toEqual({
      file,
      lock: path.join(claudeDir, '.oauth_refresh.lock'),
      reason: 'lock-timeout',
    });
    expect((error as Error).message).toContain('Claude Code kept its refresh lock');
    expect(server.requests).toHaveLength(0);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("should still write the rotated tokens when Claude Code's write lock stays held past lockTimeoutMs (the old refresh token is spent)", async () => {
    const old = writeLogin(60_000);
    const holder = await holdClaudeCodeLock('write');
    const result = await refresher(400).getAccessToken();
    seen.push(result);
    expect(result.refreshed).toBe(true);
    expect(server.requests).toHaveLength(1);
    const saved = (
      JSON.parse(fs.readFileSync(file, 'utf8')) as { claudeAiOauth: { accessToken: string; refreshToken: string } }
    ).claudeAiOauth;
    expect(saved.accessToken).toBe(result.accessToken.reveal());
    expect(saved.refreshToken).not.toBe(old.refresh);
    expect(server.redeem(saved.refreshToken)).not.toBeNull();
    holder.stdin.write('release\n');
    expect(await exited(holder)).toBe(0);
  });

  it('should take no lock at all for a token that is still valid', async () => {
    const { access } = writeLogin(HOUR);
    await holdClaudeCodeLock('both');
    const result = await refresher(400).getAccessToken();
    seen.push(result);
    expect(result).toMatchObject({ refreshed: false });
    expect(result.accessToken.reveal()).toBe(access);
    expect(server.requests).toHaveLength(0);
  });
});
