import { randomBytes } from 'node:crypto';
import { constants as FS, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AgentvisorError, errnoOf } from '../errors';

/** Credential, ledger and audit files: readable and writable by their owner only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Modes are not enforced on Windows (ACLs decide there). */
const CHECK_MODES = process.platform !== 'win32';

/** Makes a rename in `dir` durable. Some file systems cannot fsync a folder: the rename itself has happened then. */
export async function fsyncFolder(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, FS.O_RDONLY);
    await handle.sync();
  } catch (error) {
    const code = errnoOf(error);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export interface AtomicWriteOptions {
  /** Runs after the temp file is durable and before the rename (a last check that the lock is still ours). */
  readonly beforeRename?: () => void;
  /** Turns a file system failure into the caller's typed error; `action` is `write` or `sync the folder of`. */
  readonly ioError: (action: 'write' | 'sync the folder of', error: unknown) => Error;
}

/** The marker in every temp file name, so a leftover can be told from files other programs keep beside ours. */
const TEMP_MARKER = 'agentvisor-tmp';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The name of a temp file of `file`: `.<name>.agentvisor-tmp.<pid>.<12 hex>`, in the same folder.
 *
 * @example tempFileName('/home/me/.codex/auth.json', 4242, 'a1b2c3d4e5f6') // '/home/me/.codex/.auth.json.agentvisor-tmp.4242.a1b2c3d4e5f6'
 */
export function tempFileName(
  file: string,
  pid: number = process.pid,
  suffix: string = randomBytes(6).toString('hex'),
): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${TEMP_MARKER}.${pid}.${suffix}`);
}

/** Our temp names for `base`: the current shape, and `.<name>.<pid>.<12 hex>.tmp` that earlier versions wrote. */
function tempPattern(base: string): RegExp {
  const name = escapeRegExp(base);
  return new RegExp(`^\\.${name}\\.(?:${TEMP_MARKER}\\.\\d+\\.[0-9a-f]{12}|\\d+\\.[0-9a-f]{12}\\.tmp)$`);
}

/**
 * Deletes the temp files an interrupted write of `file` left (a kill -9 between the temp's write
 * and its rename leaves one, holding the new content: for a credentials file, the key). Only
 * names of our exact shape for this very file are touched, and only regular files or links (never
 * followed). The caller must hold the file's lock: a writer holds it from its temp's creation to
 * the rename, so any temp seen under the lock belongs to a writer that died or lost the lock.
 * Best effort, never throws (an unreadable folder leaves nothing to do): returns how many went.
 *
 * @example await removeLeftoverTemps('/home/me/.codex/auth.json') // 1
 */
export async function removeLeftoverTemps(file: string): Promise<number> {
  const dir = path.dirname(file);
  const pattern = tempPattern(path.basename(file));
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter((n) => pattern.test(n))) {
    const leftover = path.join(dir, name);
    const stat = await fsp.lstat(leftover).catch(() => null);
    if (stat === null || !(stat.isFile() || stat.isSymbolicLink())) continue;
    if (
      await fsp.unlink(leftover).then(
        () => true,
        () => false,
      )
    )
      removed += 1;
  }
  return removed;
}

/**
 * Writes `text` to `file` atomically: a temp file in the same folder (see `tempFileName`), created
 * 0600 by `open` itself (O_CREAT|O_EXCL, mode 0600: never readable by others, not even empty),
 * fsynced, renamed over the file, then the folder fsynced so the rename survives a crash. An
 * AgentvisorError thrown by `beforeRename` passes through; the temp file never outlives a failure,
 * and temps that a killed writer of the same file left are deleted first (`removeLeftoverTemps`:
 * the caller holds the file's lock).
 *
 * @example await writeFileAtomic('/home/me/.codex/agentvisor/ledger.json', json, { ioError: (action, e) => new Error(`could not ${action}: ${String(e)}`) });
 */
export async function writeFileAtomic(file: string, text: string, options: AtomicWriteOptions): Promise<void> {
  const dir = path.dirname(file);
  const temp = tempFileName(file);
  let handle: fsp.FileHandle | undefined;
  let renamed = false;
  try {
    await removeLeftoverTemps(file);
    handle = await fsp.open(temp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, PRIVATE_FILE_MODE);
    // The umask can only narrow 0600; an odd umask that removed owner bits is undone before any byte is written.
    if (CHECK_MODES && ((await handle.stat()).mode & 0o777) !== PRIVATE_FILE_MODE)
      await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    options.beforeRename?.();
    await fsp.rename(temp, file);
    renamed = true;
    await fsyncFolder(dir);
  } catch (error) {
    if (error instanceof AgentvisorError) throw error;
    throw options.ioError(renamed ? 'sync the folder of' : 'write', error);
  } finally {
    await handle?.close().catch(() => undefined);
    if (!renamed) await fsp.unlink(temp).catch(() => undefined);
  }
}
