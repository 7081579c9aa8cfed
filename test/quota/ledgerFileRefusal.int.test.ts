/**
 * A file ledger the orchestrator may not use (a symlinked or corrupt ledger.json, a folder that leads
 * out of the orchestrator's home): `start()` rejects with the ledger's own typed error instead of
 * degrading into generic `ledger-unavailable` refusals, and the CLI's `run` and `batch` exit 2 with
 * it. An unreachable ledger still only degrades.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { Orchestrator } from '../../src';
import { runCliSync } from '../helpers/batchCli';

const limits = { claude: { dailyLimit: 10_000, maxConcurrent: 2 }, openai: { dailyLimit: 10_000, maxConcurrent: 2 } };
const LEDGER_CONTENT = `${JSON.stringify({ format: 'agentvisor-quota-ledger', version: 2, reservations: {}, days: {} })}\n`;

let dir: string;
let home: string;
let outside: string;
let file: string;
let created: string[];

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-refusal-')));
  home = path.join(dir, '.codex');
  outside = path.join(dir, 'outside');
  file = path.join(home, 'agentvisor', 'ledger.json');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(outside);
  created = [];
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const p of created) fs.rmSync(p, { recursive: true, force: true });
});

/** Starts an orchestrator on the default file ledger; resolves to the error start() rejected with (null when it started). */
async function startError(
  options: { home?: string; events?: string[] } = {},
): Promise<{ orch: Orchestrator; error: unknown }> {
  const orch = createOrchestrator({
    env: {},
    credentialSources: ['env'],
    home: options.home ?? home,
    limits,
    ledger: 'file',
  });
  orch.on('ledger.degraded', () => options.events?.push('degraded'));
  const error = await orch.start().then(
    () => null,
    (e: unknown) => e,
  );
  return { orch, error };
}

function symlinkedLedger(): string {
  fs.mkdirSync(path.dirname(file));
  const target = path.join(outside, 'ledger.json');
  fs.writeFileSync(target, LEDGER_CONTENT, { mode: 0o644 });
  fs.symlinkSync(target, file);
  return target;
}

describe('orchestrator start on a file ledger it may not use', () => {
  it(
    "should reject with the ledger's insecure-permissions (reason and what to do) for a symlinked ledger.json, " +
      'not degrade, and leave link and target alone',
    async () => {
      const target = symlinkedLedger();
      const events: string[] = [];
      const { orch, error } = await startError({ events });
      expect(isAgentvisorError(error, 'insecure-permissions')).toBe(true);
      const refused = error as { message: string; details: Record<string, unknown> };
      expect(refused.details).toEqual({ backend: 'file', file, reason: 'symlink' });
      expect(refused.message).toContain(`Ledger file ${file} is a symbolic link (to ${target})`);
      expect(refused.message).toContain('Replace the link with the file it points at');
      expect(events).toEqual([]);
      // Never started: nothing can be admitted (rather than refusing each spawn with ledger-unavailable).
      await expect(orch.spawnAgent({ estimatedTokens: 100 })).rejects.toMatchObject({ code: 'not-started' });
      await orch.stop();
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(target, 'utf8')).toBe(LEDGER_CONTENT);
      expect(fs.statSync(target).mode & 0o777).toBe(0o644);
    },
  );

  it('should reject with ledger-corrupt for a ledger file it cannot read, leaving it byte for byte', async () => {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '{"format":', { mode: 0o600 });
    const { orch, error } = await startError();
    expect(isAgentvisorError(error, 'ledger-corrupt')).toBe(true);
    await orch.stop();
    expect(fs.readFileSync(file, 'utf8')).toBe('{"format":');
  });

  it("should hold a symlinked ledger folder to the orchestrator's home, not the user's", async () => {
    // Inside the orchestrator's home (but not the user's HOME): used.
    expect(path.relative(os.homedir(), dir).startsWith('..')).toBe(true);
    fs.mkdirSync(path.join(home, 'ledger-real'));
    fs.symlinkSync(path.join(home, 'ledger-real'), path.join(home, 'agentvisor'));
    const inside = await startError();
    expect(inside.error).toBeNull();
    await inside.orch.stop();
    expect(JSON.parse(fs.readFileSync(path.join(home, 'ledger-real', 'ledger.json'), 'utf8'))).toMatchObject({
      format: 'agentvisor-quota-ledger',
    });

    // Inside the user's HOME but outside the orchestrator's home: refused, nothing written there.
    const inUserHome = fs.mkdtempSync(path.join(os.homedir(), 'shared-ledger-'));
    created.push(inUserHome);
    fs.unlinkSync(path.join(home, 'agentvisor'));
    fs.symlinkSync(inUserHome, path.join(home, 'agentvisor'));
    const refused = await startError();
    expect(isAgentvisorError(refused.error, 'insecure-permissions')).toBe(true);
    expect((refused.error as { details: Record<string, unknown> }).details).toMatchObject({
      reason: 'symlink-outside-home',
    });
    expect((refused.error as Error).message).toContain(`resolves outside ${home}`);
    await refused.orch.stop();
    expect(fs.readdirSync(inUserHome)).toEqual([]);
  });

  it('should still start (degraded, fail-closed) when a shared ledger only cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const orch = createOrchestrator({
      env: {},
      credentialSources: ['env'],
      home,
      limits,
      ledger: { redis: `redis://127.0.0.1:${port}`, syncIntervalMs: 200 },
    });
    await orch.start();
    expect(orch.stats().ledger).toMatchObject({ backend: 'redis', state: 'degraded' });
    await expect(orch.spawnAgent({ estimatedTokens: 100 })).rejects.toMatchObject({ code: 'ledger-unavailable' });
    await orch.stop();
  });
});

describe('the CLI on a symlinked ledger.json', () => {
  const cli = (args: string[]) =>
    runCliSync(args, { cwd: dir, home: dir, env: { CODEX_HOME: home, CLAUDE_CONFIG_DIR: path.join(dir, '.claude') } });

  it.each([
    ['run', ['run', 'say hi']],
    ['batch', ['batch', 'tasks.jsonl', '--no-journal']],
  ])('should make `%s` exit 2 with the reason and what to do, before any agent starts', (_name, args) => {
    const target = symlinkedLedger();
    fs.writeFileSync(path.join(dir, 'tasks.jsonl'), '{"id":"t1","task":"say hi"}\n');
    const { status, stdout, stderr } = cli(['--json', '--no-audit', ...args]);
    expect(stderr).toContain(`agentvisor: Ledger file ${file} is a symbolic link (to ${target})`);
    expect(stderr).toContain('[insecure-permissions]');
    expect(stderr).not.toContain('ledger-unavailable');
    // Said once, as the command's error: not also logged as a failed ledger operation.
    expect(stderr).not.toContain('quota ledger operation failed');
    expect(status).toBe(2);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({
      ok: false,
      error: { code: 'insecure-permissions' },
    });
    expect(fs.readFileSync(target, 'utf8')).toBe(LEDGER_CONTENT);
  });
});
