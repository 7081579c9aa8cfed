/**
 * Drives one contender's fixture: the commands the benchmark runner sends, executed either in a
 * worker process (the default: one process per contender and live count) or in the runner's own
 * process (--in-process).
 */
import { CONTENDERS, isContenderName } from '../contenders';
import type { ContenderName } from '../contenders';
import { calibrate, settledHeapUsed, timeRun } from './measure';
import type { Calibration } from './measure';
import type { Fixture, Row } from './types';

export type Command =
  | { readonly type: 'open'; readonly contender: string; readonly live: number }
  | { readonly type: 'calibrate'; readonly row: string; readonly warmupMs: number; readonly targetMs: number }
  | { readonly type: 'run'; readonly row: string; readonly cycles: number; readonly collectFirst: boolean }
  | { readonly type: 'verify' }
  | { readonly type: 'close' };

export interface Opened {
  readonly rows: readonly string[];
  readonly fillMs: number;
  /** Heap taken by opening the live sessions (after full collections). */
  readonly filledBytes: number;
}

export interface Replies {
  open: Opened;
  calibrate: Calibration;
  run: { readonly ms: number };
  verify: { readonly problems: readonly string[] };
  close: { readonly closeMs: number };
}

export type Reply = Replies[keyof Replies];

/** Sessions opened (and closed) once before the measured opening. */
const PRIMER_SESSIONS = 200;

/**
 * Opens and closes a throwaway gate with a few sessions, so the code that opens sessions is
 * compiled and lazily built caches exist before the heap is measured: the figures are then per
 * session, not the one-off cost of first use. (A function of its own, so nothing of it stays
 * reachable from the caller's frame.)
 */
async function prime(name: ContenderName): Promise<void> {
  const primer = await CONTENDERS[name].create(PRIMER_SESSIONS);
  await primer.fill(PRIMER_SESSIONS);
  await primer.close();
}

export class FixtureDriver {
  #fixture: Fixture | null = null;
  #rows = new Map<string, Row>();
  #live = 0;
  /** Every cycle run on this fixture (warm-up included), for the bookkeeping check. */
  #cycles = 0;

  async handle(command: Command): Promise<Reply> {
    switch (command.type) {
      case 'open':
        return this.#open(command.contender, command.live);
      case 'calibrate': {
        const c = await calibrate(this.#row(command.row), command.warmupMs, command.targetMs);
        this.#cycles += c.warmupCycles;
        return c;
      }
      case 'run': {
        const ms = await timeRun(this.#row(command.row), command.cycles, command.collectFirst);
        this.#cycles += command.cycles;
        return { ms };
      }
      case 'verify':
        return { problems: await this.#current().verify(this.#live, this.#cycles) };
      case 'close': {
        const closeMs = await this.#current().close();
        this.#fixture = null;
        this.#rows.clear();
        return { closeMs };
      }
    }
  }

  async #open(name: string, live: number): Promise<Opened> {
    if (!isContenderName(name)) throw new Error(`unknown contender ${name}`);
    if (this.#fixture) throw new Error('a fixture is already open in this driver');
    if (live > 0) await prime(name);
    const fixture = await CONTENDERS[name].create(live);
    const created = settledHeapUsed();
    const t0 = performance.now();
    await fixture.fill(live);
    const fillMs = performance.now() - t0;
    const filled = settledHeapUsed();
    this.#fixture = fixture;
    this.#live = live;
    this.#cycles = 0;
    this.#rows = new Map(fixture.rows.map((r) => [r.key, r]));
    return { rows: fixture.rows.map((r) => r.key), fillMs, filledBytes: filled - created };
  }

  #current(): Fixture {
    if (!this.#fixture) throw new Error('no fixture is open');
    return this.#fixture;
  }

  #row(key: string): Row {
    const row = this.#rows.get(key);
    if (!row) throw new Error(`no row ${key} in the open fixture (rows: ${[...this.#rows.keys()].join(', ')})`);
    return row;
  }
}
