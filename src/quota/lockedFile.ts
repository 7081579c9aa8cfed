import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../storage/atomicFile';
import { acquireFileLock } from '../storage/fileLock';
import type { HeldLock } from '../storage/fileLock';
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
 */

export interface LockedFileOptions {
  readonly lockTimeoutMs: number;
  readonly lockStaleMs: number;
}

const DIR_MODE = 0o700;

function errnoCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'unknown';
}

export function fileUnavailable(file: string, reason: string, message: string, retryAfterMs: number | null = null): AgentvisorError {
  return new AgentvisorError('ledger-unavailable', `${message} Nothing was reserved or settled by this call.`, {
    retryAfterMs,
    details: { backend: 'file', file, reason },
  });
}

function ioFailure(file: string, action: string, error: unknown): AgentvisorError {
  const code = errnoCode(error);
  const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' Make the folder writable by this user or choose another ledger file.' : '';
  return fileUnavailable(file, code, `Could not ${action} ledger file ${file} (${code}).${hint}`);
}

async function writeAtomic(file: string, text: string, beforeRename: () => void): Promise<void> {
  await writeFileAtomic(file, text, { beforeRename, ioError: (action, error) => ioFailure(file, action, error) });
}

function acquireLock(file: string, options: LockedFileOptions): Promise<HeldLock> {
  return acquireFileLock(file, {
    timeoutMs: options.lockTimeoutMs,
    staleMs: options.lockStaleMs,
    // Short: ledger operations hold the lock for a few milliseconds.
    backoff: { firstMs: 2, maxMs: 50 },
    errors: {
      io: (error) => ioFailure(file, 'lock', error),
      timeout: () => fileUnavailable(file, 'lock-timeout', `Ledger file ${file} stayed locked by another process for ${options.lockTimeoutMs} ms; try again later (a lock whose holder died is taken over after ${options.lockStaleMs} ms).`, 1000),
      compromised: () => fileUnavailable(file, 'lock-compromised', `Lost the lock on ledger file ${file} while updating it (another process judged it stale). Try again.`),
    },
  });
}

/**
 * Runs `update` on the file's current text (null when the file does not exist) under the lock and
 * writes what it returns; `null` from `update` writes nothing.
 */
export async function updateLockedFile<T>(file: string, options: LockedFileOptions, update: (text: string | null) => { text: string | null; result: T }): Promise<T> {
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw ioFailure(file, 'create the folder of', error);
  }
  const lock = await acquireLock(file, options);
  try {
    let text: string | null;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw ioFailure(file, 'read', error);
      text = null;
    }
    const next = update(text);
    if (next.text !== null) await writeAtomic(file, next.text, lock.assertHeld);
    return next.result;
  } finally {
    await lock.release();
  }
}
