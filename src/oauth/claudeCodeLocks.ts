import { promises as fsp } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { AgentvisorError, errnoOf } from '../errors';

/**
 * Takes a lock that another program holds around its own use of a credentials file, waiting at most
 * `waitMs` for a live holder; resolves to its release (which never throws).
 */
export type OwnerLock = (file: string, waitMs: number) => Promise<() => Promise<void>>;

/** The locks the program that owns a credentials file takes around its own refresh and writes. */
export interface OwnerLocks {
  /** Held around a whole refresh: the re-read, the token request and the write. */
  readonly refresh: OwnerLock;
  /** Held around the write of the refreshed tokens only. */
  readonly write: OwnerLock;
}

/** Claude Code's refresh lock, in the folder of its `.credentials.json`. */
export const CLAUDE_CODE_REFRESH_LOCK = '.oauth_refresh.lock';
/** Claude Code's lock around every write of its credentials (the name it locks; the folder is `<name>.lock`). */
export const CLAUDE_CODE_STORAGE_WRITE = '.storage-write';
/** Claude Code takes its refresh locks over after 10 s without an mtime update (proper-lockfile's `stale`). */
const REFRESH_STALE_MS = 10_000;
const WRITE_STALE_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One try at a proper-lockfile lock; null when a live holder has it. */
async function tryLock(target: string, lockfilePath: string, staleMs: number): Promise<(() => Promise<void>) | null> {
  try {
    // A lock judged stale and taken over while we held it is not fatal here: the refresher re-reads
    // the file after a rejected grant, so a rival refresh is still found. The default handler throws.
    const release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath,
      stale: staleMs,
      retries: 0,
      onCompromised: () => undefined,
    });
    return () => release().catch(() => undefined);
  } catch (error) {
    if (errnoOf(error) === 'ELOCKED') return null;
    throw error;
  }
}

function lockError(file: string, lock: string, reason: string, message: string): AgentvisorError {
  return new AgentvisorError('credentials-io', message, {
    ...(reason === 'lock-timeout' ? { retryAfterMs: 1000 } : {}),
    details: { file, lock, reason },
  });
}

/** Tries `take` until it gives a release or `waitMs` has passed, with a jittered back-off. */
async function waitFor(
  take: () => Promise<(() => Promise<void>) | null>,
  waitMs: number,
  timedOut: () => AgentvisorError,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt += 1) {
    const release = await take();
    if (release !== null) return release;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await sleep(Math.min(left, Math.min(250, 10 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())));
  }
}

/**
 * Takes Claude Code's own OAuth refresh lock the way Claude Code 2.1 takes it (proper-lockfile,
 * `realpath: false`, `stale: 10000`): `<dir>/.oauth_refresh.lock`, then the legacy
 * `<realpath(dir)>.lock`, where `dir` holds `.credentials.json`. When the legacy one is held, the
 * first is given back and both are tried again, as Claude Code does; a legacy lock that cannot be
 * made at all (its parent folder is not writable) is skipped, as Claude Code skips it.
 *
 * @example
 * const release = await takeClaudeCodeRefreshLock(path.join(os.homedir(), '.claude', '.credentials.json'), 30_000);
 * try { … refresh … } finally { await release(); }
 */
export async function takeClaudeCodeRefreshLock(file: string, waitMs: number): Promise<() => Promise<void>> {
  const dir = path.dirname(path.resolve(file));
  const lock = path.join(dir, CLAUDE_CODE_REFRESH_LOCK);
  const legacy = `${await fsp.realpath(dir).catch(() => dir)}.lock`;
  const ioFailure = (error: unknown): AgentvisorError =>
    lockError(
      file,
      lock,
      errnoOf(error) ?? 'unknown',
      `Could not take Claude Code's refresh lock ${lock} (${errnoOf(error) ?? 'unknown'}); ${file} was not refreshed.`,
    );
  const both = async (): Promise<(() => Promise<void>) | null> => {
    const release = await tryLock(dir, lock, REFRESH_STALE_MS).catch((error: unknown) => {
      throw ioFailure(error);
    });
    if (release === null) return null;
    const releaseLegacy = await tryLock(legacy, legacy, REFRESH_STALE_MS).catch(() => undefined);
    if (releaseLegacy === null) {
      await release();
      return null;
    }
    return async () => {
      await releaseLegacy?.();
      await release();
    };
  };
  return waitFor(both, waitMs, () =>
    lockError(
      file,
      lock,
      'lock-timeout',
      `Claude Code kept its refresh lock ${lock} for ${waitMs} ms (it is refreshing ${file}); try again later.`,
    ),
  );
}

/**
 * Takes the lock Claude Code 2.1 holds around every write of its credentials: `<dir>/.storage-write.lock`
 * (proper-lockfile, `realpath: false`, `stale: 15000`), so a write of ours and one of its own (an MCP
 * login, a refresh) never interleave.
 *
 * @example
 * const release = await takeClaudeCodeWriteLock(credentialsFile, 10_000);
 * try { await updateJsonFile(credentialsFile, update); } finally { await release(); }
 */
export async function takeClaudeCodeWriteLock(file: string, waitMs: number): Promise<() => Promise<void>> {
  const target = path.join(path.dirname(path.resolve(file)), CLAUDE_CODE_STORAGE_WRITE);
  const lock = `${target}.lock`;
  const take = (): Promise<(() => Promise<void>) | null> =>
    tryLock(target, lock, WRITE_STALE_MS).catch((error: unknown) => {
      throw lockError(
        file,
        lock,
        errnoOf(error) ?? 'unknown',
        `Could not take Claude Code's write lock ${lock} (${errnoOf(error) ?? 'unknown'}); ${file} was not written.`,
      );
    });
  return waitFor(take, waitMs, () =>
    lockError(
      file,
      lock,
      'lock-timeout',
      `Claude Code kept its write lock ${lock} for ${waitMs} ms; ${file} was not written. Try again later.`,
    ),
  );
}

/**
 * Claude Code's locks for its `.credentials.json`, for `createTokenRefresher({ ownerLocks })`
 * (`claudeCodeTokens` carries them).
 *
 * @example createTokenRefresher({ file, ...claudeCodeTokens, tokenEndpoint, clientId }) // takes claudeCodeLocks
 */
export const claudeCodeLocks: OwnerLocks = Object.freeze({
  refresh: takeClaudeCodeRefreshLock,
  write: takeClaudeCodeWriteLock,
});
