/** A timer handle from a Clock. */
export type ClockTimer = unknown;

/**
 * Where the orchestrator gets the time and its timers. Pass a manual clock in tests to drive
 * expiry and the daily reset without waiting.
 *
 * @default systemClock
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** Real time. Timers are unref'd, so a host that forgets `stop()` can still exit. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in time order (timers they set fire too, if due). */
  advance(ms: number): void;
  /** Jumps to an absolute time (never backwards). */
  set(epochMs: number): void;
  /** Timers not yet fired. */
  pending(): number;
}

/**
 * A clock that moves only when told: for tests, simulations and benchmarks.
 *
 * @example
 * const clock = createManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * const orch = createOrchestrator({ clock });
 * clock.advance(2 * 60 * 60 * 1000); // two hours later: the sweep runs, stale allocations expire
 */
export function createManualClock(startMs = 0): ManualClock {
  let now = startMs;
  let seq = 0;
  const timers = new Map<number, { at: number; seq: number; callback: () => void }>();
  const runUntil = (target: number) => {
    for (;;) {
      let next: { id: number; at: number; seq: number } | null = null;
      for (const [id, t] of timers) {
        if (t.at <= target && (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = { id, at: t.at, seq: t.seq };
      }
      if (next === null) break;
      const timer = timers.get(next.id)!;
      timers.delete(next.id);
      now = Math.max(now, timer.at);
      timer.callback();
    }
    now = Math.max(now, target);
  };
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), seq: id, callback });
      return id;
    },
    clearTimeout: (timer) => {
      timers.delete(timer as number);
    },
    advance: (ms) => runUntil(now + ms),
    set: (epochMs) => runUntil(Math.max(now, epochMs)),
    pending: () => timers.size,
  };
}
