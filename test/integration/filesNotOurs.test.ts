import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openBatchJournal } from '../../src/agents';
import { resolveJournalChoice } from '../../src/cli/batchJournalChoice';
import { isAgentvisorError } from '../../src/errors';
import { AuditTrail, resolveAuditOptions } from '../../src/observability';
import { tempFileName, writeFileAtomic } from '../../src/storage/atomicFile';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

// Test keys only: well-formed, never real. Every one is checked against every command's output.
const CLAUDE_KEY = `sk-ant-api03-${'NotOursClaudeBody'}${'c'.repeat(70)}Nq1z`;
const OPENAI_KEY = `sk-proj-${'AgentvisorStoredBody'}${'o'.repeat(40)}Av3c`;
const CODEX_OWN_KEY = `sk-proj-${'CodexOwnLoginBody'}${'k'.repeat(40)}Cx7w`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY, CODEX_OWN_KEY];

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
    env: { PATH: process.env.PATH ?? '', HOME: dir, CODEX_HOME: home, CLAUDE_CONFIG_DIR: path.join(dir, '.claude'), TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
    input,
    timeout: 60_000,
  });
  outputs.push(result.stdout, result.stderr);
  return result;
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const writeJson = (file: string, value: unknown): void => fs.writeFileSync(file, `${JSON.stringify(value)}\n`, { mode: 0o600 });

describe('logout: only what agentvisor stored', () => {
  it("should leave the key Codex stored itself in auth.json and say that `codex logout` removes it", () => {
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'apikey', OPENAI_API_KEY: CODEX_OWN_KEY, tokens: null });
    const { status, stdout } = cli(['logout', 'openai']);
    expect(status).toBe(0);
    expect(stdout).toContain('nothing to remove');
    expect(stdout).toMatch(/OPENAI_API_KEY in .*auth\.json was not stored by `agentvisor login`.*`codex logout` removes it/);
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ auth_mode: 'apikey', OPENAI_API_KEY: CODEX_OWN_KEY, tokens: null });
  });

  it('should remove the key its own login wrote, and forget its record', () => {
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'chatgpt', tokens: { account_id: 'acct-1' } });
    expect(cli(['login', 'openai', '--api-key', '-'], OPENAI_KEY).status).toBe(0);
    const record = fs.readFileSync(path.join(home, 'agentvisor', 'stored-keys.json'), 'utf8');
    expect(record).not.toContain(OPENAI_KEY.slice(8, 40));
    const out = cli(['--json', 'logout', 'openai']);
    expect(out.status).toBe(0);
    const last = JSON.parse(out.stdout.trim().split('\n').pop()!) as { results: unknown[] };
    expect(last.results).toEqual([{ provider: 'openai', file: path.join(home, 'auth.json'), removed: ['OPENAI_API_KEY'], leftAlone: [], deleted: false }]);
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ auth_mode: 'chatgpt', tokens: { account_id: 'acct-1' } });
    expect(readJson(path.join(home, 'agentvisor', 'stored-keys.json')).keys).toEqual({});
  });

  it('should leave a key Codex wrote over the one agentvisor stored', () => {
    expect(cli(['login', 'openai', '--api-key', OPENAI_KEY]).status).toBe(0);
    writeJson(path.join(home, 'auth.json'), { OPENAI_API_KEY: CODEX_OWN_KEY });
    const { status, stdout } = cli(['--json', 'logout', 'all']);
    expect(status).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').pop()!).results[1]).toMatchObject({ provider: 'openai', removed: [], leftAlone: ['OPENAI_API_KEY'] });
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ OPENAI_API_KEY: CODEX_OWN_KEY });
  });
});

describe('temp files of interrupted credential writes', () => {
  const leftovers = (file: string) => [tempFileName(file, 999_999, 'a1b2c3d4e5f6'), path.join(path.dirname(file), `.${path.basename(file)}.999998.0123456789ab.tmp`)];

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
    expect(isAgentvisorError(errors[0], 'insecure-permissions') && errors[0].details).toMatchObject({ reason: 'symlink-outside-home' });
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
