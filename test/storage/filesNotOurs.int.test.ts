import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openBatchJournal } from '../../src/agents';
import { resolveJournalChoice } from '../../src/cli/batchJournalChoice';
import { createOrchestrator } from '../../src';
import { isAgentvisorError } from '../../src/errors';
import { AuditTrail, resolveAuditOptions } from '../../src/observability';
import { createFileLedger } from '../../src/quota';
import { tempFileName, writeFileAtomic } from '../../src/storage/atomicFile';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

// Test keys only: well-formed, never real. Every one is checked against every command's output.
const CLAUDE_KEY = `sk-ant-api03-${'NotOursClaudeBody'}${'c'.repeat(70)}Nq1z`;
const OPENAI_KEY = `sk-proj-${'AgentvisorStoredBody'}${'o'.repeat(40)}Av3c`;
const CODEX_OWN_KEY = `sk-proj-${'CodexOwnLoginBody'}${'k'.repeat(40)}Cx7w`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY, CODEX_OWN_KEY];
/** Codex's ChatGPT login as Codex writes it (every token a string), so the file is one agentvisor reads. */
const CODEX_LOGIN = {
  id_token: 'header.payload.signature',
  access_token: 'codex-access',
  refresh_token: 'codex-refresh',
  account_id: 'acct-1',
};

let dir: string;
let home: string;
let outside: string;
let outputs: string[];

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'files-not-ours-')));
  home = path.join(dir, '.codex');
  outside = path.join(dir, 'outside');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(outside);
  outputs = [];
});

afterEach(() => {
  for (const text of outputs) for (const secret of SECRETS) expect(text).not.toContain(secret.slice(8, 40));
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], input = '') {
  const result = spawnSync(process.execPath, ['-r', TS_NODE, path.join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      CODEX_HOME: home,
      CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
      TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
    },
    input,
    timeout: 60_000,
  });
  outputs.push(result.stdout, result.stderr);
  return result;
}

const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const writeJson = (file: string, value: unknown): void =>
  fs.writeFileSync(file, `${JSON.stringify(value)}\n`, { mode: 0o600 });

describe('logout: only what agentvisor stored', () => {
  it('should leave the key Codex stored itself in auth.json and say that `codex logout` removes it', () => {
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'apikey', OPENAI_API_KEY: CODEX_OWN_KEY, tokens: null });
    const { status, stdout } = cli(['logout', 'openai']);
    expect(status).toBe(0);
    expect(stdout).toContain('nothing to remove');
    expect(stdout).toMatch(
      /OPENAI_API_KEY in .*auth\.json was not stored by `agentvisor login`.*`codex logout` removes it/,
    );
    expect(readJson(path.join(home, 'auth.json'))).toEqual({
      auth_mode: 'apikey',
      OPENAI_API_KEY: CODEX_OWN_KEY,
      tokens: null,
    });
  });

  it('should remove the key its own login wrote, and forget its record', () => {
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'chatgpt', tokens: CODEX_LOGIN });
    expect(cli(['login', 'openai', '--api-key', '-'], OPENAI_KEY).status).toBe(0);
    const record = fs.readFileSync(path.join(home, 'agentvisor', 'stored-keys.json'), 'utf8');
    expect(record).not.toContain(OPENAI_KEY.slice(8, 40));
    const out = cli(['--json', 'logout', 'openai']);
    expect(out.status).toBe(0);
    const last = JSON.parse(out.stdout.trim().split('\n').pop()!) as { results: unknown[] };
    expect(last.results).toEqual([
      {
        provider: 'openai',
        file: path.join(home, 'auth.json'),
        removed: ['OPENAI_API_KEY'],
        leftAlone: [],
        deleted: false,
      },
    ]);
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ auth_mode: 'chatgpt', tokens: CODEX_LOGIN });
    expect(readJson(path.join(home, 'agentvisor', 'stored-keys.json')).keys).toEqual({});
  });

  it('should leave a key Codex wrote over the one agentvisor stored', () => {
    expect(cli(['login', 'openai', '--api-key', OPENAI_KEY]).status).toBe(0);
    writeJson(path.join(home, 'auth.json'), { OPENAI_API_KEY: CODEX_OWN_KEY });
    const { status, stdout } = cli(['--json', 'logout', 'all']);
    expect(status).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').pop()!).results[1]).toMatchObject({
      provider: 'openai',
      removed: [],
      leftAlone: ['OPENAI_API_KEY'],
    });
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ OPENAI_API_KEY: CODEX_OWN_KEY });
  });
});

