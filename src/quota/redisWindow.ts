import { windowAt } from './dailyWindow';
import type { DailyReset } from './dailyWindow';
import { shiftDay } from './ledgerState';
import type { LedgerWindow } from './ledgerState';

export interface RedisWindow extends LedgerWindow {
  /** When this window started (epoch ms): the scripts check that their clock lies in [start, nextResetAt). */
  readonly start: number;
}

/** Windows are 23 to 25 hours long (daylight saving); 26 hours back is always in an earlier one. */
const LOOK_BACK_MS = 26 * 3_600_000;

let cached: { reset: DailyReset; window: RedisWindow } | null = null;

/** The daily window around `at`, with its start: the last reset at or before `at`. */
export function redisWindow(at: number, reset: DailyReset): RedisWindow {
  if (
    cached &&
    cached.reset.at === reset.at &&
    cached.reset.timeZone === reset.timeZone &&
    at >= cached.window.start &&
    at < cached.window.nextResetAt
  ) {
    return cached.window;
  }
  const { day, nextResetAt } = windowAt(at, reset);
  let start = at - LOOK_BACK_MS;
  let probe = windowAt(start, reset);
  while (probe.nextResetAt <= at) {
    start = probe.nextResetAt;
    probe = windowAt(start, reset);
  }
  const window = { day, previousDay: shiftDay(day, -1), nextResetAt, start };
  cached = { reset, window };
  return window;
}
