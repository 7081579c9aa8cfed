import fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { acquireFileLock } from '../storage/fileLock';

/** The current audit file's name; rotated files are `audit.1.jsonl` (newest) … `audit.<keep>.jsonl`. */
export const AUDIT_FILE = 'audit.jsonl';

/**
 * The name of the `n`th rotated file (0 is the current one).
 *
 * @example rotatedName(0) // 'audit.jsonl'; rotatedName(2) // 'audit.2.jsonl'
 */
export function rotatedName(n: number): string {
  return n === 0 ? AUDIT_FILE : `audit.${n}.jsonl`;
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ENOENT';
}

/**
 * Creates the folder (and missing parents) 0700; an existing folder keeps its mode (the files are 0600 anyway).
 *
 * @example await ensureAuditDir(path.join(home, 'audit'))
 */
export async function ensureAuditDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Shifts audit.jsonl → audit.1.jsonl → … ; the oldest beyond `keep` is overwritten (or deleted with keep 0). */
async function rotate(dir: string, keep: number): Promise<void> {
  if (keep === 0) {
    await fsp.rm(path.join(dir, AUDIT_FILE), { force: true });
    return;
  }
  for (let n = keep - 1; n >= 0; n -= 1) {
    try {
      await fsp.rename(path.join(dir, rotatedName(n)), path.join(dir, rotatedName(n + 1)));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
}

/**
 * Rotates under the lock `<dir>/audit.rotate.lock` when the file, read again under the lock, would
 * still pass `maxBytes` with `nextBytes` more: two writers that both saw a full file rotate it once,
 * and never rename each other's files over one another. Returns the current file's size after.
 */
async function rotateUnlessDone(
  dir: string,
  nextBytes: number,
  limits: { readonly maxBytes: number; readonly keep: number },
): Promise<number> {
  const file = path.join(dir, AUDIT_FILE);
  const lockTarget = path.join(dir, 'audit.rotate');
  const lock = await acquireFileLock(lockTarget, {
    timeoutMs: 10_000,
    staleMs: 10_000,
    backoff: { firstMs: 1, maxMs: 50 },
    errors: {
      io: (error) => error as Error,
      timeout: () =>
        Object.assign(
          new Error(
            `the audit trail's rotation lock ${lockTarget}.lock was held for 10 s; if no agentvisor process is running, remove it`,
          ),
          { code: 'ELOCKED' },
        ),
      compromised: () => new Error(`the audit trail's rotation lock ${lockTarget}.lock was taken over`),
    },
  });
  try {
    const size = await currentSize(file);
    if (size === 0 || size + nextBytes <= limits.maxBytes) return size;
    await rotate(dir, limits.keep);
    return 0;
  } finally {
    await lock.release();
  }
}

async function currentSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
}

/**
 * Appends to the current file, created 0600 (an existing file with wider permissions is narrowed).
 * Never through a symbolic link (O_NOFOLLOW: ELOOP), and only to a regular file: the trail never
 * writes or chmods a file it does not own, even if one is swapped in after the audit folder was checked.
 * A last line left torn (a crash, a full disk) gets its newline first, so it cannot swallow the
 * next entry; a short write goes on until the text is written or the system refuses (ENOSPC, EFBIG).
 */
async function append(file: string, text: string): Promise<void> {
  const handle = await fsp.open(
    file,
    fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw Object.assign(new Error(`${file} is not a regular file: the audit trail writes only to its own files`), {
        code: 'ENOTFILE',
      });
    if ((stat.mode & 0o077) !== 0) await handle.chmod(0o600);
    let bytes = Buffer.from(text);
    if (stat.size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, stat.size - 1);
      if (last[0] !== 0x0a) bytes = Buffer.concat([Buffer.from('\n'), bytes]);
    }
    for (let written = 0; written < bytes.length;)
      written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
  } finally {
    await handle.close();
  }
}

/**
 * Appends JSON lines to `dir/audit.jsonl`, rotating before a line that would take the file past
 * `maxBytes` (a line is never split; a line longer than `maxBytes` gets a file of its own). The
 * size is read from the file each time, so several processes appending to one trail rotate it
 * at about the right size (O_APPEND keeps their lines whole), and rotation runs under a lock.
 *
 * @example await appendAuditLines('/home/me/.codex/audit', ['{"event":"auth.login"}\n'], { maxBytes: 10_485_760, keep: 5 })
 */
export async function appendAuditLines(
  dir: string,
  lines: readonly string[],
  limits: { readonly maxBytes: number; readonly keep: number },
): Promise<void> {
  if (lines.length === 0) return;
  await ensureAuditDir(dir);
  const file = path.join(dir, AUDIT_FILE);
  let size = await currentSize(file);
  let chunk = '';
  let chunkBytes = 0;
  for (const line of lines) {
    const bytes = Buffer.byteLength(line);
    if (size + chunkBytes > 0 && size + chunkBytes + bytes > limits.maxBytes) {
      if (chunk !== '') await append(file, chunk);
      size = await rotateUnlessDone(dir, bytes, limits);
      chunk = '';
      chunkBytes = 0;
    }
    chunk += line;
    chunkBytes += bytes;
  }
  await append(file, chunk);
}
