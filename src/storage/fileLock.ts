import lockfile from 'proper-lockfile';
import { errnoOf } from '../errors';

export interface HeldLock {
  readonly release: () => Promise<void>;
  /** Throws when another process took the lock over (ours was judged stale): nothing may be written then. */
  readonly assertHeld: () => void;
}

export interface FileLockOptions {
  readonly timeoutMs: number;
  /** A lock whose holder stopped refreshing it for this long is taken over (the holder died). */
  readonly staleMs: number;
  /** Back-off between tries: the first wait and the cap, in ms (jittered ×0.5–1.5). */
  readonly backoff: { readonly firstMs: number; readonly maxMs: number };
  /** The caller's typed errors: the lock could not be tried, was held past `timeoutMs`, or was lost while held. */
  readonly errors: {
    readonly io: (error: unknown) => Error;
    readonly timeout: () => Error;
    readonly compromised: () => Error;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the cross-process lock `<file>.lock` (a folder proper-lockfile creates atomically),
 * retrying with a jittered exponential back-off until `timeoutMs`. Shared by the credential store
 * and the file ledger; each passes its own errors.
 *
 * @example const lock = await acquireFileLock(file, { timeoutMs: 10_000, staleMs: 10_000, backoff: { firstMs: 2, maxMs: 50 }, errors });
 */
export async function acquireFileLock(file: string, options: FileLockOptions): Promise<HeldLock> {
  let compromised = false;
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const release = await lockfile.lock(file, {
        realpath: false,
        lockfilePath: `${file}.lock`,
        stale: options.staleMs,
        retries: 0,
        onCompromised: () => {
          compromised = true;
        },
      });
      return {
        release: async () => {
          await release().catch(() => undefined);
        },
        assertHeld: () => {
          if (compromised) throw options.errors.compromised();
        },
      };
    } catch (error) {
      if (errnoOf(error) !== 'ELOCKED') throw options.errors.io(error);
      const left = deadline - Date.now();
      if (left <= 0) throw options.errors.timeout();
      // Jittered so that waiting processes do not retry in step.
      await sleep(
        Math.min(
          left,
          Math.min(options.backoff.maxMs, options.backoff.firstMs * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()),
        ),
      );
    }
  }
}
