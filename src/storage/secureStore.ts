import { constants as FS, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsyncFolder, removeLeftoverTemps, writeFileAtomic } from './atomicFile';
import { acquireFileLock } from './fileLock';
import type { HeldLock } from './fileLock';
import { AgentvisorError } from '../errors';
import { readBoundedFile } from './boundedRead';
import { parseCredentialsRecord } from './credentialsJson';
import type { JsonRecord } from './credentialsJson';

/** What to do when a credentials file is readable by its group or by everyone (`mode & 0o077`). */
export type PermissionPolicy = 'error' | 'warn' | 'ignore';

export type { JsonRecord } from './credentialsJson';

export interface ReadJsonFileOptions {
  /** Default `'error'`. */
  readonly permissions?: PermissionPolicy;
  /** A path that is (or passes through) a symlink must resolve inside this folder. Default: `os.homedir()`. */
  readonly home?: string;
}

export interface JsonFileContent {
  readonly data: JsonRecord;
  /** Non-fatal findings such as loose permissions under policy `'warn'`; never secret. */
  readonly warnings: readonly string[];
}

export interface UpdateJsonFileOptions {
  /** A path that is (or passes through) a symlink must resolve inside this folder. Default: `os.homedir()`. */
  readonly home?: string;
  /** How long to wait for another process's lock before failing with `credentials-io`. Default 10,000 ms. */
  readonly lockTimeoutMs?: number;
  /**
   * For the file read under the lock, default `'warn'`: the rewrite gives the file mode 0600, so
   * loose permissions are repaired and reported in `warnings`.
   */
  readonly permissions?: PermissionPolicy;
}

export interface RemoveKeysOptions extends UpdateJsonFileOptions {
  /**
   * Delete the file when no key is left. Only for files agentvisor owns; a file another program
   * created (Codex's auth.json, Claude Code's .credentials.json) is never deleted. Default false.
   */
  readonly deleteIfEmpty?: boolean;
  /** Decides, under the lock, whether a present key goes, from its current value. Default: every named key goes. */
  readonly when?: (key: string, value: unknown) => boolean;
  /** Runs under the lock on the current content before anything is removed; throws to leave the file as it is. */
  readonly check?: (current: JsonRecord) => void;
}

