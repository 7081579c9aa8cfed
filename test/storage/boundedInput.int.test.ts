import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Secret } from '../../machines/secret';
import { parseBatchTasks } from '../../src/agents';
import { maskUrl } from '../../src/cli/displayUrl';
import { verifyKey } from '../../src/credentials';
import { isAgentvisorError } from '../../src/errors';
import { requestRefreshGrant } from '../../src/oauth';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');
const CLAUDE_KEY = `sk-ant-api03-${'BoundedInputBody'}${'b'.repeat(70)}Bi1z`;
const URL_SECRET = 'UrlQuerySecretValue123';
const URL_PASSWORD = 'UrlPasswordValue456';

let dir: string;
let server: http.Server;
let base: string;
let bytesSent = 0;

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bounded-input-')));
  bytesSent = 0;
  // An answer that never ends: 64 KB chunks for as long as the client reads.
  server = http.createServer((req, res) => {
    res.writeHead(req.url?.includes('ok') === true ? 200 : 500, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) bytesSent += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    CODEX_HOME: path.join(dir, '.codex'),
    CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
    TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
    ...extra,
  };
}

describe('keys on stdin', () => {
  it('should end `yes | agentvisor login claude --api-key -` quickly with exit 2 and store nothing', async () => {
    const yes = spawn('yes', [], { stdio: ['ignore', 'pipe', 'ignore'] });
    const cli = spawn(
      process.execPath,
      ['-r', TS_NODE, path.join(root, 'src', 'cli', 'main.ts'), 'login', 'claude', '--api-key', '-'],
      { cwd: dir, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    yes.stdout.pipe(cli.stdin);
    cli.stdin.on('error', () => undefined);
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    const status = await new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    yes.kill('SIGKILL');
    await new Promise((resolve) =>
      yes.exitCode !== null || yes.signalCode !== null ? resolve(null) : yes.on('exit', resolve),
    );
    expect(status).toBe(2);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(stderr).toContain('longer than 64 KB');
    expect(fs.existsSync(path.join(dir, '.codex', 'claude_auth.json'))).toBe(false);
  }, 60_000);

  it('should still take a key piped in with its line break', () => {
    const r = spawnSync(
      process.execPath,
      ['-r', TS_NODE, path.join(root, 'src', 'cli', 'main.ts'), 'login', 'claude', '--api-key', '-'],
      { cwd: dir, env: cliEnv(), input: `${CLAUDE_KEY}\n`, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(CLAUDE_KEY.slice(8, 40));
  });
});

describe('HTTP bodies', () => {
  it('should give verifyKey a verdict on an endless error body after reading about 1 MB', async () => {
    const v = await verifyKey({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: base, timeoutMs: 20_000 });
    expect(v).toMatchObject({ verdict: 'server-error', status: 500 });
    expect(v.message).toContain('larger than 1 MB');
    // The server keeps writing until the socket closes; the client stopped near the bound.
    expect(bytesSent).toBeLessThan(64 * 1024 * 1024);
  });

  it('should fail a token request whose answer is endless with a bad-response error', async () => {
    const error = await requestRefreshGrant({
      tokenEndpoint: `${base}/ok`,
      clientId: 'c',
      refreshToken: new Secret('r'.repeat(40)),
      timeoutMs: 20_000,
      now: Date.now,
      fetch,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAgentvisorError(error)).toBe(true);
    expect((error as Error).message).toContain('larger than 1 MB');
    expect(bytesSent).toBeLessThan(64 * 1024 * 1024);
  });

  it('should end `agentvisor test` against an endless body, and mask the base URL it prints', async () => {
    const secretUrl = `http://user:${URL_PASSWORD}@127.0.0.1:1/v1?api_key=${URL_SECRET}`;
    // Not spawnSync: the fake server runs in this process and must keep serving.
    const run = (baseUrl: string, args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-r', TS_NODE, path.join(root, 'src', 'cli', 'main.ts'), ...args], {
          cwd: dir,
          env: cliEnv({ ANTHROPIC_API_KEY: CLAUDE_KEY, ANTHROPIC_BASE_URL: baseUrl }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const endless = await run(base, ['--json', 'test', '--provider', 'claude']);
    expect(endless.status).toBe(1);
    expect(JSON.parse(endless.stdout.trim().split('\n').pop()!).results[0]).toMatchObject({
      verdict: 'server-error',
      status: 500,
    });
    for (const args of [
      ['test', '--provider', 'claude'],
      ['--json', 'test', '--provider', 'claude'],
      ['providers'],
      ['--json', 'providers'],
    ]) {
      const r = await run(secretUrl, args);
      const text = `${r.stdout}${r.stderr}`;
      expect(text).toContain('http://***@127.0.0.1:1/v1?***');
      for (const secret of [URL_SECRET, URL_PASSWORD, CLAUDE_KEY.slice(8, 40)]) expect(text).not.toContain(secret);
    }
  }, 120_000);
});

describe('maskUrl', () => {
  it('should mask user info, query and fragment and keep the rest', () => {
    expect(maskUrl(`http://user:${URL_PASSWORD}@h/v1?api_key=${URL_SECRET}`)).toBe('http://***@h/v1?***');
    expect(maskUrl('https://api.openai.com/v1')).toBe('https://api.openai.com/v1');
    expect(maskUrl('http://h:8080?k=1#frag')).toBe('http://h:8080?***#***');
    expect(maskUrl(`not a url?key=${URL_SECRET}`)).toBe('not a url?***');
  });
});

describe('batch lines', () => {
  it('should refuse a line over 1 MB with an invalid-option error naming the line, without quoting it', () => {
    const long = JSON.stringify({ id: 't2', task: `${URL_SECRET}${'y'.repeat(1024 * 1024)}` });
    let error: unknown;
    try {
      parseBatchTasks(`{"id":"t1","task":"ok"}\n${long}\n`, { source: 'tasks.jsonl' });
    } catch (e) {
      error = e;
    }
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toMatch(/^tasks\.jsonl line 2: longer than 1 MB/);
    expect((error as Error).message).not.toContain(URL_SECRET);
    // A long line under the bound is parsed, its task within the 128 KiB that one argv string can hold.
    expect(parseBatchTasks(`{"id":"t1","task":"${'z'.repeat(128 * 1024 - 1)}"}`)).toHaveLength(1);
  });
});
