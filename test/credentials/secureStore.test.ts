import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readJsonFile, removeKeys, updateJsonFile } from '../../src/storage/secureStore';
import { isAgentvisorError } from '../../src/errors';
import type { ErrorCode } from '../../src/errors';

const REPO_ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(REPO_ROOT, 'test', 'helpers', 'secureStoreWorker.ts');
const SECRET = 'sk-ant-oat01-TOPSECRETVALUE1234567890';
const run = promisify(execFile);

let tmp: string;
let home: string;

beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-store-')));
  home = path.join(tmp, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

function writeRaw(p: string, content: string, mode = 0o600): void {
  fs.writeFileSync(p, content, { mode });
  fs.chmodSync(p, mode);
}

/** Runs `fn`, expects an agentvisor error with `code`, and checks the secret appears nowhere in it. */
async function expectError(fn: () => Promise<unknown>, code: ErrorCode): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(isAgentvisorError(caught, code)).toBe(true);
  const error = caught as Error;
  expect(error.message).not.toContain(SECRET);
  expect(JSON.stringify(error)).not.toContain(SECRET);
  expect(error.message).not.toContain('TOPSECRET');
  expect(JSON.stringify(error)).not.toContain('TOPSECRET');
  expect(error.cause).toBeUndefined();
  return error;
}

describe('readJsonFile', () => {
  it('should return null for a missing file', async () => {
    await expect(readJsonFile(path.join(home, 'none.json'), { home })).resolves.toBeNull();
  });

  it('should read a 0600 JSON object without warnings', async () => {
    const file = path.join(home, 'auth.json');
    writeRaw(file, JSON.stringify({ OPENAI_API_KEY: SECRET }));
    await expect(readJsonFile(file, { home })).resolves.toEqual({ data: { OPENAI_API_KEY: SECRET }, warnings: [] });
  });

  it.each([
    ['truncated JSON', `{"claudeAiOauth": {"accessToken": "${SECRET}"`],
    ['a bad token in the middle', `{\n  "token": "${SECRET}" oops\n}`],
    ['bare secret text', SECRET],
    ['a single-quoted secret', `{'token': '${SECRET}'}`],
  ])('should reject %s with invalid-credentials-file, naming the file but not the content', async (_label, content) => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, content);
    const error = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect(error.message).toContain(file);
  });

  it('should give the line and column of a syntax error', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, `{\n  "a": 1,\n  "token": "${SECRET}" oops\n}`);
    const error = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect(error.message).toMatch(/line 3, column \d+/);
  });

  it.each([
    ['an array', `["${SECRET}"]`, 'an array'],
    ['a string', `"${SECRET}"`, 'a string'],
    ['null', 'null', 'null'],
    ['nothing', '', 'empty'],
  ])('should reject a file holding %s', async (_label, content, words) => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, content);
    const error = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect(error.message).toContain(words);
  });

  it('should refuse a group- or world-readable file under policy error, warn under warn, and say nothing under ignore', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, JSON.stringify({ token: SECRET }), 0o644);
    const error = await expectError(() => readJsonFile(file, { home, permissions: 'error' }), 'insecure-permissions');
    expect(error.message).toContain('644');
    await expectError(() => readJsonFile(file, { home }), 'insecure-permissions');

    const warned = await readJsonFile(file, { home, permissions: 'warn' });
    expect(warned?.data).toEqual({ token: SECRET });
    expect(warned?.warnings).toHaveLength(1);
    expect(warned?.warnings[0]).toContain('chmod 600');
    expect(warned?.warnings[0]).not.toContain(SECRET);

    const ignored = await readJsonFile(file, { home, permissions: 'ignore' });
    expect(ignored?.warnings).toEqual([]);

    fs.chmodSync(file, 0o640);
    await expectError(() => readJsonFile(file, { home }), 'insecure-permissions');
  });

  it('should refuse a symlink that resolves outside home, and follow one that stays inside', async () => {
    const outsideDir = path.join(tmp, 'outside');
    fs.mkdirSync(outsideDir, { mode: 0o700 });
    const outside = path.join(outsideDir, 'secret.json');
    writeRaw(outside, JSON.stringify({ token: SECRET }));
    const link = path.join(home, 'creds.json');
    fs.symlinkSync(outside, link);
    const error = await expectError(() => readJsonFile(link, { home }), 'insecure-permissions');
    expect(isAgentvisorError(error) && error.details.reason).toBe('symlink-outside-home');
    // It says what to do, and where the link leads.
    expect(error.message).toContain(`leads to ${outside}`);
    expect(error.message).toMatch(/replace the link with the file, or use the real path/i);

    // A folder symlink on the way counts too.
    const dirLink = path.join(home, 'linked');
    fs.symlinkSync(outsideDir, dirLink);
    await expectError(() => readJsonFile(path.join(dirLink, 'secret.json'), { home }), 'insecure-permissions');

    const inside = path.join(home, 'real.json');
    writeRaw(inside, JSON.stringify({ a: 1 }));
    const insideLink = path.join(home, 'alias.json');
    fs.symlinkSync(inside, insideLink);
    await expect(readJsonFile(insideLink, { home })).resolves.toEqual({ data: { a: 1 }, warnings: [] });
  });
});

