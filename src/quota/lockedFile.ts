import { constants as FS, promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../storage/atomicFile';
import { acquireFileLock } from '../storage/fileLock';
import type { HeldLock } from '../storage/fileLock';
import { locateUnderHome } from '../storage/homePath';
import { AgentvisorError } from '../errors';

/**
 * Read-modify-write of one small file, safe across processes and durable across kill -9:
 * take the lock `<file>.lock` (a folder made by mkdir, proper-lockfile), read the file, let the
 * caller decide the new text, write it to a 0600 temp file in the same folder, fsync it, rename it
 * over the file, fsync the folder, release the lock. A crash before the rename leaves the old file;
 * after it, the new one: never a mix. A holder that dies leaves a lock that goes stale after
 * `lockStaleMs` and is then taken over.
 *
 * Failures are `ledger-unavailable` with `details.backend: 'file'` and `details.reason` (the errno
 * code, `lock-timeout` or `lock-compromised`); nothing was written when one is thrown.
 *
 * The file is never reached through a symlink: its folder may pass through one only when that
 * resolves inside `home`, and the file itself must be a regular file, opened with O_NOFOLLOW.
 * Otherwise `insecure-permissions` (`details.reason`: `symlink`, `symlink-outside-home`,
 * `dangling-symlink`, `not-a-file`), and nothing is read, written, renamed over or chmodded: the
 * rename of an atomic write would replace a link with a private copy and leave its target stale.
 */

export interface LockedFileOptions {
  readonly lockTimeoutMs: number;
  readonly lockStaleMs: number;
  /** A folder reached through a symlink must resolve inside this folder. */
  readonly home: string;
}

const DIR_MODE = 0o700;

function errnoCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'unknown';
}

export function fileUnavailable(
  file: string,
  reason: string,
  message: string,
  retryAfterMs: number | null = null,
): AgentvisorError {
  return new AgentvisorError('ledger-unavailable', `${message} Nothing was reserved or settled by this call.`, {
    retryAfterMs,
    details: { backend: 'file', file, reason },
  });
}

function ioFailure(file: string, action: string, error: unknown): AgentvisorError {
  const code = errnoCode(error);
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ' Make the folder writable by this user or choose another ledger file.'
      : '';
  return fileUnavailable(file, code, `Could not ${action} ledger file ${file} (${code}).${hint}`);
}

function refused(file: string, reason: string, what: string, fix: string): AgentvisorError {
  return new AgentvisorError(
    'insecure-permissions',
    `Ledger file ${file} ${what}; agentvisor did not read, write or change it. ${fix} Nothing was reserved or settled by this call.`,
    {
      details: { backend: 'file', file, reason },
    },
  );
}

/** The real folder of `file`, checked like the credential files' (src/storage/homePath.ts). */
async function checkedFolder(file: string, home: string): Promise<string> {
  const where = await locateUnderHome(path.dirname(file), home).catch((error: unknown) => {
    throw ioFailure(file, 'resolve the folder of', error);
  });
  if (where.problem === 'dangling-symlink') {
    throw refused(
      file,
      where.problem,
      `lies below ${where.given}, a symlink to a missing folder`,
      'Create the folder the link points at, or remove the link.',
    );
  }
  if (where.problem === 'symlink-outside-home') {
    throw refused(
      file,
      where.problem,
      `lies below a symlink that resolves outside ${home} (to ${where.real})`,
      `Keep the ledger inside ${home}, or give the real path (${path.join(where.real, path.basename(file))}) as the ledger file.`,
    );
  }
  return where.real;
}

/** The file's text, or null when it does not exist; never through a symlink, never a FIFO or device. */
async function readOwnFile(real: string, file: string): Promise<string | null> {
  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO planted at the path must not wait for a writer.
    handle = await fsp.open(real, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP' || code === 'EMLINK') {
      const target = await fsp.readlink(real).catch(() => null);
      throw refused(
        file,
        'symlink',
        `is a symbolic link${target === null ? '' : ` (to ${target})`}: the ledger is never used through one`,
        'Replace the link with the file it points at (move that file here), or give its real path as the ledger file.',
      );
    }
    throw ioFailure(file, 'read', error);
  }
  try {
    if (!(await handle.stat()).isFile())
      throw refused(
        file,
        'not-a-file',
        'is not a regular file',
        'Move it aside; a new ledger file is created in its place.',
      );
    return await handle.readFile('utf8');
  } catch (error) {
    if (error instanceof AgentvisorError) throw error;
    throw ioFailure(file, 'read', error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Writes `real`; errors name `file`, the path the caller gave. */
async function writeAtomic(real: string, file: string, text: string, beforeRename: () => void): Promise<void> {
  await writeFileAtomic(real, text, { beforeRename, ioError: (action, error) => ioFailure(file, action, error) });
}

function acquireLock(real: string, file: string, options: LockedFileOptions): Promise<HeldLock> {
  return acquireFileLock(real, {
    timeoutMs: options.lockTimeoutMs,
    staleMs: options.lockStaleMs,
    // Short: ledger operations hold the lock for a few milliseconds.
    backoff: { firstMs: 2, maxMs: 50 },
    errors: {
      io: (error) =>
        errnoCode(error) === 'ENOTDIR'
          ? fileUnavailable(
              file,
              'ENOTDIR',
              `Could not lock ledger file ${file}: ${file}.lock is a file, not the folder agentvisor locks with; ` +
                'remove it if no agentvisor is running (it is not ours, so it is left as it is).',
            )
          : ioFailure(file, 'lock', error),
      timeout: () =>
        fileUnavailable(
          file,
          'lock-timeout',
          `Ledger file ${file} stayed locked by another process for ${options.lockTimeoutMs} ms; ` +
            `try again later (a lock whose holder died is taken over after ${options.lockStaleMs} ms).`,
          1000,
        ),
      compromised: () =>
        fileUnavailable(
          file,
          'lock-compromised',
          `Lost the lock on ledger file ${file} while updating it (another process judged it stale). Try again.`,
        ),
    },
  });
}

/**
 * The file's current text (null when it does not exist), checked as `updateLockedFile` checks it,
 * without the lock and without creating or writing anything: writes are atomic renames, so the
 * text is one whole version.
 */
export async function readCheckedFile(file: string, home: string): Promise<string | null> {
  const folder = await checkedFolder(file, home);
  return readOwnFile(path.join(folder, path.basename(file)), file);
}

/**
 * Runs `update` on the file's current text (null when the file does not exist) under the lock and
 * writes what it returns; `null` from `update` writes nothing.
 */
export async function updateLockedFile<T>(
  file: string,
  options: LockedFileOptions,
  update: (text: string | null) => { text: string | null; result: T },
): Promise<T> {
  const folder = await checkedFolder(file, options.home);
  // The real folder from here on: the lock, the read and the write all use the folder that was checked.
  const real = path.join(folder, path.basename(file));
  try {
    await fsp.mkdir(folder, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw ioFailure(file, 'create the folder of', error);
  }
  const lock = await acquireLock(real, file, options);
  try {
    const text = await readOwnFile(real, file);
    const next = update(text);
    if (next.text !== null) await writeAtomic(real, file, next.text, lock.assertHeld);
    return next.result;
  } finally {
    await lock.release();
  }
}
