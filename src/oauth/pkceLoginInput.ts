import { AgentvisorError } from '../errors';
import { defaultProfileUrl } from './claudeProfile';
import { REDIRECT_HOSTS } from './pkceLoginTypes';
import type { PkceLoginOptions } from './pkceLoginTypes';
import type { FetchLike } from './tokenEndpoint';

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_EXCHANGE_TIMEOUT_MS = 10_000;

/** A login's options, checked, with their defaults filled in. */
export interface PkceLoginSettings {
  /** The authorize URL as given; the login adds its query parameters. */
  readonly authorize: URL;
  readonly tokenEndpoint: string;
  readonly profileUrl: string | null;
  readonly redirectHost: (typeof REDIRECT_HOSTS)[number];
  readonly timeoutMs: number;
  readonly exchangeTimeoutMs: number;
  readonly now: () => number;
  readonly fetch: FetchLike;
  /** The scopes asked for, space-separated. */
  readonly scope: string;
}

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

function checkHttpUrl(field: string, value: unknown): URL {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' ? new URL(value) : null;
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw invalid(field, `${field} must be an absolute http(s) URL.`);
  return url;
}

function checkPositive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw invalid(field, `${field} must be a positive number of milliseconds.`);
  return value;
}

/**
 * Checks `startPkceLogin`'s options, in the order it documents, and fills in their defaults.
 * A bad option throws `invalid-option` with `details.field`.
 *
 * @example
 * const settings = pkceLoginSettings({ ...CLAUDE_OAUTH_DEFAULTS, timeoutMs: 60_000 });
 * settings.redirectHost; // 'localhost'
 */
export function pkceLoginSettings(options: PkceLoginOptions): PkceLoginSettings {
  const authorize = checkHttpUrl('authorizeUrl', options.authorizeUrl);
  const tokenEndpoint = checkHttpUrl('tokenEndpoint', options.tokenEndpoint).href;
  const profileUrl =
    options.profileUrl === null
      ? null
      : options.profileUrl === undefined
        ? defaultProfileUrl(tokenEndpoint)
        : checkHttpUrl('profileUrl', options.profileUrl).href;
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw invalid('clientId', 'clientId must be a non-empty string.');
  if (
    !Array.isArray(options.scopes) ||
    options.scopes.length === 0 ||
    !options.scopes.every((s) => typeof s === 'string' && /^[\x21-\x7e]+$/.test(s))
  ) {
    throw invalid('scopes', 'scopes must be a non-empty list of scope names without spaces.');
  }
  const redirectHost = options.redirectHost ?? 'localhost';
  if (!(REDIRECT_HOSTS as readonly string[]).includes(redirectHost))
    throw invalid('redirectHost', `redirectHost must be one of ${REDIRECT_HOSTS.join(', ')}.`);
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const exchangeTimeoutMs = checkPositive(
    'exchangeTimeoutMs',
    options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS,
  );
  return {
    authorize,
    tokenEndpoint,
    profileUrl,
    redirectHost,
    timeoutMs,
    exchangeTimeoutMs,
    now: (): number => (options.clock ? options.clock.now() : Date.now()),
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    scope: options.scopes.join(' '),
  };
}
