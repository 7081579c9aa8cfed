/**
 * `agentvisor quota`: usage recorded in the file ledger under --home by one process is shown by
 * another, with a provider paused by a usage limit; an empty home is read without being created;
 * a ledger path that leads nowhere through a symlink is refused as `run` and `batch` refuse it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator } from '../../src';
import { lastJson, runCliSync } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');
const KEY = 'sk-ant-api03-QUOTAtestKEY-00aa';
let dir: string;
let home: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-quota-'));
  home = path.join(dir, 'codex');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function quota(): CliEnd & { json: Record<string, unknown> } {
  const result = runCliSync(['--home', home, '--json', 'quota'], { cwd: root, home: dir });
  return { ...result, json: lastJson(result.stdout) };
}

describe('agentvisor quota', () => {
  it('should show the usage and the pause another process recorded in the ledger under --home', async () => {
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: KEY },
      credentialSources: ['env'],
      home,
      ledger: 'file',
      fallbackChain: ['claude'],
    });
    await orch.start();
    const a = await orch.spawnAgent({ estimatedTokens: 5_000 });
    a.reportUsage({ inputTokens: 1_200, outputTokens: 34 });
    const until = Date.now() + 3 * 60 * 60_000;
    const resets = new Date(until);
    const label = `${((resets.getUTCHours() + 11) % 12) + 1}:${String(resets.getUTCMinutes()).padStart(2, '0')}${resets.getUTCHours() < 12 ? 'am' : 'pm'}`;
    await a
      .reportFailure({
        status: 429,
        body: {
          type: 'error',
          error: { type: 'rate_limit_error', message: `You've hit your limit · resets ${label} (UTC)` },
        },
      })
      .catch(() => undefined);
    await orch.stop();

    const { status, json, stdout, stderr } = quota();
    expect(status).toBe(0);
    expect(json).toMatchObject({ ok: true, exists: true, ledger: path.join(home, 'agentvisor', 'ledger.json') });
    const claude = (json.providers as Record<string, unknown>[])[0]!;
    expect(claude).toMatchObject({
      provider: 'claude',
      used: 1_234,
      reserved: 0,
      active: 0,
      dailyLimit: 1_000_000,
      available: 1_000_000 - 1_234,
      pauseReason: 'quota',
    });
    expect(Date.parse(String(claude.pausedUntil))).toBe(Math.floor(until / 60_000) * 60_000);
    expect(`${stdout}${stderr}`).not.toContain(KEY);

    // `status` shows the same pause.
    const statusRun = runCliSync(['--home', home, 'status'], { cwd: root, home: dir });
    expect(statusRun.stdout).toContain(
      `claude: paused until ${new Date(Math.floor(until / 60_000) * 60_000).toISOString()} (a usage limit; it resumes by itself)`,
    );
  });

  it('should show an empty day without creating anything when nothing was recorded, also through a symlinked home', () => {
    const { status, json } = quota();
    expect(status).toBe(0);
    expect(json).toMatchObject({ ok: true, exists: false });
    expect((json.providers as { used: number }[]).map((p) => p.used)).toEqual([0, 0]);
    expect(fs.existsSync(home)).toBe(false);
    const realHome = path.join(dir, 'real-codex');
    fs.mkdirSync(realHome);
    fs.symlinkSync(realHome, home);
    expect(quota()).toMatchObject({ status: 0, json: { ok: true, exists: false } });
    expect(fs.readdirSync(realHome)).toEqual([]);
  });

  it.each([
    ['ledger.json is a symlink to a missing file', 'symlink'],
    ['its folder is a symlink to a missing folder', 'dangling-symlink'],
  ])('should exit 2 with insecure-permissions when %s, as run and batch do, creating nothing', (_, reason) => {
    const missing = path.join(dir, 'missing');
    fs.mkdirSync(path.join(home, 'agentvisor'), { recursive: true });
    if (reason === 'symlink')
      fs.symlinkSync(path.join(missing, 'ledger.json'), path.join(home, 'agentvisor', 'ledger.json'));
    else {
      fs.rmdirSync(path.join(home, 'agentvisor'));
      fs.symlinkSync(missing, path.join(home, 'agentvisor'));
    }
    const { status, stdout, json } = quota();
    expect(status).toBe(2);
    expect(json).toMatchObject({ ok: false, error: { code: 'insecure-permissions' } });
    expect(stdout).toContain(reason === 'symlink' ? 'symbolic link' : 'missing folder');
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('should read a ledger without rewriting it: an expired lease, a version 1 file and an old day stay byte for byte', () => {
    const file = path.join(home, 'agentvisor', 'ledger.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const today = new Date().toISOString().slice(0, 10);
    const v1 = `${JSON.stringify({
      format: 'agentvisor-quota-ledger',
      version: 1,
      reservations: {
        gone: { provider: 'claude', tokens: 500, expiresAt: 1_000 },
        live: { provider: 'claude', tokens: 300, expiresAt: Date.now() + 3_600_000 },
      },
      days: {
        '2020-01-01': { used: { claude: 5, openai: 0 }, settled: {}, expired: {} },
        [today]: { used: { claude: 40, openai: 0 }, settled: {}, expired: {} },
      },
    })}\n`;
    fs.writeFileSync(file, v1, { mode: 0o600 });
    const before = fs.statSync(file);
    const { status, json } = quota();
    expect(status).toBe(0);
    expect((json.providers as object[])[0]).toMatchObject({ provider: 'claude', reserved: 300, active: 1 });
    expect(fs.readFileSync(file, 'utf8')).toBe(v1);
    expect(fs.statSync(file).ino).toBe(before.ino);
  });
});
