import path from 'node:path';
import type { ResolvedLedger } from './ledgerOption';

/** How `spawnAgent({ taskKind })` without `estimatedTokens` takes its estimate from settled usage. */
export interface LearnedEstimatesOptions {
  /** The percentile of the window's usage taken as the estimate (1–100). @default 90 */
  readonly percentile?: number;
  /** How many of the latest settled sessions of a kind count. @default 50 */
  readonly window?: number;
  /** The estimate never goes below this. @default 1000 */
  readonly min?: number;
  /** The estimate never goes above this. @default 200000 */
  readonly max?: number;
  /** The estimate of a kind with no settled session yet (kept within min and max). @default 20000 */
  readonly initial?: number;
  /**
   * Where the samples are kept across restarts (a JSON file, 0600, written atomically under a lock),
   * or `false` for this process only.
   * @default beside the file ledger (`estimates.json`), `$home/agentvisor/estimates.json` with a Redis or custom ledger, none with the memory ledger
   */
  readonly file?: string | false;
}

export interface ResolvedLearnedEstimates {
  readonly percentile: number;
  readonly window: number;
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly file: string | null;
}

/** The estimates file's name, beside the file ledger. */
export const ESTIMATES_FILE = 'estimates.json';

/** More task kinds than this are refused: a kind is a class of work (`lint`, `fix-test`), not a task. */
export const MAX_TASK_KINDS = 1000;

/** What a task kind may be: 1–64 letters, digits and `_ . : / -`. */
export const KIND_PATTERN = /^[\w.:/-]{1,64}$/;

/**
 * The estimate's bounds with their defaults: `max` defaults to at least `min`, `initial` to 20,000
 * within them. The option's schema and `resolveLearnedEstimates` both take them from here.
 *
 * @example learnedBounds({ min: 300_000 }) // { min: 300000, max: 300000, initial: 300000 }
 */
export function learnedBounds(given: Pick<LearnedEstimatesOptions, 'min' | 'max' | 'initial'>): {
  min: number;
  max: number;
  initial: number;
} {
  const min = given.min ?? 1_000;
  const max = given.max ?? Math.max(min, 200_000);
  return { min, max, initial: given.initial ?? Math.min(max, Math.max(min, 20_000)) };
}

/**
 * The `learnedEstimates` option (checked with the orchestrator's options: optionsSchema.ts) with its
 * defaults, and where samples persist: a memory ledger keeps them in memory (nothing else of its
 * budget survives a restart either); a durable ledger keeps them in a file beside it.
 *
 * @example resolveLearnedEstimates({ percentile: 95 }, resolveLedger('file', home), home).file // '<home>/agentvisor/estimates.json'
 */
export function resolveLearnedEstimates(
  option: LearnedEstimatesOptions | undefined,
  ledger: ResolvedLedger,
  home: string,
): ResolvedLearnedEstimates {
  const given = option ?? {};
  let file: string | null;
  if (given.file === false) file = null;
  else if (given.file !== undefined) file = path.resolve(given.file);
  else if (ledger.file !== null) file = path.join(path.dirname(ledger.file), ESTIMATES_FILE);
  else file = ledger.kind === 'memory' ? null : path.join(home, 'agentvisor', ESTIMATES_FILE);
  return { percentile: given.percentile ?? 90, window: given.window ?? 50, ...learnedBounds(given), file };
}

/** One settled session: what it used and what it was allocated at admission. */
export interface UsageSample {
  readonly used: number;
  readonly allocated: number;
}

/** What `stats().taskKinds[kind]` says. */
export interface TaskKindStats {
  /** The estimate a spawn of this kind without `estimatedTokens` gets now. */
  readonly estimate: number;
  /** `learned` once the kind has a settled session; `initial` before. */
  readonly basis: 'learned' | 'initial';
  /** Sessions in the window (at most `window`). */
  readonly samples: number;
  /** Sessions of this kind settled since the samples were first kept. */
  readonly settled: number;
  /** Mean of used ÷ allocated at admission over the window (1: reservations matched use; below: over-reserved); null without samples. */
  readonly meanUseRatio: number | null;
  /** Tokens allocated at admission and left unused at settlement, summed over the window. */
  readonly unusedTokens: number;
  /** Sessions in the window that used more than their admission allocation (they needed a top-up). */
  readonly overAllocation: number;
}

interface KindState {
  samples: UsageSample[];
  settled: number;
}

/** The nearest-rank percentile of `values` (not empty). */
export function percentileOf(values: readonly number[], percentile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Per task kind: the latest settled sessions and the estimate they give. Pure bookkeeping, no I/O. */
export class TaskKindEstimates {
  readonly #config: ResolvedLearnedEstimates;
  readonly #kinds = new Map<string, KindState>();

  constructor(config: ResolvedLearnedEstimates) {
    this.#config = config;
  }

  get size(): number {
    return this.#kinds.size;
  }

  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  /** The high percentile of the window's usage, within min and max; `initial` for a kind with no sample. */
  estimateFor(kind: string): number {
    const state = this.#kinds.get(kind);
    const c = this.#config;
    if (!state || state.samples.length === 0) return c.initial;
    const p = percentileOf(
      state.samples.map((s) => s.used),
      c.percentile,
    );
    return Math.min(c.max, Math.max(c.min, p));
  }

  record(kind: string, sample: UsageSample): void {
    const state = this.#kinds.get(kind) ?? { samples: [], settled: 0 };
    state.samples.push(sample);
    if (state.samples.length > this.#config.window) state.samples.splice(0, state.samples.length - this.#config.window);
    state.settled += 1;
    this.#kinds.set(kind, state);
  }

  /** Replaces a kind's state (read from the file), keeping the window. */
  restore(kind: string, samples: readonly UsageSample[], settled: number): void {
    const kept = samples.slice(-this.#config.window);
    this.#kinds.set(kind, { samples: [...kept], settled: Math.max(settled, kept.length) });
  }

  stats(): Record<string, TaskKindStats> {
    const out: Record<string, TaskKindStats> = {};
    for (const [kind, state] of this.#kinds) {
      const ratios = state.samples.filter((s) => s.allocated > 0).map((s) => s.used / s.allocated);
      out[kind] = {
        estimate: this.estimateFor(kind),
        basis: state.samples.length > 0 ? 'learned' : 'initial',
        samples: state.samples.length,
        settled: state.settled,
        meanUseRatio:
          ratios.length === 0 ? null : Math.round((ratios.reduce((a, b) => a + b, 0) / ratios.length) * 1000) / 1000,
        unusedTokens: state.samples.reduce((sum, s) => sum + Math.max(0, s.allocated - s.used), 0),
        overAllocation: state.samples.filter((s) => s.used > s.allocated).length,
      };
    }
    return out;
  }
}
