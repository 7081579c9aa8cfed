import { windowAt } from '../../src/quota';
import { redisWindow } from '../../src/quota/redisWindow';

const at = (iso: string) => Date.parse(iso);

describe('redisWindow', () => {
  it('should start a window at the previous reset, across daylight saving changes', () => {
    const berlin = { at: '02:30', timeZone: 'Europe/Berlin' };
    // 2026-03-29: clocks go 02:00 -> 03:00 in Berlin, so 02:30 does not exist and the reset is at 03:30 CEST (01:30Z).
    expect(redisWindow(at('2026-03-29T12:00:00Z'), berlin)).toEqual({
      day: '2026-03-29',
      previousDay: '2026-03-28',
      start: at('2026-03-29T01:30:00Z'),
      nextResetAt: at('2026-03-30T00:30:00Z'),
    });
    expect(redisWindow(at('2026-03-29T01:29:59.999Z'), berlin)).toMatchObject({
      day: '2026-03-28',
      start: at('2026-03-28T01:30:00Z'),
      nextResetAt: at('2026-03-29T01:30:00Z'),
    });
    // 2026-10-25: clocks go 03:00 -> 02:00; the reset is at the first 02:30 (CEST, 00:30Z): a 25-hour window follows.
    expect(redisWindow(at('2026-10-26T01:00:00Z'), berlin)).toMatchObject({
      day: '2026-10-25',
      start: at('2026-10-25T00:30:00Z'),
      nextResetAt: at('2026-10-26T01:30:00Z'),
    });
  });

  it('should agree with windowAt and contain the instant all through a year', () => {
    const reset = { at: '06:15', timeZone: 'America/New_York' };
    for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += 7 * 3_600_000 + 17_000) {
      const w = redisWindow(t, reset);
      expect(w.start).toBeLessThanOrEqual(t);
      expect(w.nextResetAt).toBeGreaterThan(t);
      expect({ day: w.day, nextResetAt: w.nextResetAt }).toEqual(windowAt(t, reset));
      expect(windowAt(w.start, reset).day).toBe(w.day);
      expect(windowAt(w.start - 1, reset).day).toBe(w.previousDay);
    }
  });
});
