import type { Secret } from '../../machines/secret';
import { CLAUDE_PROFILE_URL } from './claudeProfile';
import type { TierSource } from './claudeProfile';
import type { FetchLike, OAuthAccount, OAuthOrganization } from './tokenEndpoint';

/**
 * Anthropic OAuth as Claude Code uses it (reverse-engineered, unofficial): the values of Claude Code
 * 2.1.197's "log in with your Claude subscription" (its authorize URL with `code=true`, its token
 * URL, client id and scopes). Configuration, never hard-wired: `startPkceLogin` takes every value
 * as an option; spread these and override any that change.
 */
export const CLAUDE_OAUTH_DEFAULTS = {
  authorizeUrl: 'https://claude.com/cai/oauth/authorize?code=true',
  tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  scopes: [
    'org:create_api_key',
    'user:profile',
    'user:inference',
    'user:sessions:claude_code',
    'user:mcp_servers',
    'user:file_upload',
  ],
  profileUrl: CLAUDE_PROFILE_URL,
} as const satisfies {
  authorizeUrl: string;
  tokenEndpoint: string;
  clientId: string;
  scopes: readonly string[];
  profileUrl: string;
};

/** The host names `redirect_uri` may carry; both reach the callback server on 127.0.0.1. */
export const REDIRECT_HOSTS = ['localhost', '127.0.0.1'] as const;

export interface PkceLoginOptions {
  readonly authorizeUrl: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** How long to wait for the browser's callback (and the code exchange). Default 5 minutes. */
  readonly timeoutMs?: number;
  /** Bound on the code exchange request. Default 10 s (never past the login's own deadline). */
  readonly exchangeTimeoutMs?: number;
  /**
   * Where the login's subscription tier is asked when the token answer does not name it (GET with
   * the new access token, as Claude Code does); `null` asks nowhere. Default: Anthropic's profile
   * for Anthropic's token endpoints, else `/api/oauth/profile` on `tokenEndpoint`'s origin.
   */
  readonly profileUrl?: string | null;
  /**
   * The host in `redirect_uri` (`http://<host>:<port>/callback`). The callback server listens on
   * 127.0.0.1 either way; `localhost` is what Claude Code sends, and what the authorization server
   * expects for its client id.
   * @default 'localhost'
   */
  readonly redirectHost?: (typeof REDIRECT_HOSTS)[number];
  /** Called once with the authorize URL when given; agentvisor never opens a browser by itself. */
  readonly openBrowser?: (url: string) => void;
  /** Default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** Wall-clock time (epoch ms) for `expiresAt`. Default `Date.now`. */
  readonly clock?: { now(): number };
}

/** What a completed login gives. Tokens stay inside `Secret`s. */
export interface LoginTokens {
  readonly accessToken: Secret;
  readonly refreshToken: Secret | null;
  /** Epoch milliseconds from `expires_in`; `null` when the server did not say. */
  readonly expiresAt: number | null;
  /** The scope the server granted, else the scopes asked for (space-separated). */
  readonly scope: string;
  readonly account?: OAuthAccount;
  readonly organization?: OAuthOrganization;
  /** The subscription tier (`max`, `pro`, `team`, `enterprise`), `null` when neither the answer nor the profile said. */
  readonly tier: string | null;
  /** Where `tier` came from. */
  readonly tierSource: TierSource;
}

export interface PkceLogin {
  /** The authorize URL to open in a browser. */
  readonly url: string;
  /** The loopback callback server's port (on 127.0.0.1). */
  readonly port: number;
  /** The `redirect_uri` sent in the authorize URL and the code exchange: `http://localhost:<port>/callback` by default. */
  readonly redirectUri: string;
  /** Settles once; the callback server is closed before it does. */
  readonly result: Promise<LoginTokens>;
  /** Closes the callback server and rejects `result` (`auth-failed`, `details.reason: 'cancelled'`). Idempotent. */
  cancel(): void;
}
