/**
 * `agentvisor run` with the real Claude Code against the loopback fake, watched from inside its own
 * process: it loads neither zod, pino nor node:http and makes no Intl call (each costs milliseconds, the
 * first two tens of ms, before the agent starts), and still succeeds, leaving no agent home behind. Beside it, the real Claude Code
 * in an empty config folder writes the migration version agentvisor seeds its homes with, and skips
 * its migrations in a seeded one.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { claudeCodeInvocation } from '../../src/agents';
import { CLAUDE_CODE_MIGRATION_VERSION, claudeCodeConfigSeed, createAgentHome } from '../../src/agents/agentHome';
import { AGENT_QUIET_ENV } from '../../src/providers';
import { startProviderApiFake } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { agentBin } from '../helpers/cliHome';

// Test key only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'RunStartupTestKey'}${'q'.repeat(60)}Rs1a`;
const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');
const PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');

/** Preloaded into the CLI: at exit it writes which of the watched packages were loaded and which Intl calls src/ made. */
const WATCH = `
const fs = require('fs');
const calls = [];
const note = (what) => {
  const frame = new Error().stack.split('\\n').slice(2).find((line) => line.includes('/src/') && !line.includes('node_modules'));
  if (frame !== undefined) calls.push(what + ' ' + frame.trim());
};
for (const name of ['DateTimeFormat', 'NumberFormat', 'PluralRules', 'Collator']) {
  const Real = Intl[name];
  Intl[name] = new Proxy(Real, {
    construct: (target, args) => (note(name), new target(...args)),
    apply: (target, self, args) => (note(name), target(...args)),
  });
}
const watched = [
  [Number.prototype, 'toLocaleString'],
  [Date.prototype, 'toLocaleString'],
  [Date.prototype, 'toLocaleDateString'],
  [Date.prototype, 'toLocaleTimeString'],
];
for (const [proto, method] of watched) {
  const real = proto[method];
  proto[method] = function (...args) { note(method); return real.apply(this, args); };
}
process.on('exit', () => {
  const loaded = (pkg) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + pkg + '/'));
  const http = process.moduleLoadList.includes('NativeModule http');
  fs.writeFileSync(process.env.RUN_STARTUP_REPORT, JSON.stringify({ zod: loaded('zod'), pino: loaded('pino'), http, intl: calls }));
});
`;

let fake: ProviderApiFake;
let dir: string;

beforeAll(() => {
  agentBin('claude');
});

beforeEach(async () => {
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY } });
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-run-startup-')));
  for (const sub of ['work', 'tmp', '.codex', '.claude']) fs.mkdirSync(path.join(dir, sub));
});

afterEach(async () => {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a process to its end without blocking this event loop (the fake answers from it). */
function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A port nothing listens on right now (the system's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runCli(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  fs.writeFileSync(path.join(dir, 'watch.js'), WATCH);
  return run(
    process.execPath,
    ['-r', TS_NODE, '-r', path.join(dir, 'watch.js'), path.join(root, 'src', 'cli', 'main.ts'), ...args],
    {
      PATH,
      HOME: dir,
      TMPDIR: path.join(dir, 'tmp'),
      CODEX_HOME: path.join(dir, '.codex'),
      CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
      TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      RUN_STARTUP_REPORT: path.join(dir, 'report.json'),
    },
    path.join(dir, 'work'),
  );
}

describe('agentvisor run, from the inside', () => {
  it('should run Claude Code without loading zod, pino or node:http and without any Intl call, and remove the agent home', async () => {
    const { status, stdout, stderr } = await runCli(['run', '--agent', 'claude', 'say pong']);
    expect({ status, stdout }).toEqual({ status: 0, stdout: 'pong\n' });
    expect(stderr).toContain('done on claude with claude-code: 15 tokens (10 in, 5 out)');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'))).toEqual({
      zod: false,
      pino: false,
      http: false,
      intl: [],
    });
    expect(fs.readdirSync(path.join(dir, 'tmp')).filter((name) => name.startsWith('agentvisor-agent-'))).toEqual([]);
    for (const text of [stdout, stderr]) expect(text).not.toContain(CLAUDE_KEY.slice(12, 40));
  });

  it('should still load pino when asked to log and node:http when asked for metrics, and the watch sees both (the check above can fail)', async () => {
    const port = await freePort();
    const { status } = await runCli([
      '--log-level',
      'info',
      '--metrics-port',
      String(port),
      'run',
      '--agent',
      'claude',
      'say pong',
    ]);
    expect(status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'))).toMatchObject({
      pino: true,
      http: true,
    });
  });
});

