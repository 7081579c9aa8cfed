/**
 * The shapes every contender of the benchmark implements.
 *
 * A contender is one way to gate agent sessions (agentvisor, a bare Map gate, Bottleneck, a naive
 * XState coordinator). It opens a fixture sized for a number of live sessions; the fixture fills
 * those sessions (they stay open while the cycles run) and offers one or more rows: each row runs
 * the same spawn → active → usage → release cycle its own way (through a public API, at the actor
 * level, sequentially or with several in flight).
 */

/** The cycle's figures, the same for every contender. */
export const CYCLE = {
  /** Tokens each spawn asks for; every contender reserves this much per session. */
  estimatedTokens: 1_000,
  /** Usage reported in each cycle: input + output tokens. */
  usage: { inputTokens: 300, outputTokens: 200 },
  /** inputTokens + outputTokens. */
  usedTokens: 500,
  /** Daily limit, high enough that the cycles never run out of budget. */
  dailyLimit: 1_000_000_000_000,
  /** Free slots above the live sessions, so a cycle (or a few in flight) always fits. */
  headroom: 64,
} as const;

export interface RowInfo {
  /** Stable key, e.g. `agentvisor.public`. */
  readonly key: string;
  /** Short label for the table. */
  readonly label: string;
  /** One sentence on what exactly one cycle of this row does. */
  readonly description: string;
}

export interface Row {
  readonly key: string;
  /** Runs `cycles` complete cycles. Sync rows return undefined; async rows a promise. */
  run(cycles: number): void | Promise<void>;
}

export interface Fixture {
  /** Opens `live` sessions that stay open until close(). */
  fill(live: number): Promise<void>;
  readonly rows: readonly Row[];
  /**
   * Checks the books after the measurements: live sessions still held, usage counted once per
   * cycle, reservations exact. Returns the problems found (empty when all is well).
   */
  verify(live: number, cyclesRun: number): Promise<string[]>;
  /** Releases everything; returns how long the shutdown took (ms). */
  close(): Promise<number>;
}

export interface Contender {
  readonly name: string;
  readonly rows: readonly RowInfo[];
  /** Creates the gate with room for `live` sessions plus CYCLE.headroom; no session is open yet. */
  create(live: number): Promise<Fixture>;
}
