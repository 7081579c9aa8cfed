/** Response headers as a Fetch `Headers` or a plain object with names in any case. */
export type HeadersInput =
  Pick<Headers, 'get'> | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** How much of a rate limit is left, as the provider's headers say. */
export interface RemainingCapacity {
  readonly tokens?: number;
  readonly requests?: number;
}

/** What a failed response's headers say about waiting. All times are epoch ms. */
export interface RateLimitFacts {
  /** From `retry-after-ms`, else `retry-after` (seconds or an HTTP-date); `null` when absent or unreadable. */
  readonly retryAfterMs: number | null;
  /**
   * When the limit lifts: the latest reset among limits whose remaining count is 0, else the latest
   * reset given (a 429 without a zero count is refused for the largest window it could belong to).
   */
  readonly resetAt: number | null;
  readonly remaining: RemainingCapacity | null;
  /** Anthropic's subscription limit (`anthropic-ratelimit-unified-status: rejected`) and its reset. */
  readonly usageLimit: { readonly resetAt: number | null } | null;
}

function isFetchHeaders(headers: HeadersInput): headers is Pick<Headers, 'get'> {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/**
 * One header's value, case-insensitively; the first of repeated values.
 *
 * @example headerValue({ 'Retry-After': '5' }, 'retry-after') // '5'
 */
export function headerValue(headers: HeadersInput | null | undefined, name: string): string | null {
  if (headers === null || headers === undefined || typeof headers !== 'object') return null;
  if (isFetchHeaders(headers)) return headers.get(name);
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === 'string' || typeof first === 'number' ? String(first) : null;
  }
  return null;
}

const DECIMAL = /^\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * A `Retry-After` value in ms: delay-seconds (decimals accepted) or an HTTP-date, counted from
 * `now`. A date in the past is 0; anything unreadable is `null`.
 *
 * @example parseRetryAfterMs('7', Date.now()) // 7000
 * @example parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z')) // 60000
 */
export function parseRetryAfterMs(value: string | null | undefined, now: number): number | null {
  if (typeof value !== 'string') return null;
  const seconds = DECIMAL.exec(value);
  if (seconds) return Math.ceil(Number(seconds[1]) * 1000);
  // Only the three HTTP-date forms, which start with a day name; Date.parse alone takes "5" as a year.
  if (!/^\s*[A-Za-z]{3}/.test(value)) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000_001,
};

/**
 * A Go-style duration as OpenAI sends it in `x-ratelimit-reset-*` and in "try again in …"
 * messages: `6m0s`, `1s`, `20ms`, `1h2m3.5s`. Unreadable input is `null`.
 *
 * @example parseGoDurationMs('6m0s') // 360000
 */
export function parseGoDurationMs(value: string | null | undefined): number | null {
  if (typeof value !== 'string' || !/^(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+$/.test(value.trim())) return null;
  let total = 0;
  for (const [, amount, unit] of value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g))
    total += Number(amount) * DURATION_UNIT_MS[unit!]!;
  return Math.ceil(total);
}

function count(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : null;
}

/** A `retry-after-ms` value: decimals accepted (both SDKs read it with parseFloat), rounded up. */
function millis(value: string | null): number | null {
  const match = value === null ? null : DECIMAL.exec(value);
  if (match === null) return null;
  const ms = Math.ceil(Number(match[1]));
  return Number.isSafeInteger(ms) ? ms : null;
}

function rfc3339(value: string | null): number | null {
  if (value === null || !/^\d{4}-\d{2}-\d{2}T/.test(value.trim())) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : null;
}

function epochSeconds(value: string | null): number | null {
  const seconds = count(value);
  return seconds === null ? null : seconds * 1000;
}

interface LimitReading {
  readonly dimension: 'tokens' | 'requests';
  readonly remaining: number | null;
  readonly resetAt: number | null;
}

function limitReadings(headers: HeadersInput, now: number): LimitReading[] {
  const openAiReset = (name: string): number | null => {
    const ms = parseGoDurationMs(headerValue(headers, name));
    return ms === null ? null : now + ms;
  };
  const anthropic = (limit: string, dimension: LimitReading['dimension']): LimitReading => ({
    dimension,
    remaining: count(headerValue(headers, `anthropic-ratelimit-${limit}-remaining`)),
    resetAt: rfc3339(headerValue(headers, `anthropic-ratelimit-${limit}-reset`)),
  });
  const readings: LimitReading[] = [
    anthropic('requests', 'requests'),
    anthropic('tokens', 'tokens'),
    anthropic('input-tokens', 'tokens'),
    anthropic('output-tokens', 'tokens'),
    {
      dimension: 'requests',
      remaining: count(headerValue(headers, 'x-ratelimit-remaining-requests')),
      resetAt: openAiReset('x-ratelimit-reset-requests'),
    },
    {
      dimension: 'tokens',
      remaining: count(headerValue(headers, 'x-ratelimit-remaining-tokens')),
      resetAt: openAiReset('x-ratelimit-reset-tokens'),
    },
  ];
  return readings.filter((reading) => reading.remaining !== null || reading.resetAt !== null);
}

function smallest(values: readonly (number | null)[]): number | undefined {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? undefined : Math.min(...present);
}

function latest(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/**
 * Reads the Retry-After and rate-limit headers of Anthropic (`anthropic-ratelimit-*`, RFC 3339
 * resets; `anthropic-ratelimit-unified-*`, epoch-second resets) and OpenAI (`x-ratelimit-*`,
 * duration resets). Pure: `now` is the time the response arrived.
 *
 * @example
 * readRateLimitHeaders({ 'retry-after': '2', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s' }, 0)
 * // { retryAfterMs: 2000, resetAt: 360000, remaining: { tokens: 0 }, usageLimit: null }
 */
export function readRateLimitHeaders(headers: HeadersInput | null | undefined, now: number): RateLimitFacts {
  if (headers === null || headers === undefined || typeof headers !== 'object')
    return { retryAfterMs: null, resetAt: null, remaining: null, usageLimit: null };
  const retryAfterMs =
    millis(headerValue(headers, 'retry-after-ms')) ?? parseRetryAfterMs(headerValue(headers, 'retry-after'), now);
  const readings = limitReadings(headers, now);
  const tokens = smallest(readings.filter((r) => r.dimension === 'tokens').map((r) => r.remaining));
  const requests = smallest(readings.filter((r) => r.dimension === 'requests').map((r) => r.remaining));
  const exhausted = readings.filter((r) => r.remaining === 0);
  const resetAt = latest((exhausted.length > 0 ? exhausted : readings).map((r) => r.resetAt));
  const unifiedStatus = headerValue(headers, 'anthropic-ratelimit-unified-status');
  return {
    retryAfterMs,
    resetAt,
    remaining:
      tokens === undefined && requests === undefined
        ? null
        : { ...(tokens === undefined ? {} : { tokens }), ...(requests === undefined ? {} : { requests }) },
    usageLimit:
      unifiedStatus?.trim().toLowerCase() === 'rejected'
        ? { resetAt: epochSeconds(headerValue(headers, 'anthropic-ratelimit-unified-reset')) }
        : null,
  };
}