describe('bin/agentvisor.js', () => {
  it('should keep a V8 code cache under $XDG_CACHE_HOME/agentvisor and answer the same from it (needs npm run build)', async () => {
    const bin = path.join(root, 'bin', 'agentvisor.js');
    const compiled = path.join(root, 'dist', 'src', 'cli', 'compileCache.js');
    if (!fs.existsSync(compiled))
      throw new Error(`${compiled} is missing: run npm run build (npm ci does) before this test`);
    const env = { PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
    const first = await run(process.execPath, [bin, '--version'], env, dir);
    const [folder, ...others] = fs.readdirSync(path.join(dir, 'cache', 'agentvisor'));
    expect({ folder, others }).toEqual({
      folder: expect.stringMatching(/^compile-\d+\.\d+\.\d+.*-v\d+\.\d+\.\d+-/),
      others: [],
    });
    const cached = fs.readdirSync(path.join(dir, 'cache', 'agentvisor', folder!));
    // The CLI bundle (dist/cli.cjs) is one module: one cache file, more when it runs from dist/src.
    expect(cached.length).toBeGreaterThan(0);
    const second = await run(process.execPath, [bin, '--version'], env, dir);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ status: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/), stderr: '' });
    expect(fs.readdirSync(path.join(dir, 'cache', 'agentvisor', folder!)).sort()).toEqual(cached.sort());
  });
});

describe("Claude Code's config migrations", () => {
  /** Runs the real Claude Code once with `env` in `cwd`; returns the `.claude.json` it left in `configDir`. */
  async function claudeConfigAfterRun(
    args: readonly string[],
    env: Record<string, string>,
    configDir: string,
  ): Promise<Record<string, unknown>> {
    const end = await run(agentBin('claude'), args, env, path.join(dir, 'work'));
    expect({ status: end.status, pong: end.stdout.includes('pong') }).toEqual({ status: 0, pong: true });
    return JSON.parse(fs.readFileSync(path.join(configDir, '.claude.json'), 'utf8')) as Record<string, unknown>;
  }

  it('should record in an empty folder what agentvisor seeds, and write nothing to a seeded folder', async () => {
    const empty = await claudeConfigAfterRun(
      ['-p', '--output-format', 'json', 'say pong'],
      {
        PATH,
        HOME: dir,
        CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
        TMPDIR: path.join(dir, 'tmp'),
        ...AGENT_QUIET_ENV,
        ANTHROPIC_API_KEY: CLAUDE_KEY,
        ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      },
      path.join(dir, '.claude'),
    );
    expect(empty.migrationVersion).toBe(CLAUDE_CODE_MIGRATION_VERSION);
    // Every key of the seed is one a first run writes, in the same shape.
    const seed = claudeCodeConfigSeed();
    for (const [key, value] of Object.entries(seed)) expect([key, typeof empty[key]]).toEqual([key, typeof value]);
    expect(empty.userID).toMatch(/^[0-9a-f]{64}$/);
    expect(empty.machineID).toMatch(/^[0-9a-f]{64}$/);

    const home = createAgentHome({ parent: path.join(dir, 'tmp') });
    try {
      const file = path.join(home.claudeConfigDir, '.claude.json');
      const before = fs.readFileSync(file, 'utf8');
      const { args, env } = claudeCodeInvocation({
        task: 'say pong',
        agentEnv: { ...AGENT_QUIET_ENV, ANTHROPIC_API_KEY: CLAUDE_KEY, ANTHROPIC_BASE_URL: fake.anthropicBaseUrl },
        home,
        hostEnv: { PATH },
        sandbox: 'read-only',
      });
      const seeded = await claudeConfigAfterRun(args, env, home.claudeConfigDir);
      // Claude Code found nothing to add: the file is as agentvisor wrote it, and no backup of it was made.
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
      expect(fs.existsSync(path.join(home.claudeConfigDir, 'backups'))).toBe(false);
      // What the migrations wrote in the empty folder, the seeded one never got.
      const migrated = Object.keys(empty).filter((key) => !(key in seeded));
      expect(migrated.length).toBeGreaterThan(0);
      expect(Object.keys(seeded).every((key) => key in empty)).toBe(true);
    } finally {
      home.remove();
    }
  });
});