export interface RemoveKeysResult {
  /** The keys that were present and are now gone. */
  readonly removed: readonly string[];
  readonly deleted: boolean;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/** A lock whose holder stopped refreshing it for this long is taken over (the holder died). */
const LOCK_STALE_MS = 10_000;
const DIR_MODE = 0o700;
const CHECK_MODES = process.platform !== 'win32';
/** Real credentials files are a few kilobytes; Claude Code's, with many MCP logins, some dozens. */
export const MAX_CREDENTIALS_FILE_BYTES = 1024 * 1024;

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** What to do about an errno code, in words. */
const IO_ADVICE: Readonly<Record<string, string>> = {
  EACCES: 'you may not access it or its folder (another user owns it?): check with `ls -l` and fix the owner or mode',
  EPERM: 'you may not access it or its folder (another user owns it?): check with `ls -l` and fix the owner or mode',
  ENOTDIR:
    'a part of its path is a file, not a folder: move that file aside or use another home (--home, AGENTVISOR_HOME, CODEX_HOME)',
  ELOOP: 'its path is a symlink loop: replace the link with the file',
  EROFS: 'it lies on a read-only file system: use a writable home',
  ENOSPC: 'the disk is full: free some space',
  EDQUOT: 'your disk quota is used up: free some space',
};

/** I/O failures carry only the errno code and the path: never the underlying message's extras or content. */
function ioError(file: string, action: string, error: unknown): AgentvisorError {
  const code = errnoCode(error) ?? 'unknown';
  const advice = IO_ADVICE[code] ?? 'check the file, its folder and the disk, then try again';
  return new AgentvisorError('credentials-io', `Could not ${action} credentials file ${file} (${code}): ${advice}.`, {
    details: { file, reason: code },
  });
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

async function realpathOrResolve(p: string): Promise<string> {
  try {
    return await fsp.realpath(p);
  } catch {
    return path.resolve(p);
  }
}

interface Target {
  /** The path as given, made absolute. */
  readonly given: string;
  /** The real file the path leads to (symlinks resolved); reads and writes go here. */
  readonly real: string;
}

/**
 * Resolves symlinks in `file` (the file itself or any folder above it). When a symlink is involved
 * the real location must lie inside `home`; a plain path is taken as given.
 */
async function resolveTarget(file: string, home: string | undefined): Promise<Target> {
  const given = path.resolve(file);
  let real: string;
  try {
    real = await fsp.realpath(given);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw ioError(given, 'resolve', error);
    const link = await fsp.lstat(given).catch(() => null);
    if (link?.isSymbolicLink()) {
      throw new AgentvisorError(
        'credentials-io',
        `Credentials file ${given} is a symlink to a missing file; remove the link or create its target.`,
        {
          details: { file: given, reason: 'dangling-symlink' },
        },
      );
    }
    // Missing file: resolve the folder it would live in.
    real = path.join(await realpathOrResolve(path.dirname(given)), path.basename(given));
  }
  if (real !== given) {
    const realHome = await realpathOrResolve(home ?? os.homedir());
    if (!isInside(realHome, real)) {
      throw new AgentvisorError(
        'insecure-permissions',
        `Credentials file ${given} is a symlink (or lies below one) that leads to ${real}, outside ${realHome}; refusing to use it. ` +
          'Replace the link with the file, or use the real path (CODEX_HOME, --home, CLAUDE_CONFIG_DIR).',
        {
          details: { file: given, reason: 'symlink-outside-home' },
        },
      );
    }
  }
  return { given, real };
}

function permissionWarning(file: string, mode: number): string {
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `Credentials file ${file} has mode ${octal}: its group or other users can access it. Run \`chmod 600 ${file}\`.`;
}

/**
 * Reads the real file (no symlink following at the last step) and applies the permission policy.
 * O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused as not a regular file.
 */
async function readTarget(target: Target, policy: PermissionPolicy): Promise<JsonFileContent | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(target.real, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw ioError(target.given, 'open', error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new AgentvisorError(
        'invalid-credentials-file',
        `Credentials path ${target.given} is not a regular file (a folder, FIFO, socket or device); move it aside so a credentials file can take its place.`,
        { details: { file: target.given, reason: 'not-a-file' } },
      );
    }
    const warnings: string[] = [];
    if (CHECK_MODES && (stat.mode & 0o077) !== 0 && policy !== 'ignore') {
      const message = permissionWarning(target.given, stat.mode);
      if (policy === 'error') {
        throw new AgentvisorError('insecure-permissions', message, {
          details: { file: target.given, reason: 'mode', mode: (stat.mode & 0o777).toString(8) },
        });
      }
      warnings.push(message);
    }
    let read: { text: string; overLimit: boolean; validUtf8: boolean };
    try {
      read = await readBoundedFile(handle, MAX_CREDENTIALS_FILE_BYTES);
    } catch (error) {
      throw ioError(target.given, 'read', error);
    }
    if (read.overLimit) {
      throw new AgentvisorError(
        'invalid-credentials-file',
        `Credentials file ${target.given} is larger than ${MAX_CREDENTIALS_FILE_BYTES / 1024 / 1024} MB, ` +
          'which no credentials file is. It was left as it is; fix or remove it.',
        { details: { file: target.given, reason: 'too-large' } },
      );
    }
    if (!read.validUtf8) {
      throw new AgentvisorError(
        'invalid-credentials-file',
        `Credentials file ${target.given} is not UTF-8 text, which JSON must be. It was left as it is; fix or remove it.`,
        { details: { file: target.given, reason: 'not-utf8' } },
      );
    }
    const { text } = read;
    return { data: parseCredentialsRecord(target.given, text), warnings };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads a JSON credentials file. A missing file gives `null`. The file must hold a JSON object;
 * anything else fails with `invalid-credentials-file`, naming the file and the fault (with line and
 * column when known) but never quoting its content. A file its group or other users can access
 * fails with `insecure-permissions` (policy `'error'`, the default) or adds a warning (`'warn'`).
 * A symlinked path must resolve inside `home`.
 *
 * @example
 * const auth = await readJsonFile(path.join(codexHome, 'auth.json'), { permissions: 'warn' });
 * if (auth) { for (const w of auth.warnings) log.warn(w); use(auth.data.OPENAI_API_KEY); }
 */
export async function readJsonFile(file: string, options: ReadJsonFileOptions = {}): Promise<JsonFileContent | null> {
  const target = await resolveTarget(file, options.home);
  return readTarget(target, options.permissions ?? 'error');
}

/** Atomic, 0600 from creation, durable across a crash (src/storage/atomicFile.ts). */
async function writeAtomic(file: string, text: string, beforeRename: () => void): Promise<void> {
  await writeFileAtomic(file, text, { beforeRename, ioError: (action, error) => ioError(file, action, error) });
}

/** Takes the cross-process lock `<file>.lock`, waiting up to `timeoutMs`. */
function acquireLock(file: string, timeoutMs: number): Promise<HeldLock> {
  return acquireFileLock(file, {
    timeoutMs,
    staleMs: LOCK_STALE_MS,
    backoff: { firstMs: 5, maxMs: 100 },
    errors: {
      io: (error) => ioError(file, 'lock', error),
      timeout: () =>
        new AgentvisorError(
          'credentials-io',
          `Credentials file ${file} stayed locked by another process for ${timeoutMs} ms; try again later.`,
          { retryAfterMs: 1000, details: { file, reason: 'lock-timeout' } },
        ),
      compromised: () =>
        new AgentvisorError(
          'credentials-io',
          `Lost the lock on credentials file ${file} while updating it; nothing was written. Try again.`,
          { details: { file, reason: 'lock-compromised' } },
        ),
    },
  });
}

type LockedStep =
  { readonly kind: 'write'; readonly data: JsonRecord } | { readonly kind: 'delete' } | { readonly kind: 'keep' };

/** Locks the file, re-reads it under the lock, lets `decide` choose, applies the choice, unlocks. */
async function withLockedFile(
  file: string,
  options: UpdateJsonFileOptions,
  decide: (current: JsonFileContent | null) => LockedStep,
): Promise<{ step: LockedStep; warnings: readonly string[] }> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new AgentvisorError('invalid-option', `lockTimeoutMs must be a non-negative number of milliseconds.`, {
      details: { field: 'lockTimeoutMs' },
    });
  }
  const target = await resolveTarget(file, options.home);
  try {
    await fsp.mkdir(path.dirname(target.real), { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw ioError(target.given, 'create the folder of', error);
  }
  const lock = await acquireLock(target.real, lockTimeoutMs);
  try {
    // Under the lock, whatever the step: a logout that finds nothing to remove still clears a key
    // that a killed write left in a temp file.
    await removeLeftoverTemps(target.real);
    // Read only now, under the lock: another process may have changed the file while we waited.
    const current = await readTarget(target, options.permissions ?? 'warn');
    const step = decide(current);
    if (step.kind === 'write') {
      await writeAtomic(target.real, `${JSON.stringify(step.data, null, 2)}\n`, lock.assertHeld);
    } else if (step.kind === 'delete') {
      lock.assertHeld();
      await fsp.unlink(target.real).catch((error: unknown) => {
        if (errnoCode(error) !== 'ENOENT') throw ioError(target.given, 'delete', error);
      });
      await fsyncFolder(path.dirname(target.real));
    }
    return { step, warnings: current?.warnings ?? [] };
  } finally {
    await lock.release();
  }
}

function isPlainRecord(value: unknown): value is JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Read-modify-write of a JSON credentials file, safe across processes. It takes the lock
 * `<file>.lock`, re-reads the file under it, passes a copy of the content (or `null` when the file
 * does not exist) to `update`, and writes what `update` returns atomically with mode 0600 (the
 * folder is created 0700 when missing). `update` must return every key it does not own unchanged:
 * other programs keep their own keys in these files. A file that cannot be parsed is never
 * overwritten: the call fails with `invalid-credentials-file` and the file stays byte for byte.
 *
 * @example
 * await updateJsonFile(path.join(codexHome, 'claude_auth.json'), (current) => ({
 *   ...current,
 *   oauth_tokens: { access_token: fresh.access, refresh_token: fresh.refresh, expires_at: fresh.expiresAt },
 * }));
 */
export async function updateJsonFile(
  file: string,
  update: (current: JsonRecord | null) => JsonRecord,
  options: UpdateJsonFileOptions = {},
): Promise<JsonFileContent> {
  let written: JsonRecord = {};
  const { warnings } = await withLockedFile(file, options, (current) => {
    const next: unknown = update(current === null ? null : structuredClone(current.data));
    if (!isPlainRecord(next)) {
      throw new AgentvisorError(
        'invalid-option',
        `The update for credentials file ${path.resolve(file)} must return a plain object; nothing was written.`,
        {
          details: { file: path.resolve(file), field: 'update' },
        },
      );
    }
    written = next;
    return { kind: 'write', data: next };
  });
  return { data: written, warnings };
}

/**
 * Removes the named top-level keys (for logout) and keeps every other key. A missing file stays
 * missing. Temp files an interrupted write of this file left are deleted either way. With
 * `deleteIfEmpty` (only for agentvisor's own files) the file is deleted when no key is left;
 * otherwise it keeps `{}`.
 *
 * @example
 * await removeKeys(path.join(codexHome, 'claude_auth.json'), ['oauth_tokens', 'subscription_info']);
 */
export async function removeKeys(
  file: string,
  keys: readonly string[],
  options: RemoveKeysOptions = {},
): Promise<RemoveKeysResult> {
  let removed: string[] = [];
  const { step } = await withLockedFile(file, options, (current) => {
    if (current === null) return { kind: 'keep' };
    options.check?.(current.data);
    const next: JsonRecord = { ...current.data };
    removed = keys.filter(
      (key) =>
        Object.prototype.hasOwnProperty.call(next, key) && (options.when === undefined || options.when(key, next[key])),
    );
    if (removed.length === 0) return { kind: 'keep' };
    for (const key of removed) delete next[key];
    if (options.deleteIfEmpty === true && Object.keys(next).length === 0) return { kind: 'delete' };
    return { kind: 'write', data: next };
  });
  return { removed, deleted: step.kind === 'delete' };
}
