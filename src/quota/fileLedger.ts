import os from 'node:os';
import path from 'node:path';
import type { ProviderId } from '../../machines/providers';
import type {
  LedgerConfig,
  LedgerSnapshot,
  QuotaLedger,
  RecordOutcome,
  RecordRequest,
  ReserveOutcome,
  ReserveRequest,
  Settlement,
} from './ledger';
import { parseLedger, serializeLedger } from './ledgerFileFormat';
import { dailyResetMismatch, sameDailyReset } from './dailyWindow';
import type { DailyReset } from './dailyWindow';
import {
  checkLeaseMs,
  checkRecordRequest,
  checkReserveRequest,
  checkSessionId,
  checkSettle,
  closedLedgerError,
  readClock,
  resolveLedgerConfig,
} from './ledgerInput';
import { checkLedgerOptions } from './ledgerConfigSchema';
import {
  createLedgerState,
  ledgerWindow,
  pruneDays,
  recordIn,
  renewIn,
  reserveIn,
  settleIn,
  snapshotIn,
  sweepExpired,
} from './ledgerState';
import type { LedgerState, LedgerWindow } from './ledgerState';
import { readCheckedFile, updateLockedFile } from './lockedFile';
import type { LockedFileOptions } from './lockedFile';

export interface FileLedgerOptions extends LedgerConfig {
  /**
   * The ledger file (JSON, mode 0600). Its folder is created with mode 0700 when missing. The file
   * itself is never a symlink (refused with `insecure-permissions`, the link and its target untouched).
   */
  readonly file: string;
  /**
   * A `file` whose folder passes through a symlink must resolve inside this folder, as for the
   * credential files; a plain path is used wherever it is.
   * @default os.homedir()
   */
  readonly home?: string;
  /**
   * How long one operation waits for another process's lock before failing with `ledger-unavailable`.
   * @default 10_000
   */
  readonly lockTimeoutMs?: number;
  /**
   * A lock its holder stopped refreshing for this long is taken over (the holder died); at least 2,000.
   * @default 10_000
   */
  readonly lockStaleMs?: number;
}

type Step<T> = (state: LedgerState, at: number, window: LedgerWindow) => T;

