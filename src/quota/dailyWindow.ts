import { AgentvisorError } from '../errors';

/**
 * When the daily budget window starts: a wall-clock time in a time zone.
 *
 * @default { at: '00:00', timeZone: 'UTC' }
 */
export interface DailyReset {
  /** `HH:MM`, 24-hour. */
  readonly at: string;
  /** An IANA time zone such as `UTC` or `Europe/Berlin`. */
  readonly timeZone: string;
}

export const DEFAULT_DAILY_RESET: DailyReset = { at: '00:00', timeZone: 'UTC' };

export interface WindowPosition {
  /** The window's key: the local date (YYYY-MM-DD) on which it started. */
  readonly day: string;
  /** When the next window starts (epoch ms). */
  readonly nextResetAt: number;
}

interface Wall {
  y: number;
  m: number;
  d: number;
  hh: number;
  mm: number;
  ss: number;
}

function parseAt(at: string): { hh: number; mm: number } {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (!match)
    throw new AgentvisorError('invalid-option', `dailyReset.at must be HH:MM (24-hour), got ${JSON.stringify(at)}`);
  return { hh: Number(match[1]), mm: Number(match[2]) };
}

/** The wall clock of a time zone: the local date and time at an instant. */
type WallClock = (epochMs: number) => Wall;

/** UTC needs no Intl: a process's first Intl.DateTimeFormat loads ICU's zone data (20-60 ms). */
function utcWall(epochMs: number): Wall {
  const t = new Date(epochMs);
  return {
    y: t.getUTCFullYear(),
    m: t.getUTCMonth() + 1,
    d: t.getUTCDate(),
    hh: t.getUTCHours(),
    mm: t.getUTCMinutes(),
    ss: t.getUTCSeconds(),
  };
}

const clocks = new Map<string, WallClock>([['UTC', utcWall]]);

/** One clock per zone, reused: building an Intl.DateTimeFormat costs about 0.1 ms. */
function clockFor(timeZone: string): WallClock {
  const cached = clocks.get(timeZone);
  if (cached) return cached;
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new AgentvisorError(
      'invalid-option',
      `dailyReset.timeZone ${JSON.stringify(timeZone)} is not a time zone this Node.js knows (use an IANA name such as UTC or Europe/Berlin)`,
    );
  }
  const clock = (epochMs: number): Wall => wallTime(fmt, epochMs);
  clocks.set(timeZone, clock);
  return clock;
}

function wallTime(fmt: Intl.DateTimeFormat, epochMs: number): Wall {
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(epochMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, hh: parts.hour!, mm: parts.minute!, ss: parts.second! };
}

function offsetAt(clock: WallClock, epochMs: number): number {
  const w = clock(epochMs);
  return Date.UTC(w.y, w.m - 1, w.d, w.hh, w.mm, w.ss) - Math.floor(epochMs / 1000) * 1000;
}

/**
 * The instant at which the zone's wall clock shows the given date and time. Like Temporal's
 * 'compatible' rule: in an autumn overlap the earlier instant; in a spring gap (a wall time that
 * does not exist) the time is read with the offset from before the gap, which lands just after it
 * (Europe/Berlin 02:30 on the spring-forward day resets at 03:30 local).
 */
function instantOf(clock: WallClock, y: number, m: number, d: number, hh: number, mm: number): number {
  const asUtc = Date.UTC(y, m - 1, d, hh, mm);
  // Zone transitions are at least days apart, so 14 h either side sees the offsets around this one.
  const before = offsetAt(clock, asUtc - 14 * 3_600_000);
  const after = offsetAt(clock, asUtc + 14 * 3_600_000);
  const matches = [...new Set([before, after])]
    .map((offset) => asUtc - offset)
    .filter((instant) => offsetAt(clock, instant) === asUtc - instant)
    .sort((a, b) => a - b);
  return matches[0] ?? asUtc - before;
}

function dateKey(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Whether two resets are the same schedule (a zone may be named two ways: `Etc/UTC` is `UTC`). */
export function sameDailyReset(a: DailyReset, b: DailyReset): boolean {
  if (a.at !== b.at) return false;
  if (a.timeZone === b.timeZone) return true;
  const canonical = (timeZone: string): string | null => {
    try {
      return new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone;
    } catch {
      return null;
    }
  };
  const zone = canonical(a.timeZone);
  return zone !== null && zone === canonical(b.timeZone);
}

/**
 * A shared ledger kept by another reset than this process was given (`invalid-option`): two
 * schedules on one ledger would count the same hours against different days.
 */
export function dailyResetMismatch(
  ledger: string,
  kept: DailyReset,
  given: DailyReset,
  startOver: string,
  details: Record<string, unknown>,
): AgentvisorError {
  const show = (reset: DailyReset): string => `{ at: '${reset.at}', timeZone: '${reset.timeZone}' }`;
  return new AgentvisorError(
    'invalid-option',
    `${ledger} keeps daily windows that reset at ${show(kept)}, but this ledger was given dailyReset ${show(given)}. ` +
      `Every process sharing a ledger must use the same reset: give dailyReset ${show(kept)}, or ${startOver} ` +
      'to start a ledger with the new reset. Nothing was reserved or settled by this call.',
    { details: { option: 'dailyReset', ...details } },
  );
}

/** Validates a DailyReset, throwing `invalid-option` with what to fix. */
export function checkDailyReset(reset: DailyReset): void {
  parseAt(reset.at);
  clockFor(reset.timeZone);
}

/** The largest time a Date holds (ECMAScript's ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

/** Which daily window `epochMs` falls in, and when the next one starts; a time that is not a finite epoch ms is `invalid-option`. */
export function windowAt(epochMs: number, reset: DailyReset = DEFAULT_DAILY_RESET): WindowPosition {
  if (typeof epochMs !== 'number' || !Number.isFinite(epochMs) || Math.abs(epochMs) > MAX_DATE_MS)
    throw new AgentvisorError(
      'invalid-option',
      `windowAt's time must be epoch milliseconds such as Date.now(), got ${String(epochMs)}`,
      {
        details: { option: 'epochMs' },
      },
    );
  const { hh, mm } = parseAt(reset.at);
  const clock = clockFor(reset.timeZone);
  const w = clock(epochMs);
  const todayReset = instantOf(clock, w.y, w.m, w.d, hh, mm);
  const startedToday = epochMs >= todayReset;
  const startDay = new Date(Date.UTC(w.y, w.m - 1, w.d + (startedToday ? 0 : -1)));
  const nextDay = new Date(Date.UTC(w.y, w.m - 1, w.d + (startedToday ? 1 : 0)));
  const nextResetAt = instantOf(
    clock,
    nextDay.getUTCFullYear(),
    nextDay.getUTCMonth() + 1,
    nextDay.getUTCDate(),
    hh,
    mm,
  );
  return { day: dateKey(startDay.getUTCFullYear(), startDay.getUTCMonth() + 1, startDay.getUTCDate()), nextResetAt };
}
