/**
 * The one time origin of the tests. A test whose start time is arbitrary starts at `T0` and names
 * later instants as offsets from it (`at(2 * HOUR)`); a test that needs a particular date (a month
 * boundary, a daylight-saving change, a given reset) keeps its own and says why beside it.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * 2026-01-01T12:00:00Z: noon, so a few hours of simulated time never cross the 00:00 UTC reset.
 *
 * @example createManualClock(T0)
 */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/**
 * The UTC day of `T0`, as the ledgers and the coordinator name days.
 *
 * @example expect(snapshot.day).toBe(DAY0)
 */
export const DAY0 = '2026-01-01';

/**
 * The first daily reset after `T0` (the default window starts at 00:00 UTC).
 *
 * @example expect(error.retryAfterMs).toBe(NEXT_RESET - T0)
 */
export const NEXT_RESET = Date.UTC(2026, 0, 2, 0, 0, 0);

/**
 * 20 minutes before `NEXT_RESET` (2026-01-01T23:40:00Z): a run that starts here crosses the daily reset.
 *
 * @example fc.constantFrom(T0, JUST_BEFORE_RESET)
 */
export const JUST_BEFORE_RESET = NEXT_RESET - 20 * MINUTE;

/**
 * 2025-06-01T20:00:00Z (a Sunday evening, UTC): the "now" the recorded provider answers in
 * test/providers were read against. Their texts and headers name clock times and dates relative to
 * it (`usage limit reached|1748815200` is 22:00 that day, "resets 9:20pm (UTC)" later that evening,
 * "resets Jun 9, 5am" the next week), so those tests keep this date; anything else starts at `T0`.
 *
 * @example classifyHttpFailure({ provider: 'claude', status: 429, now: PROVIDER_SAMPLES_NOW })
 */
export const PROVIDER_SAMPLES_NOW = Date.UTC(2025, 5, 1, 20, 0, 0);

/**
 * The instant `offsetMs` after `T0` (before it when negative).
 *
 * @example clock.set(at(90 * MINUTE))
 */
export function at(offsetMs: number): number {
  return T0 + offsetMs;
}