interface Pending {
  readonly step: Step<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The books in a ledger file's text (empty when there is none yet), kept by `dailyReset`. A file
 * kept by another reset is refused (`invalid-option`): two schedules on one file would count the
 * same hours against different days, each process seeing a budget of its own.
 */
function booksIn(file: string, text: string | null, dailyReset: DailyReset): LedgerState {
  if (text === null) return createLedgerState();
  const { state, dailyReset: kept } = parseLedger(file, text);
  if (kept === null || sameDailyReset(kept, dailyReset)) return state;
  throw dailyResetMismatch(`Ledger file ${file}`, kept, dailyReset, 'move the file aside', { file });
}

/** The file and lock settings of checked options, with their defaults. */
function fileSettings(options: FileLedgerOptions): { file: string } & LockedFileOptions {
  return {
    file: path.resolve(options.file),
    lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
    lockStaleMs: options.lockStaleMs ?? 10_000,
    home: path.resolve(options.home ?? os.homedir()),
  };
}

/**
 * The embedded default ledger: the books in one JSON file, shared safely by every process on this
 * machine that opens the same file. Each operation takes the file's lock, re-reads the file,
 * applies the same transitions as the memory ledger and writes the file back atomically (temp
 * file, fsync, rename, folder fsync) before its promise resolves, so a kill -9 at any point loses
 * at most reservations still in flight (their leases run out) and never a settled usage.
 * Operations issued together in one process share one lock and one write (group commit), in order.
 * A file that cannot be parsed fails with `ledger-corrupt` and is never overwritten. A ledger file
 * that is a symlink, or lies below one that leads outside `home`, fails every operation with
 * `insecure-permissions` (`details.reason`) and is never followed, replaced or chmodded.
 *
 * @default lockTimeoutMs 10_000, lockStaleMs 10_000, home os.homedir(), dailyReset { at: '00:00', timeZone: 'UTC' }, now Date.now
 * @example
 * const ledger = createFileLedger({
 *   file: path.join(os.homedir(), '.codex', 'agentvisor', 'ledger.json'),
 *   limits: { claude: { dailyLimit: 1_000_000, maxConcurrent: 10 }, openai: { dailyLimit: 500_000, maxConcurrent: 8 } },
 * });
 * const outcome = await ledger.reserve({ provider: 'openai', sessionId: 's-7', tokens: 8_000, leaseMs: 3_600_000 });
 * if (outcome.status === 'refused') console.log(outcome.code, outcome.retryAfterMs);
 */
export function createFileLedger(options: FileLedgerOptions): QuotaLedger {
  checkLedgerOptions('file', options);
  const { limits, dailyReset, now } = resolveLedgerConfig(options);
  const { file, ...lockOptions } = fileSettings(options);
  const queue: Pending[] = [];
  let draining: Promise<void> | null = null;
  let closed = false;

  /** Applies a batch of steps to the file's current state under one lock; each step succeeds or fails alone. */
  async function runBatch(batch: readonly Pending[]): Promise<void> {
    const outcomes = await updateLockedFile(file, lockOptions, (text) => {
      const state = booksIn(file, text, dailyReset);
      const at = readClock(now);
      const window = ledgerWindow(at, dailyReset);
      const results = batch.map((op) => {
        try {
          return { ok: true as const, value: op.step(state, at, window) };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
      pruneDays(state, window);
      const next = serializeLedger(state, dailyReset);
      // Unchanged books (a snapshot with nothing to expire) are not rewritten.
      return { text: next === text ? null : next, result: results };
    });
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.error);
    });
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        await runBatch(batch);
      } catch (error) {
        for (const op of batch) op.reject(error);
      }
    }
    draining = null;
  }

  function run<T>(step: Step<T>): Promise<T> {
    if (closed) return Promise.reject(closedLedgerError('file'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ step, resolve: resolve as (value: unknown) => void, reject });
      draining ??= drain();
    });
  }

  return {
    async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
      const checked = checkReserveRequest(request);
      return run((state, at, window) => reserveIn(state, limits, window, at, checked));
    },
    async settle(sessionId: string, usedTokens: number, provider?: ProviderId): Promise<Settlement> {
      const checked = checkSettle(sessionId, usedTokens, provider);
      return run((state, at, window) => settleIn(state, limits, window, at, checked));
    },
    async record(request: RecordRequest): Promise<RecordOutcome> {
      const checked = checkRecordRequest(request);
      return run((state, at, window) => recordIn(state, limits, window, at, checked));
    },
    async renew(sessionId: string, leaseMs: number): Promise<boolean> {
      const id = checkSessionId(sessionId);
      const lease = checkLeaseMs(leaseMs);
      return run((state, at, window) => renewIn(state, window, at, id, lease));
    },
    async sweep(): Promise<number> {
      return run((state, at, window) => sweepExpired(state, window, at));
    },
    async snapshot(): Promise<LedgerSnapshot> {
      return run((state, at, window) => snapshotIn(state, limits, window, at));
    },
    async close(): Promise<void> {
      closed = true;
      // Operations already accepted finish (and are durable) before close resolves.
      await draining;
    },
  };
}

/**
 * A file ledger's snapshot, read without its lock and without writing anything back: leases that
 * ran out are left out of it, but the file keeps them (and its version) until the next operation
 * of a ledger. For readers such as `agentvisor quota`; fails as the file ledger would
 * (`ledger-corrupt`, `insecure-permissions`, `ledger-unavailable`).
 *
 * @example const snapshot = await readFileLedgerSnapshot({ file, limits });
 */
export async function readFileLedgerSnapshot(options: FileLedgerOptions): Promise<LedgerSnapshot> {
  checkLedgerOptions('file', options);
  const { limits, dailyReset, now } = resolveLedgerConfig(options);
  const { file, home } = fileSettings(options);
  const text = await readCheckedFile(file, home);
  const state = booksIn(file, text, dailyReset);
  const at = readClock(now);
  return snapshotIn(state, limits, ledgerWindow(at, dailyReset), at);
}
