import { windowAt } from './dailyWindow';
import type { DailyReset } from './dailyWindow';

/** The daily window an operation falls in, as the ledger's books key it. */
export interface LedgerWindow {
  readonly day: string;
  /** The window before this one: settled ids are remembered for two windows. */
  readonly previousDay: string;
  readonly nextResetAt: number;
}

/** The calendar date `delta` days from `day` (both YYYY-MM-DD). Window keys are consecutive dates. */
export function shiftDay(day: string, delta: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + delta)).toISOString().slice(0, 10);
}

let lastWindow: { readonly reset: DailyReset; readonly from: number; readonly window: LedgerWindow } | null = null;

/**
 * The window `now` falls in. The last answer is reused for any time from the instant it was
 * computed for up to its next reset (one window is contiguous): computing it costs about 0.1 ms
 * (Intl), far more than a reservation.
 */
export function ledgerWindow(now: number, reset: DailyReset): LedgerWindow {
  const last = lastWindow;
  if (
    last !== null &&
    last.reset.at === reset.at &&
    last.reset.timeZone === reset.timeZone &&
    now >= last.from &&
    now < last.window.nextResetAt
  ) {
    return last.window;
  }
  const { day, nextResetAt } = windowAt(now, reset);
  const window = { day, previousDay: shiftDay(day, -1), nextResetAt };
  lastWindow = { reset, from: now, window };
  return window;
}
