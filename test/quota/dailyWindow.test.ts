import { DEFAULT_DAILY_RESET, isAgentvisorError, windowAt } from '../../src';
import { checkDailyReset } from '../../src/quota/dailyWindow';

const at = (iso: string) => Date.parse(iso);

describe('windowAt', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, 9e15, '2026-03-10'])(
    'should refuse the time %p with invalid-option',
    (time) => {
      expect(() => windowAt(time as number)).toThrow(expect.objectContaining({ code: 'invalid-option' }));
    },
  );

  it('should default to a window starting 00:00 UTC', () => {
    expect(DEFAULT_DAILY_RESET).toEqual({ at: '00:00', timeZone: 'UTC' });
    expect(windowAt(at('2026-03-10T10:00:00Z'))).toEqual({
      day: '2026-03-10',
      nextResetAt: at('2026-03-11T00:00:00Z'),
    });
  });

  it('should put the reset instant in the new window and the instant before in the old one', () => {
    expect(windowAt(at('2026-03-11T00:00:00Z'))).toEqual({
      day: '2026-03-11',
      nextResetAt: at('2026-03-12T00:00:00Z'),
    });
    expect(windowAt(at('2026-03-11T00:00:00Z') - 1)).toEqual({
      day: '2026-03-10',
      nextResetAt: at('2026-03-11T00:00:00Z'),
    });
  });

  it('should cross a year boundary', () => {
    expect(windowAt(at('2026-12-31T23:59:59.999Z'))).toEqual({
      day: '2026-12-31',
      nextResetAt: at('2027-01-01T00:00:00Z'),
    });
  });

  it('should cross a leap day', () => {
    expect(windowAt(at('2028-02-28T12:00:00Z'))).toEqual({
      day: '2028-02-28',
      nextResetAt: at('2028-02-29T00:00:00Z'),
    });
    expect(windowAt(at('2028-02-29T12:00:00Z'))).toEqual({
      day: '2028-02-29',
      nextResetAt: at('2028-03-01T00:00:00Z'),
    });
  });

  it('should key a window that starts later in the day by the date it started on', () => {
    const reset = { at: '06:30', timeZone: 'UTC' };
    expect(windowAt(at('2026-03-10T10:00:00Z'), reset)).toEqual({
      day: '2026-03-10',
      nextResetAt: at('2026-03-11T06:30:00Z'),
    });
    expect(windowAt(at('2026-03-10T06:29:59.999Z'), reset)).toEqual({
      day: '2026-03-09',
      nextResetAt: at('2026-03-10T06:30:00Z'),
    });
    expect(windowAt(at('2026-03-10T06:30:00Z'), reset)).toEqual({
      day: '2026-03-10',
      nextResetAt: at('2026-03-11T06:30:00Z'),
    });
  });

  it('should use the local date and time of a zone with a fractional offset', () => {
    // Asia/Kolkata is UTC+05:30: local midnight on 2026-03-11 is 2026-03-10T18:30Z.
    expect(windowAt(at('2026-03-10T10:00:00Z'), { at: '00:00', timeZone: 'Asia/Kolkata' })).toEqual({
      day: '2026-03-10',
      nextResetAt: at('2026-03-10T18:30:00Z'),
    });
    expect(windowAt(at('2026-03-10T18:30:00Z'), { at: '00:00', timeZone: 'Asia/Kolkata' })).toEqual({
      day: '2026-03-11',
      nextResetAt: at('2026-03-11T18:30:00Z'),
    });
  });

  it('should make the window 23 h long on the day DST starts and 25 h on the day it ends (America/New_York)', () => {
    const ny = { at: '00:00', timeZone: 'America/New_York' };
    expect(windowAt(at('2026-03-07T12:00:00Z'), ny)).toEqual({
      day: '2026-03-07',
      nextResetAt: at('2026-03-08T05:00:00Z'),
    });
    expect(windowAt(at('2026-03-08T05:00:00Z'), ny)).toEqual({
      day: '2026-03-08',
      nextResetAt: at('2026-03-09T04:00:00Z'),
    });
    expect(at('2026-03-09T04:00:00Z') - at('2026-03-08T05:00:00Z')).toBe(23 * 3_600_000);
    expect(windowAt(at('2026-11-01T04:00:00Z'), ny)).toEqual({
      day: '2026-11-01',
      nextResetAt: at('2026-11-02T05:00:00Z'),
    });
    expect(windowAt(at('2026-11-01T03:59:59.999Z'), ny)).toEqual({
      day: '2026-10-31',
      nextResetAt: at('2026-11-01T04:00:00Z'),
    });
  });

  it('should keep a reset time that DST does not touch at the same local time (Europe/Berlin 04:00)', () => {
    const berlin = { at: '04:00', timeZone: 'Europe/Berlin' };
    expect(windowAt(at('2026-03-28T12:00:00Z'), berlin).nextResetAt).toBe(at('2026-03-29T02:00:00Z')); // 04:00 CEST
    expect(windowAt(at('2026-03-27T12:00:00Z'), berlin).nextResetAt).toBe(at('2026-03-28T03:00:00Z')); // 04:00 CET
  });

  it('should not reset before the wall clock reaches a reset time that falls in the DST gap (Europe/Berlin 02:30 on 2026-03-29)', () => {
    // Clocks jump from 02:00 CET (01:00Z) to 03:00 CEST: 02:30 does not exist that day. The usual
    // rule (RFC 5545, Temporal "compatible", java.time) moves it forward by the gap: 03:30 CEST = 01:30Z.
    // Firing at 00:30Z would reset at 01:30 CET, an hour before the configured time.
    const berlin = { at: '02:30', timeZone: 'Europe/Berlin' };
    const next = windowAt(at('2026-03-28T12:00:00Z'), berlin).nextResetAt;
    expect(next).toBeGreaterThanOrEqual(at('2026-03-29T01:00:00Z'));
    expect(next).toBe(at('2026-03-29T01:30:00Z'));
  });

  it('should reset once, at one of the two instants, when the reset time occurs twice (Europe/Berlin 02:30 on 2026-10-25)', () => {
    const berlin = { at: '02:30', timeZone: 'Europe/Berlin' };
    const next = windowAt(at('2026-10-24T12:00:00Z'), berlin).nextResetAt;
    expect([at('2026-10-25T00:30:00Z'), at('2026-10-25T01:30:00Z')]).toContain(next);
    expect(windowAt(next - 1, berlin).day).toBe('2026-10-24');
    expect(windowAt(next, berlin)).toEqual({ day: '2026-10-25', nextResetAt: at('2026-10-26T01:30:00Z') });
    expect(windowAt(at('2026-10-25T01:45:00Z'), berlin).day).toBe('2026-10-25');
  });

  it('should always put nextResetAt after the instant, within 25 hours, and keep days increasing', () => {
    const zones = ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago'];
    for (const timeZone of zones) {
      for (const time of ['00:00', '02:30']) {
        const reset = { at: time, timeZone };
        let previousDay = '';
        for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += 31 * 3_600_000) {
          const w = windowAt(t, reset);
          expect(w.nextResetAt).toBeGreaterThan(t);
          expect(w.nextResetAt - t).toBeLessThanOrEqual(25 * 3_600_000);
          expect(w.day >= previousDay).toBe(true);
          expect(windowAt(w.nextResetAt, reset).day > w.day).toBe(true);
          previousDay = w.day;
        }
      }
    }
  });
});

describe('checkDailyReset', () => {
  it.each([
    ['24:00', 'UTC'],
    ['7:00', 'UTC'],
    ['07:60', 'UTC'],
    ['0700', 'UTC'],
    ['', 'UTC'],
    ['00:00', 'Not/AZone'],
    ['00:00', ''],
  ])('should reject at %j in zone %j with invalid-option', (time, timeZone) => {
    let thrown: unknown = null;
    try {
      checkDailyReset({ at: time, timeZone });
    } catch (error) {
      thrown = error;
    }
    expect(isAgentvisorError(thrown, 'invalid-option')).toBe(true);
  });

  it.each([
    ['00:00', 'UTC'],
    ['23:59', 'Europe/Berlin'],
    ['09:05', 'America/Los_Angeles'],
  ])('should accept at %j in zone %j', (time, timeZone) => {
    expect(() => checkDailyReset({ at: time, timeZone })).not.toThrow();
  });
});
