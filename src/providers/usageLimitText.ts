import { windowAt } from '../quota/dailyWindow';
import { parseGoDurationMs } from './rateLimitHeaders';

/** What reading a reset time from text needs: the current time, and the zone to assume when the text names none. */
export interface ResetContext {
  /** Epoch ms. */
  readonly now: number;
  /** IANA zone for times printed without one (Codex prints "try again at 3:42 PM"). @default none: such times are not read */
  readonly timeZone?: string;
}

/**
 * Subscription and billing limits, as Claude Code, Codex and the APIs word them. Deliberately
 * narrow: "exceeded retry limit" (Codex) and "context limit reached" are not usage limits.
 */
const USAGE_LIMIT_TEXT = [
  /\busage limit\b/i,
  /\bhit your (?:[\w-]+ )?limit\b/i,
  /\b(?:session|weekly|daily|monthly|5-hour|five-hour|opus|sonnet) limit reached\b/i,
  /\blimit reached\|\d{9,11}\b/i,
  /\binsufficient_quota\b|\bquota exceeded\b|\bexceeded your current quota\b/i,
  /\bcredit balance is too low\b/i,
];

/**
 * True for a usage-limit or exhausted-quota message (not a per-minute rate limit).
 *
 * @example isUsageLimitText("You've hit your limit · resets 9:20pm (UTC)") // true
 * @example isUsageLimitText('exceeded retry limit, last status: 429 Too Many Requests') // false
 */
export function isUsageLimitText(text: string): boolean {
  // Anthropic's server-side throttling says so in words: "Server is temporarily limiting requests (not your usage limit)".
  if (NOT_A_USAGE_LIMIT.test(text)) return false;
  return USAGE_LIMIT_TEXT.some((pattern) => pattern.test(text));
}

const NOT_A_USAGE_LIMIT = /\bnot (?:your|a) usage limit\b/i;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const RESET_AT = new RegExp(
  String.raw`\b(?:resets?|try again)\s+(?:at\s+)?` +
    String.raw`(?:(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s*(\d{4}))?,?\s+(?:at\s+)?)?` +
    String.raw`(\d{1,2})(?::(\d{2}))?\s*(?:([ap])\.?\s?m\b\.?)?\s*(?:\(([^)]{1,64})\))?`,
  'i',
);

function isKnownZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function hhmm(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** The instant the zone's clock shows `at` on the given local date, or null (no such date). */
function instantOnDate(year: number, month: number, day: number, at: string, timeZone: string): number | null {
  const wanted = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  // Two days early is before that wall time in every zone (offsets are within ±14 h); step through
  // the daily occurrences of `at` until one falls on the wanted local date.
  let instant = windowAt(Date.UTC(year, month - 1, day) - 2 * 86_400_000, { at, timeZone }).nextResetAt;
  for (let step = 0; step < 5; step += 1) {
    const { day: localDay, nextResetAt } = windowAt(instant, { at, timeZone });
    if (localDay === wanted) return instant;
    if (localDay > wanted) return null;
    instant = nextResetAt;
  }
  return null;
}

function clockReset(match: RegExpExecArray, context: ResetContext): number | null {
  const [, monthName, dayText, yearText, hourText, minuteText, meridiem, zoneText] = match;
  const timeZone = zoneText?.trim() ?? context.timeZone;
  if (timeZone === undefined || !isKnownZone(timeZone)) return null;
  if (meridiem === undefined && minuteText === undefined) return null; // a bare number is not a time
  let hour = Number(hourText);
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  if (minute > 59 || (meridiem === undefined ? hour > 23 : hour < 1 || hour > 12)) return null;
  if (meridiem !== undefined) hour = (hour % 12) + (meridiem.toLowerCase() === 'p' ? 12 : 0);
  const at = hhmm(hour, minute);
  if (monthName === undefined) return windowAt(context.now, { at, timeZone }).nextResetAt;
  const month = MONTHS.indexOf(monthName.toLowerCase()) + 1;
  const day = Number(dayText);
  if (yearText !== undefined) return instantOnDate(Number(yearText), month, day, at, timeZone);
  const thisYear = Number(windowAt(context.now, { at: '00:00', timeZone }).day.slice(0, 4));
  const candidate = instantOnDate(thisYear, month, day, at, timeZone);
  return candidate !== null && candidate > context.now
    ? candidate
    : instantOnDate(thisYear + 1, month, day, at, timeZone);
}

const WORD_UNIT_MS: Readonly<Record<string, number>> = {
  day: 86_400_000,
  hour: 3_600_000,
  minute: 60_000,
  min: 60_000,
  second: 1_000,
  sec: 1_000,
};

/**
 * The wait in "try again in …": a Go duration (`6m0s`, `1.5s`, OpenAI) or words
 * (`2 days 3 hours 5 minutes`, Codex). `null` when the text has none.
 *
 * @example tryAgainInMs('Rate limit reached. Please try again in 1.5s.') // 1500
 * @example tryAgainInMs('or try again in 2 hours 13 minutes.') // 7980000
 */
export function tryAgainInMs(text: string): number | null {
  const match = /\btry again in\s+([^.;,]*(?:\.\d+[a-zµ]*)?)/i.exec(text);
  if (!match) return null;
  const phrase = match[1]!.trim();
  const go = parseGoDurationMs(phrase.split(/\s/)[0]);
  if (go !== null) return go;
  let total = 0;
  let found = false;
  for (const [, amount, unit] of phrase.matchAll(/(\d+(?:\.\d+)?)\s*(day|hour|minute|min|second|sec)s?\b/gi)) {
    total += Number(amount) * WORD_UNIT_MS[unit!.toLowerCase()]!;
    found = true;
  }
  return found ? Math.ceil(total) : null;
}

/**
 * When a usage limit named in text resets (epoch ms), or `null` when the text does not say in a
 * way that can be read. Understood:
 * - `Claude AI usage limit reached|1749924000` (epoch seconds after the bar);
 * - `resets 9:20pm (UTC)`, `reset at 1pm (Etc/GMT+5)`, `resets Oct 9, 5am (America/Bogota)`,
 *   `try again at Mar 10th, 2026 3:39 AM`: a clock time in the zone in parentheses (else
 *   `context.timeZone`); without a date, the next such time after `now`;
 * - `try again in 2 hours 13 minutes` / `in 6m0s`: counted from `now`.
 *
 * @example usageLimitResetAt("You've hit your limit · resets 9:20pm (UTC)", { now: Date.parse('2025-06-01T22:00:00Z') })
 * // Date.parse('2025-06-02T21:20:00Z')
 */
export function usageLimitResetAt(text: string, context: ResetContext): number | null {
  const epoch = /\|(\d{9,11})\b/.exec(text);
  if (epoch) return Number(epoch[1]) * 1000;
  const clock = RESET_AT.exec(text);
  if (clock) {
    const at = clockReset(clock, context);
    if (at !== null) return at;
  }
  const wait = tryAgainInMs(text);
  return wait === null ? null : context.now + wait;
}