describe('temp files of interrupted credential writes', () => {
  const leftovers = (file: string) => [
    tempFileName(file, 999_999, 'a1b2c3d4e5f6'),
    path.join(path.dirname(file), `.${path.basename(file)}.999998.0123456789ab.tmp`),
  ];

  it('should be removed by a logout even when the credentials file was never renamed into place', () => {
    const file = path.join(home, 'claude_auth.json');
    const temps = leftovers(file);
    for (const t of temps) fs.writeFileSync(t, JSON.stringify({ ANTHROPIC_API_KEY: CLAUDE_KEY }), { mode: 0o600 });
    // Not ours: another file's temp, and a name of another shape.
    const other = tempFileName(path.join(home, 'auth.json'), 999_999, 'a1b2c3d4e5f6');
    const bystander = path.join(home, `.claude_auth.json.backup`);
    fs.writeFileSync(other, 'x');
    fs.writeFileSync(bystander, 'x');
    expect(cli(['logout', 'claude']).status).toBe(0);
    for (const t of temps) expect(fs.existsSync(t)).toBe(false);
    expect(fs.existsSync(other)).toBe(true);
    expect(fs.existsSync(bystander)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('should be removed by the next login, and no temp outlives the write', () => {
    const file = path.join(home, 'auth.json');
    const temps = leftovers(file);
    for (const t of temps) fs.writeFileSync(t, OPENAI_KEY, { mode: 0o600 });
    expect(cli(['login', 'openai', '--api-key', OPENAI_KEY]).status).toBe(0);
    expect(fs.readdirSync(home).filter((n) => n.startsWith('.auth.json.'))).toEqual([]);
  });

  it('should be removed before the file ledger (or any caller) writes the same file, and nothing else changes', async () => {
    const file = path.join(home, 'agentvisor', 'ledger.json');
    fs.mkdirSync(path.dirname(file));
    const [temp] = leftovers(file);
    fs.writeFileSync(temp!, '{"half":');
    await writeFileAtomic(file, '{"v":1}\n', { ioError: (_action, error) => error as Error });
    expect(fs.readFileSync(file, 'utf8')).toBe('{"v":1}\n');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['ledger.json']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('audit trail: no symlinks out of the home', () => {
  it('should not write or chmod a file that a symlinked audit.jsonl points at outside the home', () => {
    const target = path.join(outside, 'victim.txt');
    fs.writeFileSync(target, 'precious\n', { mode: 0o644 });
    fs.mkdirSync(path.join(home, 'audit'));
    fs.symlinkSync(target, path.join(home, 'audit', 'audit.jsonl'));
    const { status, stderr } = cli(['login', 'claude', '--api-key', CLAUDE_KEY]);
    expect(status).toBe(0);
    expect(stderr).toMatch(/audit entry was not written: Audit path .*audit\.jsonl is a symlink/);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
    expect(fs.statSync(target).mode & 0o777).toBe(0o644);
  });

  it('should refuse a symlinked audit folder that resolves outside the home, and accept one inside it', async () => {
    fs.symlinkSync(outside, path.join(home, 'audit'));
    const errors: unknown[] = [];
    const trail = new AuditTrail(resolveAuditOptions(true, home)!, { onError: (e) => errors.push(e) });
    trail.record({ event: 'auth.login', provider: 'claude' });
    await trail.close();
    expect(errors).toHaveLength(1);
    expect(isAgentvisorError(errors[0], 'insecure-permissions') && errors[0].details).toMatchObject({
      reason: 'symlink-outside-home',
    });
    expect(fs.readdirSync(outside)).toEqual([]);

    fs.unlinkSync(path.join(home, 'audit'));
    fs.mkdirSync(path.join(home, 'audit-real'));
    fs.symlinkSync(path.join(home, 'audit-real'), path.join(home, 'audit'));
    const inside = new AuditTrail(resolveAuditOptions(true, home)!, { onError: (e) => errors.push(e) });
    inside.record({ event: 'auth.login', provider: 'claude' });
    await inside.close();
    expect(errors).toHaveLength(1);
    expect(fs.readFileSync(path.join(home, 'audit-real', 'audit.jsonl'), 'utf8')).toContain('"auth.login"');
  });
});

describe('audit trail: a custom audit.dir is held to the home too', () => {
  it('should refuse, from an orchestrator, a custom audit dir below a symlink that leads out of the home, and write one that stays inside', async () => {
    const limits = { claude: { dailyLimit: 100, maxConcurrent: 1 }, openai: { dailyLimit: 100, maxConcurrent: 1 } };
    const auditOneRefusal = async (auditDir: string): Promise<void> => {
      const orch = createOrchestrator({
        env: { ANTHROPIC_API_KEY: CLAUDE_KEY },
        credentialSources: ['env'],
        home,
        limits,
        audit: { dir: auditDir, flushIntervalMs: 10 },
      });
      await orch.start();
      // Larger than any daily limit: refused at once, which the trail records as agent.refused.
      await expect(orch.spawnAgent({ estimatedTokens: 1_000 })).rejects.toMatchObject({ code: 'quota-exhausted' });
      await orch.stop();
    };
    // <home>/logs leads outside the home: the folder above the custom dir is not the home to check against.
    fs.symlinkSync(outside, path.join(home, 'logs'));
    await auditOneRefusal(path.join(home, 'logs', 'audit'));
    expect(fs.readdirSync(outside)).toEqual([]);

    fs.unlinkSync(path.join(home, 'logs'));
    fs.mkdirSync(path.join(home, 'kept-logs'));
    fs.symlinkSync(path.join(home, 'kept-logs'), path.join(home, 'logs'));
    await auditOneRefusal(path.join(home, 'logs', 'audit'));
    expect(fs.readFileSync(path.join(home, 'kept-logs', 'audit', 'audit.jsonl'), 'utf8')).toContain('"agent.refused"');
  });

  it('should keep the home in the resolved options', () => {
    expect(resolveAuditOptions({ dir: path.join(outside, 'audit') }, home)).toMatchObject({
      dir: path.join(outside, 'audit'),
      home,
    });
  });
});

describe('ledger.json: never through a symlink, never out of the home', () => {
  const limits = { claude: { dailyLimit: 10_000, maxConcurrent: 2 }, openai: { dailyLimit: 10_000, maxConcurrent: 2 } };
  const ledgerAt = (file: string, options: { home?: string } = {}) => createFileLedger({ file, limits, ...options });
  const reserve = (ledger: ReturnType<typeof createFileLedger>) =>
    ledger.reserve({ provider: 'claude', sessionId: 's-1', tokens: 100, leaseMs: 60_000 });
  const refusal = async (
    run: () => Promise<unknown>,
  ): Promise<{ code: string; message: string; details: Record<string, unknown> }> => {
    const error = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAgentvisorError(error, 'insecure-permissions')).toBe(true);
    return error as { code: string; message: string; details: Record<string, unknown> };
  };

  it('should refuse a symlinked ledger.json (target outside or inside the home), never replacing the link or touching the target', async () => {
    const file = path.join(home, 'agentvisor', 'ledger.json');
    fs.mkdirSync(path.dirname(file));
    const targets = [path.join(outside, 'notes.json'), path.join(home, 'elsewhere.json')];
    for (const target of targets) {
      fs.writeFileSync(target, '{"mine":true}\n', { mode: 0o644 });
      fs.rmSync(file, { force: true });
      fs.symlinkSync(target, file);
      const ledger = ledgerAt(file, { home });
      const error = await refusal(() => reserve(ledger));
      expect(error.details).toEqual({ backend: 'file', file, reason: 'symlink' });
      expect(error.message).toContain(`is a symbolic link (to ${target})`);
      expect(error.message).toContain('Replace the link with the file it points at');
      await refusal(() => ledger.snapshot());
      await ledger.close();
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(target, 'utf8')).toBe('{"mine":true}\n');
      expect(fs.statSync(target).mode & 0o777).toBe(0o644);
    }
    expect(fs.readdirSync(path.dirname(file)).filter((n) => n !== 'ledger.json')).toEqual([]);
  });

  it("should refuse a ledger folder that leads out of the home (the default home is the user's), and use one that stays inside", async () => {
    fs.mkdirSync(path.join(outside, 'shared'));
    fs.symlinkSync(path.join(outside, 'shared'), path.join(home, 'agentvisor'));
    const file = path.join(home, 'agentvisor', 'ledger.json');
    const error = await refusal(() => reserve(ledgerAt(file, { home })));
    expect(error.details).toEqual({ backend: 'file', file, reason: 'symlink-outside-home' });
    expect(error.message).toContain(`give the real path (${path.join(outside, 'shared', 'ledger.json')})`);
    // Without `home`: the user's home (HOME), which this temp folder is not in either.
    expect(path.relative(os.homedir(), dir).startsWith('..')).toBe(true);
    expect((await refusal(() => reserve(ledgerAt(file)))).details.reason).toBe('symlink-outside-home');
    expect(fs.readdirSync(path.join(outside, 'shared'))).toEqual([]);

    // The real path itself is a plain path: taken wherever it is.
    const direct = ledgerAt(path.join(outside, 'shared', 'ledger.json'), { home });
    expect(await reserve(direct)).toMatchObject({ status: 'reserved' });
    await direct.close();

    fs.unlinkSync(path.join(home, 'agentvisor'));
    fs.mkdirSync(path.join(home, 'ledger-real'));
    fs.symlinkSync(path.join(home, 'ledger-real'), path.join(home, 'agentvisor'));
    const inside = ledgerAt(file, { home });
    expect(await reserve(inside)).toMatchObject({ status: 'reserved' });
    await inside.close();
    expect(fs.lstatSync(path.join(home, 'agentvisor')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(home, 'ledger-real', 'ledger.json'), 'utf8'))).toMatchObject({
      format: 'agentvisor-quota-ledger',
      reservations: { 's-1': { provider: 'claude', tokens: 100 } },
    });

    fs.unlinkSync(path.join(home, 'agentvisor'));
    fs.symlinkSync(path.join(home, 'missing'), path.join(home, 'agentvisor'));
    expect((await refusal(() => reserve(ledgerAt(file, { home })))).details.reason).toBe('dangling-symlink');
    expect(fs.existsSync(path.join(home, 'missing'))).toBe(false);
  });

  it('should refuse a FIFO or a folder at ledger.json at once (not-a-file), without waiting for a writer', async () => {
    const file = path.join(home, 'agentvisor', 'ledger.json');
    fs.mkdirSync(path.dirname(file));
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    const started = Date.now();
    expect((await refusal(() => reserve(ledgerAt(file, { home })))).details.reason).toBe('not-a-file');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fs.lstatSync(file).isFIFO()).toBe(true);
    fs.unlinkSync(file);
    fs.mkdirSync(file);
    expect((await refusal(() => reserve(ledgerAt(file, { home })))).details.reason).toBe('not-a-file');
  });

  it('should make `agentvisor quota` exit 2 with the reason and what to do, leaving the link and its target alone', () => {
    const file = path.join(home, 'agentvisor', 'ledger.json');
    fs.mkdirSync(path.dirname(file));
    const target = path.join(outside, 'ledger.json');
    const content = `${JSON.stringify({ format: 'agentvisor-quota-ledger', version: 2, reservations: {}, days: {} })}\n`;
    fs.writeFileSync(target, content, { mode: 0o644 });
    fs.symlinkSync(target, file);
    const { status, stdout, stderr } = cli(['--json', 'quota']);
    expect(status).toBe(2);
    expect(stderr).toContain(`Ledger file ${file} is a symbolic link`);
    expect(stderr).toContain('[insecure-permissions]');
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({
      ok: false,
      error: { code: 'insecure-permissions' },
    });
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe(content);
    expect(fs.statSync(target).mode & 0o777).toBe(0o644);
  });
});

describe('batch journal: never the tasks file, never a file that is not a journal', () => {
  const tasks = '{"id":"t1","task":"say hi"}\n';

  it('should refuse --journal naming the tasks file (also through ./, a symlink or a hard link), leaving it unchanged', () => {
    const file = path.join(dir, 't.jsonl');
    fs.writeFileSync(file, tasks);
    const { status, stderr } = cli(['batch', 't.jsonl', '--journal', './t.jsonl']);
    expect(status).toBe(2);
    expect(stderr).toContain('is the tasks file');
    expect(fs.readFileSync(file, 'utf8')).toBe(tasks);
    fs.linkSync(file, path.join(dir, 'hard.jsonl'));
    expect(() => resolveJournalChoice(file, { journal: path.join(dir, 'hard.jsonl') })).toThrow(/is the tasks file/);
    fs.symlinkSync(file, path.join(dir, 'link.jsonl'));
    expect(() => resolveJournalChoice(file, { resume: path.join(dir, 'link.jsonl') })).toThrow(/is the tasks file/);
  });

  it('should refuse to truncate or append to an existing file that is not a journal', () => {
    fs.writeFileSync(path.join(dir, 't.jsonl'), tasks);
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'my notes\n', { mode: 0o644 });
    const { status, stderr } = cli(['batch', 't.jsonl', '--journal', 'notes.txt']);
    expect(status).toBe(2);
    expect(stderr).toMatch(/notes\.txt exists and is not a batch journal/);
    // Named with --resume, the message must not send the user to a --journal flag they did not give.
    const resumed = cli(['batch', 't.jsonl', '--resume', 'notes.txt']);
    expect(resumed.status).toBe(2);
    expect(resumed.stderr).toMatch(/the journal file notes\.txt exists and is not a batch journal/);
    expect(resumed.stderr).not.toContain('--journal');
    expect(() => openBatchJournal(notes, { append: true, total: 1 })).toThrow(/not a batch journal/);
    expect(fs.readFileSync(notes, 'utf8')).toBe('my notes\n');
    expect(fs.statSync(notes).mode & 0o777).toBe(0o644);
  });

  it('should take an empty file or an old journal, and refuse a symlink', () => {
    const empty = path.join(dir, 'empty.journal');
    fs.writeFileSync(empty, '');
    openBatchJournal(empty, { append: false, total: 1 }).close();
    const first = fs.readFileSync(empty, 'utf8');
    expect(JSON.parse(first)).toMatchObject({ type: 'batch', tasks: 1 });
    openBatchJournal(empty, { append: false, total: 2 }).close();
    expect(fs.readFileSync(empty, 'utf8').trim().split('\n')).toHaveLength(1);
    const target = path.join(outside, 'target.journal');
    fs.writeFileSync(target, first);
    fs.symlinkSync(target, path.join(dir, 'link.journal'));
    expect(() => openBatchJournal(path.join(dir, 'link.journal'), { append: false, total: 1 })).toThrow(/ELOOP/);
    expect(fs.readFileSync(target, 'utf8')).toBe(first);
  });
});