describe('updateJsonFile', () => {
  it('should say what to check when a folder on the path is a file (a home given as a file)', async () => {
    const notAFolder = path.join(tmp, 'home-file');
    writeRaw(notAFolder, 'x');
    const error = await expectError(
      () => updateJsonFile(path.join(notAFolder, 'claude_auth.json'), () => ({}), { home: notAFolder }),
      'credentials-io',
    );
    expect(error.message).toMatch(
      /\(ENOTDIR\).*a file, not a folder: move that file aside or use another home \(--home, AGENTVISOR_HOME, CODEX_HOME\)/,
    );
  });

  it('should create the folder 0700 and the file 0600', async () => {
    const dir = path.join(home, '.agentvisor', 'nested');
    const file = path.join(dir, 'creds.json');
    const result = await updateJsonFile(file, (current) => ({ ...current, token: SECRET }), { home });
    expect(result.data).toEqual({ token: SECRET });
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(home, '.agentvisor'))).toBe(0o700);
    expect(modeOf(file)).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ token: SECRET });
    expect(fs.readdirSync(dir)).toEqual(['creds.json']);
  });

  it('should keep 0600 even when the process umask is permissive', async () => {
    const previous = process.umask(0o000);
    try {
      const file = path.join(home, 'fresh', 'creds.json');
      await updateJsonFile(file, () => ({ token: SECRET }), { home });
      expect(modeOf(file)).toBe(0o600);
      expect(modeOf(path.dirname(file))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('should pass the current content and keep foreign keys through every write', async () => {
    const file = path.join(home, 'auth.json');
    const foreign = {
      auth_mode: 'chatgpt',
      tokens: { id_token: 'jwt', refresh_token: 'rt' },
      mcpOAuth: { server: { token: 'x' } },
    };
    writeRaw(file, JSON.stringify(foreign));
    const seen: Array<Record<string, unknown> | null> = [];
    for (let i = 1; i <= 3; i += 1) {
      await updateJsonFile(
        file,
        (current) => {
          seen.push(current);
          return { ...current, claude: { access: `${SECRET}-${i}` } };
        },
        { home },
      );
    }
    expect(seen[0]).toEqual(foreign);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ ...foreign, claude: { access: `${SECRET}-3` } });
  });

  it('should repair loose permissions on rewrite and report them as a warning', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, JSON.stringify({ other: 1 }), 0o644);
    const result = await updateJsonFile(file, (current) => ({ ...current, mine: 2 }), { home });
    expect(result.warnings).toHaveLength(1);
    expect(modeOf(file)).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ other: 1, mine: 2 });
    fs.chmodSync(file, 0o604);
    const before = fs.readFileSync(file);
    await expectError(
      () => updateJsonFile(file, (c) => ({ ...c, mine: 3 }), { home, permissions: 'error' }),
      'insecure-permissions',
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it.each([
    ['truncated JSON', `{"refresh": "${SECRET}"`],
    ['an array', `["${SECRET}"]`],
    ['bare text', SECRET],
    ['an empty file', ''],
  ])('should never overwrite a file holding %s: it stays byte for byte', async (_label, content) => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, content);
    const before = fs.readFileSync(file);
    const update = jest.fn((current: Record<string, unknown> | null) => ({ ...current, token: 'new' }));
    await expectError(() => updateJsonFile(file, update, { home }), 'invalid-credentials-file');
    expect(update).not.toHaveBeenCalled();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(home)).toEqual(['creds.json']); // no temp file, no lock left behind
  });

  it('should refuse a symlink outside home and leave its target untouched', async () => {
    const outside = path.join(tmp, 'outside.json');
    writeRaw(outside, JSON.stringify({ token: SECRET }));
    const before = fs.readFileSync(outside);
    const link = path.join(home, 'creds.json');
    fs.symlinkSync(outside, link);
    await expectError(() => updateJsonFile(link, (c) => ({ ...c, x: 1 }), { home }), 'insecure-permissions');
    expect(fs.readFileSync(outside).equals(before)).toBe(true);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('should write through a symlink inside home, keeping the link', async () => {
    const real = path.join(home, 'store', 'real.json');
    fs.mkdirSync(path.dirname(real), { mode: 0o700 });
    writeRaw(real, JSON.stringify({ keep: true }));
    const link = path.join(home, 'alias.json');
    fs.symlinkSync(real, link);
    await updateJsonFile(link, (c) => ({ ...c, added: 1 }), { home });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(real, 'utf8'))).toEqual({ keep: true, added: 1 });
    expect(modeOf(real)).toBe(0o600);
  });

  it('should reject an update that does not return a plain object, writing nothing', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, JSON.stringify({ a: 1 }));
    const before = fs.readFileSync(file);
    await expectError(
      () => updateJsonFile(file, () => [] as unknown as Record<string, unknown>, { home }),
      'invalid-option',
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('should time out with credentials-io when another holder keeps the lock', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, JSON.stringify({ a: 1 }));
    fs.mkdirSync(`${file}.lock`); // a fresh lock held by "another process"
    const error = await expectError(
      () => updateJsonFile(file, (c) => ({ ...c, b: 2 }), { home, lockTimeoutMs: 150 }),
      'credentials-io',
    );
    expect(isAgentvisorError(error) && error.details.reason).toBe('lock-timeout');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 1 });
  });

  it('should lose no update when 4 processes increment the same file 25 times each', async () => {
    const file = path.join(home, '.agentvisor', 'counter.json');
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    writeRaw(file, JSON.stringify({ foreign: { token: SECRET }, counter: 0 }));
    const workers = Array.from({ length: 4 }, () =>
      run(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, file, home, '25'], { cwd: REPO_ROOT }),
    );
    const results = await Promise.all(workers);
    for (const { stderr } of results) expect(stderr).toBe('');
    const final = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(final.counter).toBe(100);
    expect(final.foreign).toEqual({ token: SECRET });
    expect(Object.keys(final).filter((k) => k.startsWith('pid_'))).toHaveLength(4);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['counter.json']);
  }, 60_000);
});

