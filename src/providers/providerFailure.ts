import type { ProviderId } from '../../machines/providers';
import { maskKeyLike } from './providerRegistry';
import type { RemainingCapacity } from './rateLimitHeaders';

/**
 * What went wrong with a provider, in terms of what to do next (docs/failures.md has the table).
 * `truncated`: the answer stopped before its terminal event, so it is never a success.
 *
 * @example PROVIDER_FAILURE_KINDS.includes('quota') // true
 */
export const PROVIDER_FAILURE_KINDS = [
  'auth',
  'rate-limit',
  'quota',
  'overloaded',
  'server',
  'network',
  'timeout',
  'truncated',
  'invalid-request',
] as const;
export type ProviderFailureKind = (typeof PROVIDER_FAILURE_KINDS)[number];

/**
 * Server-side throttling (back off, lower concurrency) versus a usage limit (gone until it resets).
 *
 * @example THROTTLES.includes('usage-limit') // true
 */
export const THROTTLES = ['server', 'usage-limit'] as const;
export type Throttle = (typeof THROTTLES)[number];

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** One classified provider failure. Times are epoch ms; `message` is safe to log and show. */
export interface ProviderFailure {
  readonly ok: false;
  readonly kind: ProviderFailureKind;
  readonly provider: ProviderId;
  /** The HTTP status, from the response or read from an agent CLI's output; `null` when none. */
  readonly status: number | null;
  /** How long the provider asked us to wait (Retry-After, "try again in", or until `resetAt`). */
  readonly retryAfterMs: number | null;
  /** When the limit behind a `rate-limit` or `quota` failure lifts; `null` for other kinds or when unknown. */
  readonly resetAt: number | null;
  /** `server` for rate-limit and overloaded, `usage-limit` for quota, else `null`. */
  readonly throttle: Throttle | null;
  /** The provider's own words, keys masked (`sk-ant-…WXYZ`), whitespace collapsed, at most 300 characters. */
  readonly message: string;
  /** What the rate-limit headers said was left, when they said. */
  readonly remaining?: RemainingCapacity;
  /** Tokens a failed agent run reported using (agent CLIs only): real usage is never dropped. */
  readonly usage?: TokenUsage;
}

const MAX_MESSAGE_LENGTH = 300;

/**
 * Text from a provider or an agent CLI made safe to log: key-shaped text masked, bearer tokens and
 * JWTs cut to a stub, terminal colours and control characters removed, capped at 300 characters.
 * Masking happens before capping, so a cap can never leave a key's head unmasked.
 *
 * @example safeFailureMessage('Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvWXYZ') // 'Incorrect API key provided: sk-…WXYZ'
 */
export function safeFailureMessage(text: string): string {
  const masked = maskKeyLike(
    text
      // eslint-disable-next-line no-control-regex -- removing terminal escapes and control characters is the point
      .replace(/\u001b\[[0-9;?]*[A-Za-z]|[\u0000-\u001f\u007f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  )
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 …')
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, 'eyJ…');
  return masked.length <= MAX_MESSAGE_LENGTH ? masked : `${masked.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

/**
 * Which throttle a kind means: `usage-limit` for quota, `server` for rate limits and overloads.
 *
 * @example throttleOf('quota') // 'usage-limit'
 */
export function throttleOf(kind: ProviderFailureKind): Throttle | null {
  if (kind === 'quota') return 'usage-limit';
  return kind === 'rate-limit' || kind === 'overloaded' ? 'server' : null;
}
