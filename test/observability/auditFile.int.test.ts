import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AUDIT_FILE, appendAuditEntry } from '../../src/observability';
import type { AuditEntry } from '../../src/observability';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(REPO_ROOT, 'test', 'helpers', 'auditWriterWorker.ts');

let home: string;

beforeEach(() => {
  home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-file-')));
});

afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

/** Every line of every audit file, current and rotated. */
function allLines(): string[] {
  const folder = path.join(home, 'audit');
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) => fs.readFileSync(path.join(folder, name), 'utf8').split('\n'))
    .filter((line) => line !== '');
}

const reasonsOf = (lines: string[]): string[] => lines.map((line) => (JSON.parse(line) as AuditEntry).reason!).sort();
const expectedReasons = (tags: string[], count: number): string[] =>
  tags.flatMap((tag) => Array.from({ length: count }, (_, i) => `${tag}-${i}`)).sort();

/** Lets the workers of `tags` start together, once each has created its ready file. */
async function startTogether(tags: string[]): Promise<void> {
  while (!tags.every((tag) => fs.existsSync(path.join(home, `ready-${tag}`))))
    await new Promise((resolve) => setTimeout(resolve, 10));
  fs.writeFileSync(path.join(home, 'go'), '');
}

/** Runs the worker in a shell, so `limits` (such as `ulimit -f 4`) apply to it; its JSON line. */
async function worker(
  tag: string,
  count: number,
  limits: { maxBytes: number; keep: number; batch: number; shell?: string },
): Promise<{ errors: string[] }> {
  const command = `${limits.shell ?? ''} exec "$0" -r ts-node/register/transpile-only "$@"`;
  const { stdout } = await run(
    'bash',
    [
      '-c',
      command,
      process.execPath,
      WORKER,
      home,
      tag,
      String(count),
      ...[limits.maxBytes, limits.keep, limits.batch].map(String),
    ],
    { cwd: REPO_ROOT },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as { errors: string[] };
}

describe('the audit file under concurrent writers', () => {
  it('should lose no entry when several writers of one process rotate the trail at once', async () => {
    const tags = ['a', 'b', 'c', 'd'];
    await Promise.all(
      tags.map(async (tag) => {
        for (let i = 0; i < 80; i += 1)
          await appendAuditEntry(home, { event: 'auth.login', reason: `${tag}-${i}` }, { maxBytes: 2048, keep: 100 });
      }),
    );
    expect(reasonsOf(allLines())).toEqual(expectedReasons(tags, 80));
  });

  it('should lose no entry when two processes rotate the trail at once', async () => {
    const running = Promise.all([
      worker('p', 300, { maxBytes: 2048, keep: 100, batch: 1 }),
      worker('q', 300, { maxBytes: 2048, keep: 100, batch: 1 }),
    ]);
    await startTogether(['p', 'q']);
    expect(await running).toEqual([{ errors: [] }, { errors: [] }]);
    expect(reasonsOf(allLines())).toEqual(expectedReasons(['p', 'q'], 300));
  }, 60_000);
});

describe('the audit file after a failed or torn write', () => {
  it('should start its entry on a line of its own after a torn last line', async () => {
    fs.mkdirSync(path.join(home, 'audit'), { mode: 0o700 });
    fs.writeFileSync(path.join(home, 'audit', AUDIT_FILE), '{"ts":"2026-12-08T00:00:00.000Z","event":"auth.lo', {
      mode: 0o600,
    });
    await appendAuditEntry(home, { event: 'auth.login', reason: 'after-the-crash' });
    const lines = fs.readFileSync(path.join(home, 'audit', AUDIT_FILE), 'utf8').split('\n');
    expect(lines[0]).toBe('{"ts":"2026-12-08T00:00:00.000Z","event":"auth.lo');
    expect(JSON.parse(lines[1]!)).toMatchObject({ event: 'auth.login', reason: 'after-the-crash' });
  });

  it('should report a write that the disk cut short, never dropping entries silently', async () => {
    // ulimit -f 4: files of at most 4 KiB, as on a disk with 4 KiB left; the 200 entries (about 20 KiB) go in one write.
    fs.writeFileSync(path.join(home, 'go'), '');
    const { errors } = await worker('full', 200, { maxBytes: 1_048_576, keep: 5, batch: 200, shell: 'ulimit -f 4 &&' });
    const written = allLines().filter((line) => line.endsWith('}'));
    expect(written.length).toBeLessThan(200);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((code) => code === 'EFBIG')).toBe(true);
  }, 30_000);
});