describe('removeKeys', () => {
  it('should remove only the named keys and keep foreign ones', async () => {
    const file = path.join(home, 'claude_auth.json');
    writeRaw(
      file,
      JSON.stringify({ ANTHROPIC_API_KEY: SECRET, oauth_tokens: { access_token: SECRET }, codex_owned: 1 }),
    );
    const result = await removeKeys(file, ['oauth_tokens', 'ANTHROPIC_API_KEY', 'absent'], { home });
    expect(result).toEqual({ removed: ['oauth_tokens', 'ANTHROPIC_API_KEY'], deleted: false });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ codex_owned: 1 });
    expect(modeOf(file)).toBe(0o600);
  });

  it('should not create a missing file', async () => {
    const file = path.join(home, 'none.json');
    await expect(removeKeys(file, ['a'], { home })).resolves.toEqual({ removed: [], deleted: false });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('should keep an emptied file as {} unless deleteIfEmpty is set', async () => {
    const file = path.join(home, 'ours.json');
    writeRaw(file, JSON.stringify({ token: SECRET }));
    await removeKeys(file, ['token'], { home });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({});

    writeRaw(file, JSON.stringify({ token: SECRET }));
    await expect(removeKeys(file, ['token'], { home, deleteIfEmpty: true })).resolves.toEqual({
      removed: ['token'],
      deleted: true,
    });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('should leave a corrupt file untouched', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, `{"token": "${SECRET}",`);
    const before = fs.readFileSync(file);
    await expectError(() => removeKeys(file, ['token'], { home, deleteIfEmpty: true }), 'invalid-credentials-file');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});

describe('files that are not small plain JSON', () => {
  /** Runs `operation` against a FIFO; a reader that blocks in open() is released by a writer after 3 s. */
  async function againstFifo(operation: (file: string) => Promise<unknown>): Promise<unknown> {
    const file = path.join(home, 'creds.json');
    await run('mkfifo', [file]);
    const outcome = operation(file).then(
      (value) => ({ settled: 'resolved', value }),
      (error: unknown) => ({ settled: 'rejected', value: error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const hung = await Promise.race([
      outcome.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 3000))),
    ]);
    clearTimeout(timer);
    if (hung) fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    const result = await outcome;
    expect(hung).toBe(false);
    expect(fs.lstatSync(file).isFIFO()).toBe(true);
    return result.settled === 'rejected' ? result.value : new Error('a FIFO was accepted');
  }

  it.each([
    ['readJsonFile', (file: string) => readJsonFile(file, { home })],
    ['updateJsonFile', (file: string) => updateJsonFile(file, (current) => ({ ...current, token: SECRET }), { home })],
    ['removeKeys', (file: string) => removeKeys(file, ['token'], { home, deleteIfEmpty: true })],
  ])('should refuse a FIFO in %s at once, without waiting for a writer', async (_name, operation) => {
    const error = await againstFifo(operation);
    expect(isAgentvisorError(error, 'invalid-credentials-file')).toBe(true);
    expect((error as { details: unknown }).details).toMatchObject({ reason: 'not-a-file' });
    expect((error as Error).message).toMatch(/move it aside/i);
  });

  it('should refuse a file larger than 1 MB, reading and updating, and leave it byte for byte', async () => {
    const file = path.join(home, 'creds.json');
    writeRaw(file, JSON.stringify({ token: SECRET, padding: 'a'.repeat(1024 * 1024) }));
    const before = fs.readFileSync(file);
    const read = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect((read as unknown as { details: unknown }).details).toMatchObject({ reason: 'too-large' });
    await expectError(
      () => updateJsonFile(file, (current) => ({ ...current, more: 1 }), { home }),
      'invalid-credentials-file',
    );
    await expectError(() => removeKeys(file, ['token'], { home }), 'invalid-credentials-file');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('should refuse JSON nested deeper than 100 levels with a typed error, leaving the file byte for byte', async () => {
    const file = path.join(home, 'creds.json');
    const depth = 100_000;
    writeRaw(file, `{"token": "${SECRET}", "deep": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
    const before = fs.readFileSync(file);
    const read = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect((read as unknown as { details: unknown }).details).toMatchObject({ reason: 'too-deep' });
    await expectError(
      () => updateJsonFile(file, (current) => ({ ...current, more: 1 }), { home }),
      'invalid-credentials-file',
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('should still read a file nested 100 levels deep, with brackets inside strings not counted', async () => {
    const file = path.join(home, 'creds.json');
    let nested: unknown = { token: SECRET, text: '[[[[{{{{"\\"[[' };
    for (let level = 1; level < 100; level += 1) nested = { level: nested };
    writeRaw(file, JSON.stringify(nested));
    await expect(readJsonFile(file, { home })).resolves.toMatchObject({ data: { level: { level: {} } } });
  });
});

describe('file system refusals', () => {
  it('should say what to do when a part of the path is a file, not a folder', async () => {
    const blocker = path.join(home, 'blocker');
    writeRaw(blocker, 'not a folder');
    const file = path.join(blocker, 'creds.json');
    for (const operation of [
      () => readJsonFile(file, { home }),
      () => updateJsonFile(file, () => ({ token: SECRET }), { home }),
    ]) {
      const error = await expectError(operation, 'credentials-io');
      expect(error.message).toContain('ENOTDIR');
      expect(error.message).toMatch(/not a folder/);
    }
    expect(fs.readFileSync(blocker, 'utf8')).toBe('not a folder');
  });
});

describe('text that is not UTF-8', () => {
  it('should refuse a file with invalid UTF-8 bytes instead of rewriting them as U+FFFD, leaving it byte for byte', async () => {
    const file = path.join(home, 'auth.json');
    // Another program's field in Latin-1: a rewrite through a lenient decoder would change its bytes.
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('{"token": "'),
        Buffer.from(SECRET),
        Buffer.from('", "city": "Z\xfcrich"}', 'latin1'),
      ]),
      { mode: 0o600 },
    );
    const before = fs.readFileSync(file);
    const read = await expectError(() => readJsonFile(file, { home }), 'invalid-credentials-file');
    expect((read as unknown as { details: unknown }).details).toMatchObject({ reason: 'not-utf8' });
    await expectError(
      () => updateJsonFile(file, (current) => ({ ...current, more: 1 }), { home }),
      'invalid-credentials-file',
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});
