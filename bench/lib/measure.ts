/** Timing and heap helpers. Every measurement starts from a collected heap. */
import type { Row } from './types';

/** Full collection (twice: the first may leave finalised objects for the second). Needs --expose-gc. */
export function collectGarbage(): void {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run node with --expose-gc (npm run bench does)');
  gc();
  gc();
}

/** heapUsed after a full collection. */
export function settledHeapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Rounds up to two significant digits, so cycle counts read well (10,632 → 11,000). */
export function roundUpNicely(n: number): number {
  if (n <= 10) return Math.max(1, Math.ceil(n));
  const magnitude = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / magnitude) * magnitude;
}

export interface Calibration {
  /** Cycles run while warming up. */
  readonly warmupCycles: number;
  /** Cycles per measured run, fixed for all repetitions. */
  readonly cycles: number;
}

/**
 * Warms a row up for about `warmupMs`: doubling chunks until a third of that time has passed, then
 * one chunk sized (from the rate so far) to fill the rest. A short probe of about `probeMs` then
 * measures the warm rate, from which the runs are sized to last about `targetMs`. (Sizing from the
 * warm-up alone undershot: in a fresh process the first half second runs well below speed.)
 */
export async function calibrate(row: Row, warmupMs: number, targetMs: number, probeMs = 150): Promise<Calibration> {
  let chunk = 1;
  let warmupCycles = 0;
  let spent = 0;
  let rate = 0;
  const runChunk = async (cycles: number) => {
    const t0 = performance.now();
    await row.run(cycles);
    const ms = performance.now() - t0;
    warmupCycles += cycles;
    spent += ms;
    rate = (cycles * 1000) / Math.max(ms, 0.001);
  };
  while (spent < warmupMs / 3) {
    await runChunk(chunk);
    chunk *= 2;
  }
  const rest = Math.floor((rate * (warmupMs - spent)) / 1000);
  if (rest > 0) await runChunk(rest);
  await runChunk(Math.max(1, Math.ceil((rate * probeMs) / 1000)));
  return { warmupCycles, cycles: roundUpNicely(Math.max(3, (rate * targetMs) / 1000)) };
}

/** Runs `cycles` cycles (after a full collection if asked); returns the elapsed milliseconds. */
export async function timeRun(row: Row, cycles: number, collectFirst: boolean): Promise<number> {
  if (collectFirst) collectGarbage();
  const t0 = performance.now();
  await row.run(cycles);
  return performance.now() - t0;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
