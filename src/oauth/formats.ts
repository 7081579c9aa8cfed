import { Secret } from '../../machines/secret';
import type { JsonRecord } from '../storage/secureStore';
import { jwtExpiresAt } from '../credentials/sources/jwt';
import { parseRfc3339 } from '../credentials/sources/validate';
import { claudeCodeLocks } from './claudeCodeLocks';
import type { RefreshedTokens, StoredTokens, TokenRefresherOptions } from './refresh';

/** `readTokens` and `writeTokens` for one credentials file format, and the locks of the program that owns it. */
export type TokenFileFormat = Pick<TokenRefresherOptions, 'readTokens' | 'writeTokens' | 'ownerLocks'>;

function record(value: unknown): JsonRecord | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function stored(access: string | null, refresh: string | null, expiresAt: number | null): StoredTokens | null {
  if (access === null) return null;
  return { accessToken: new Secret(access), refreshToken: refresh === null ? null : new Secret(refresh), expiresAt };
}

/**
 * agentvisor's (and the seed's) `$CODEX_HOME/claude_auth.json`: `oauth_tokens.{access_token,
 * refresh_token, expires_at (RFC 3339), scope}`; a refresh also sets `last_refresh`.
 */
export const claudeAuthTokens: TokenFileFormat = {
  readTokens(data) {
    const tokens = record(data.oauth_tokens);
    if (tokens === null) return null;
    const expires = text(tokens.expires_at);
    return stored(
      text(tokens.access_token),
      text(tokens.refresh_token),
      expires === null ? null : parseRfc3339(expires),
    );
  },
  writeTokens(data, tokens: RefreshedTokens) {
    const old = record(data.oauth_tokens) ?? {};
    const next: JsonRecord = {
      ...old,
      access_token: tokens.accessToken.reveal(),
      refresh_token: tokens.refreshToken.reveal(),
    };
    if (tokens.expiresAt === null) delete next.expires_at;
    else next.expires_at = iso(tokens.expiresAt);
    if (tokens.scope !== null) next.scope = tokens.scope;
    return { ...data, oauth_tokens: next, last_refresh: iso(tokens.refreshedAt) };
  },
};

/**
 * Claude Code's `~/.claude/.credentials.json`: `claudeAiOauth.{accessToken, refreshToken, expiresAt
 * (epoch ms), scopes}`. A refresh takes Claude Code's own locks too (`claudeCodeLocks`), so it never
 * races a refresh of Claude Code's.
 */
export const claudeCodeTokens: TokenFileFormat = {
  ownerLocks: claudeCodeLocks,
  readTokens(data) {
    const oauth = record(data.claudeAiOauth);
    if (oauth === null) return null;
    const expires = typeof oauth.expiresAt === 'number' && Number.isFinite(oauth.expiresAt) ? oauth.expiresAt : null;
    return stored(text(oauth.accessToken), text(oauth.refreshToken), expires);
  },
  writeTokens(data, tokens: RefreshedTokens) {
    const old = record(data.claudeAiOauth) ?? {};
    const next: JsonRecord = {
      ...old,
      accessToken: tokens.accessToken.reveal(),
      refreshToken: tokens.refreshToken.reveal(),
    };
    if (tokens.expiresAt === null) delete next.expiresAt;
    else next.expiresAt = tokens.expiresAt;
    if (tokens.scope !== null) next.scopes = tokens.scope.split(/\s+/).filter((s) => s !== '');
    return { ...data, claudeAiOauth: next };
  },
};

/**
 * Codex's `$CODEX_HOME/auth.json`: `tokens.{access_token, refresh_token, id_token}`; the expiry is
 * the access token's JWT `exp` (the file stores none). A refresh also sets `last_refresh`.
 */
export const codexTokens: TokenFileFormat = {
  readTokens(data) {
    const tokens = record(data.tokens);
    if (tokens === null) return null;
    const access = text(tokens.access_token);
    return stored(access, text(tokens.refresh_token), access === null ? null : jwtExpiresAt(access));
  },
  writeTokens(data, tokens: RefreshedTokens) {
    const old = record(data.tokens) ?? {};
    const next: JsonRecord = {
      ...old,
      access_token: tokens.accessToken.reveal(),
      refresh_token: tokens.refreshToken.reveal(),
    };
    if (tokens.idToken !== null) next.id_token = tokens.idToken.reveal();
    return { ...data, tokens: next, last_refresh: iso(tokens.refreshedAt) };
  },
};
