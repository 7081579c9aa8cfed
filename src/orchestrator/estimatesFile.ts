import path from 'node:path';
import type { Logger } from 'pino';
import { readJsonFile, updateJsonFile } from '../storage/secureStore';
import type { JsonRecord } from '../storage/secureStore';
import { MAX_TASK_KINDS } from './learnedEstimates';
import type { TaskKindEstimates, UsageSample } from './learnedEstimates';

/**
 * The learned estimates file (version 1), beside the file ledger by default:
 * `{ "version": 1, "kinds": { "<kind>": { "settled": 12, "samples": [[used, allocated], …] } } }`,
 * samples oldest first, at most the window per kind. Several processes may share it: each write
 * merges this process's new samples into what is there, under the file's lock.
 */
export const ESTIMATES_FILE_VERSION = 1;

interface StoredKind {
  readonly settled: number;
  readonly samples: readonly UsageSample[];
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The kinds a file holds; entries that are not well formed are skipped (the file only informs estimates). */
export function storedKinds(data: JsonRecord | null): Map<string, StoredKind> {
  const out = new Map<string, StoredKind>();
  const kinds = data?.kinds;
  if (typeof kinds !== 'object' || kinds === null || Array.isArray(kinds)) return out;
  for (const [kind, value] of Object.entries(kinds as Record<string, unknown>)) {
    if (out.size >= MAX_TASK_KINDS) break;
    if (typeof value !== 'object' || value === null) continue;
    const { settled, samples } = value as { settled?: unknown; samples?: unknown };
    if (!Array.isArray(samples)) continue;
    const parsed: UsageSample[] = [];
    for (const pair of samples as unknown[]) {
      const used = Array.isArray(pair) ? count(pair[0]) : null;
      const allocated = Array.isArray(pair) ? count(pair[1]) : null;
      if (used !== null && allocated !== null) parsed.push({ used, allocated });
    }
    out.set(kind, { settled: count(settled) ?? parsed.length, samples: parsed });
  }
  return out;
}

/** `current` with `added` samples appended per kind, each kind trimmed to `window`. */
export function mergeSamples(
  current: JsonRecord | null,
  added: ReadonlyMap<string, readonly UsageSample[]>,
  window: number,
): JsonRecord {
  const kinds: Record<string, { settled: number; samples: number[][] }> = {};
  const stored = storedKinds(current);
  for (const [kind, value] of stored)
    kinds[kind] = { settled: value.settled, samples: value.samples.map((s) => [s.used, s.allocated]) };
  for (const [kind, samples] of added) {
    const before = kinds[kind] ?? (Object.keys(kinds).length < MAX_TASK_KINDS ? { settled: 0, samples: [] } : null);
    if (before === null) continue;
    kinds[kind] = {
      settled: before.settled + samples.length,
      samples: [...before.samples, ...samples.map((s) => [s.used, s.allocated])].slice(-window),
    };
  }
  return { version: ESTIMATES_FILE_VERSION, kinds };
}

/**
 * Keeps a `TaskKindEstimates` in step with its file: reads it at start, writes new samples after
 * each settlement (one write at a time; samples that arrive meanwhile go in the next), and takes
 * in what other processes wrote each time it writes. Without a file it only records in memory.
 * A file that cannot be read or written is logged and the estimates carry on from memory.
 */
export class EstimatesFile {
  readonly #estimates: TaskKindEstimates;
  readonly #file: string | null;
  readonly #window: number;
  readonly #logger: Logger | null;
  #pending = new Map<string, UsageSample[]>();
  #writing: Promise<void> | null = null;
  #again = false;

  constructor(init: { estimates: TaskKindEstimates; file: string | null; window: number; logger: Logger | null }) {
    this.#estimates = init.estimates;
    this.#file = init.file;
    this.#window = init.window;
    this.#logger = init.logger;
  }

  async load(): Promise<void> {
    if (this.#file === null) return;
    try {
      const content = await readJsonFile(this.#file, { permissions: 'warn', home: path.dirname(this.#file) });
      for (const warning of content?.warnings ?? []) this.#logger?.warn({ warning }, 'learned estimates file');
      for (const [kind, stored] of storedKinds(content?.data ?? null))
        this.#estimates.restore(kind, stored.samples, stored.settled);
    } catch (error) {
      this.#logger?.warn(
        { file: this.#file, problem: error instanceof Error ? error.message : String(error) },
        'could not read the learned estimates; starting from the initial estimate',
      );
    }
  }

  /** Counts one settled session and schedules its write. */
  record(kind: string, sample: UsageSample): void {
    this.#estimates.record(kind, sample);
    if (this.#file === null) return;
    const list = this.#pending.get(kind);
    if (!list) this.#pending.set(kind, [sample]);
    else {
      list.push(sample);
      // While the file cannot be written, only the window's worth is worth keeping.
      if (list.length > this.#window) list.splice(0, list.length - this.#window);
    }
    void this.flush();
  }

  /** Resolves when every sample recorded so far is written (or its write failed and was logged). */
  flush(): Promise<void> {
    if (this.#file === null || (this.#writing === null && this.#pending.size === 0))
      return this.#writing ?? Promise.resolve();
    if (this.#writing !== null) {
      this.#again = true;
      return this.#writing;
    }
    this.#writing = this.#writeAll(this.#file).finally(() => {
      this.#writing = null;
    });
    return this.#writing;
  }

  async #writeAll(file: string): Promise<void> {
    do {
      this.#again = false;
      if (!(await this.#writeOnce(file))) return;
    } while (this.#again || this.#pending.size > 0);
  }

  async #writeOnce(file: string): Promise<boolean> {
    const taken = this.#pending;
    this.#pending = new Map();
    try {
      const { data } = await updateJsonFile(file, (current) => mergeSamples(current, taken, this.#window), {
        home: path.dirname(file),
      });
      // What the file holds now includes other processes' samples; samples recorded during the write follow it.
      for (const [kind, stored] of storedKinds(data)) {
        const since = this.#pending.get(kind) ?? [];
        this.#estimates.restore(kind, [...stored.samples, ...since], stored.settled + since.length);
      }
      return true;
    } catch (error) {
      for (const [kind, samples] of taken) this.#pending.set(kind, [...samples, ...(this.#pending.get(kind) ?? [])]);
      this.#logger?.warn(
        { file, problem: error instanceof Error ? error.message : String(error) },
        'could not write the learned estimates; they are kept in memory and written with the next settlement',
      );
      return false;
    }
  }
}
