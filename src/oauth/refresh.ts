import { promises as fsp } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { maskUrl } from '../providers/maskUrl';
import { readJsonFile, updateJsonFile } from '../storage/secureStore';
import type { JsonRecord, PermissionPolicy } from '../storage/secureStore';
import type { OwnerLocks } from './claudeCodeLocks';
import { requestRefreshGrant } from './tokenEndpoint';
import type { FetchLike, GrantedTokens } from './tokenEndpoint';

/** The tokens a credentials file holds, as `readTokens` finds them. */
export interface StoredTokens {
  readonly accessToken: Secret;
  readonly refreshToken: Secret | null;
  /** Epoch milliseconds; `null` when the file does not say (then the token is taken as valid). */
  readonly expiresAt: number | null;
}

/** What `writeTokens` receives after a refresh. `refreshToken` is the rotated one, or the old one when the server did not rotate. */
export interface RefreshedTokens extends StoredTokens {
  readonly refreshToken: Secret;
  /** OpenID Connect servers (Codex) answer an `id_token`; `null` otherwise. */
  readonly idToken: Secret | null;
  /** The `scope` the server granted, when it said. */
  readonly scope: string | null;
  /** When the refresh happened (epoch ms, from `clock`). */
  readonly refreshedAt: number;
}

export interface TokenRefresherOptions {
  /** The credentials file (claude_auth.json, Claude Code's .credentials.json, Codex's auth.json...). */
  readonly file: string;
  /** A symlinked `file` must resolve inside this folder. Default `os.homedir()`. */
  readonly home?: string;
  /** Finds the tokens in the file's content; `null` when it holds none. Must not throw for foreign keys. */
  readonly readTokens: (data: JsonRecord) => StoredTokens | null;
  /** Returns the file's new content: `data` with the tokens replaced and every other key kept. */
  readonly writeTokens: (data: JsonRecord, tokens: RefreshedTokens) => JsonRecord;
  /**
   * The locks of the program that owns the file, taken the way it takes them: `refresh` inside our
   * own refresh lock, around the re-read, the token request and the write; `write` around the write.
   * `claudeCodeTokens` carries Claude Code's (`claudeCodeLocks`). Waits are bounded by `lockTimeoutMs`.
   */
  readonly ownerLocks?: OwnerLocks;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** Sent with the grant when given (Codex: `openid profile email`). */
  readonly scope?: string;
  /** A token with at most this long left is refreshed. Default 5 minutes. */
  readonly skewMs?: number;
  /** Bound on one token request, answer body included. Default 10 s. */
  readonly timeoutMs?: number;
  /** How long to wait for another process's refresh of the same file. Default `timeoutMs` + 20 s. */
  readonly lockTimeoutMs?: number;
  /** Permission policy for reading the file. Default `'error'` (a group- or world-readable file is refused). */
  readonly permissions?: PermissionPolicy;
  /** Wall-clock time (epoch ms). Default `Date.now`. */
  readonly clock?: { now(): number };
  /** Default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
}

export interface AccessTokenResult {
  readonly accessToken: Secret;
  readonly expiresAt: number | null;
  /** True when this call (this process) made the token request. */
  readonly refreshed: boolean;
}

export interface TokenRefresher {
  /**
   * A valid access token: the stored one while it has more than `skewMs` left, else a refreshed
   * one. Concurrent calls share one operation; across processes a lock beside the file makes one
   * process refresh and the others read its result; with `ownerLocks`, the owner (Claude Code) too.
   */
  getAccessToken(): Promise<AccessTokenResult>;
}

const DEFAULT_SKEW_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
/** A refresh lock whose holder stopped touching it for this long is taken over (the holder died). */
const LOCK_STALE_MS = 10_000;

function checkDuration(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new AgentvisorError('invalid-option', `${field} must be a non-negative number of milliseconds.`, {
      details: { field },
    });
  }
  return value;
}

function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AgentvisorError('invalid-option', 'tokenEndpoint must be an absolute http(s) URL.', {
      details: { field: 'tokenEndpoint' },
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AgentvisorError('invalid-option', 'tokenEndpoint must be an absolute http(s) URL.', {
      details: { field: 'tokenEndpoint' },
    });
  }
  return url.href;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Takes `<file>.refresh.lock`, the lock that makes one agentvisor process at a time refresh this
 * file's tokens. It is separate from the store's `<file>.lock` (held only for the short write,
 * inside this one), because the token request is asynchronous and `updateJsonFile`'s update is not.
 */
async function acquireRefreshLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      // proper-lockfile keys its in-process table by the path it is given: lock a name of our own
      // (never created; `realpath: false`) so the store's lock on `file` inside this one stays separate.
      // onCompromised: a lock taken over while held must not throw from proper-lockfile's timer (it
      // would end the process); a rival refresh is still found by the re-read after a rejected grant.
      const release = await lockfile.lock(`${file}.refresh`, {
        realpath: false,
        lockfilePath: `${file}.refresh.lock`,
        stale: LOCK_STALE_MS,
        retries: 0,
        onCompromised: () => undefined,
      });
      return async () => {
        await release().catch(() => undefined);
      };
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'ELOCKED') {
        throw new AgentvisorError(
          'credentials-io',
          `Could not lock credentials file ${file} for a token refresh (${code ?? 'unknown'}).`,
          { details: { file, reason: code ?? 'unknown' } },
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AgentvisorError(
          'credentials-io',
          `Another process kept refreshing the tokens in ${file} for ${timeoutMs} ms; try again later.`,
          {
            retryAfterMs: 1000,
            details: { file, reason: 'lock-timeout' },
          },
        );
      }
      await sleep(Math.min(left, Math.min(100, 5 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random())));
    }
  }
}

function loginAgain(file: string, reason: string, what: string, extra: Record<string, unknown> = {}): AgentvisorError {
  return new AgentvisorError(
    'auth-failed',
    `${what} Log in again with the provider's CLI (for example \`claude /login\` or \`codex login\`); ${file} was left as it is.`,
    {
      details: { file, reason, ...extra },
    },
  );
}

/**
 * Creates the one refresher of a credentials file's OAuth tokens. It never refreshes a token that
 * still has more than `skewMs` left, refreshes under a cross-process lock after re-reading the
 * file (and under the file's owner's own locks, `ownerLocks`: Claude Code's for its
 * `.credentials.json`), writes the rotated refresh token in the same atomic 0600 write as the new
 * access token, and never overwrites stored credentials after a failed refresh.
 *
 * @example
 * const refresher = createTokenRefresher({
 *   file: path.join(codexHome, 'claude_auth.json'),
 *   ...claudeAuthTokens,
 *   tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
 *   clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
 * });
 * const { accessToken } = await refresher.getAccessToken();
 * env.CLAUDE_CODE_OAUTH_TOKEN = accessToken.reveal();
 */
export function createTokenRefresher(options: TokenRefresherOptions): TokenRefresher {
  const skewMs = checkDuration('skewMs', options.skewMs ?? DEFAULT_SKEW_MS);
  const timeoutMs = checkDuration('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const lockTimeoutMs = checkDuration('lockTimeoutMs', options.lockTimeoutMs ?? timeoutMs + 20_000);
  const tokenEndpoint = checkUrl(options.tokenEndpoint);
  if (typeof options.clientId !== 'string' || options.clientId === '') {
    throw new AgentvisorError('invalid-option', 'clientId must be a non-empty string.', {
      details: { field: 'clientId' },
    });
  }
  const file = path.resolve(options.file);
  const now = (): number => (options.clock ? options.clock.now() : Date.now());
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const readOptions = { home: options.home, permissions: options.permissions ?? 'error' } as const;

  const isFresh = (tokens: StoredTokens): boolean => tokens.expiresAt === null || tokens.expiresAt - now() > skewMs;
  const isUnexpired = (tokens: StoredTokens): boolean => tokens.expiresAt === null || tokens.expiresAt > now();

  async function readStored(): Promise<StoredTokens | null> {
    const content = await readJsonFile(file, readOptions);
    return content === null ? null : options.readTokens(content.data);
  }

  function noCredentials(): AgentvisorError {
    return new AgentvisorError(
      'auth-failed',
      `No OAuth tokens in ${file}. Log in with the provider's CLI (for example \`claude /login\` or \`codex login\`).`,
      {
        details: { file, reason: 'no-credentials' },
      },
    );
  }

  /** The tokens need a refresh but there is no refresh token: a still-valid access token is used to its end. */
  function withoutRefreshToken(tokens: StoredTokens): AccessTokenResult {
    if (isUnexpired(tokens)) return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt, refreshed: false };
    throw loginAgain(
      file,
      'no-refresh-token',
      `The OAuth access token in ${file} has expired and there is no refresh token to renew it.`,
    );
  }

  async function store(used: Secret, granted: GrantedTokens): Promise<AccessTokenResult> {
    const tokens: RefreshedTokens = {
      accessToken: granted.accessToken,
      // A server that does not rotate keeps the old refresh token valid: keep it.
      refreshToken: granted.refreshToken ?? used,
      expiresAt: granted.expiresAt,
      idToken: granted.idToken,
      scope: granted.scope,
      refreshedAt: now(),
    };
    // The grant has spent the old refresh token: the answer is written even when the owner's write
    // lock cannot be had (losing the rotated token would log every session out).
    const releaseOwner = options.ownerLocks
      ? await options.ownerLocks.write(file, lockTimeoutMs).catch(() => null)
      : null;
    try {
      await updateJsonFile(
        file,
        (current) => {
          // Logged out while we refreshed (the file or its tokens removed): do not bring them back.
          if (current === null || options.readTokens(current) === null) {
            throw loginAgain(
              file,
              'logged-out',
              `The OAuth tokens in ${file} were removed while they were being refreshed.`,
            );
          }
          return options.writeTokens(current, tokens);
        },
        { home: options.home, lockTimeoutMs },
      );
    } finally {
      await releaseOwner?.();
    }
    return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt, refreshed: true };
  }

  async function refreshUnderLock(): Promise<AccessTokenResult> {
    // Re-read under the lock: another process may have refreshed while we waited.
    let tokens = await readStored();
    // At most two grants: the stored refresh token, then once more if another program stored a newer one meanwhile.
    for (let attempt = 0; ; attempt += 1) {
      if (tokens === null) throw noCredentials();
      if (isFresh(tokens)) return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt, refreshed: false };
      const used = tokens.refreshToken;
      if (used === null) return withoutRefreshToken(tokens);
      const outcome = await requestRefreshGrant({
        tokenEndpoint,
        clientId: options.clientId,
        refreshToken: used,
        scope: options.scope,
        timeoutMs,
        now,
        fetch: doFetch,
      });
      if (outcome.kind === 'granted') return store(used, outcome.tokens);

      // Rejected: a program that does not take our lock (Claude Code, Codex) may have won the race.
      const latest = await readStored();
      const newer = latest !== null && latest.refreshToken !== null && latest.refreshToken.reveal() !== used.reveal();
      if (latest !== null && newer && isUnexpired(latest) && (isFresh(latest) || attempt >= 1)) {
        return { accessToken: latest.accessToken, expiresAt: latest.expiresAt, refreshed: false };
      }
      if (!newer || attempt >= 1) {
        const answered = `HTTP ${outcome.status}${outcome.oauthError === null ? '' : `, ${outcome.oauthError}`}`;
        throw loginAgain(
          file,
          'invalid-grant',
          `The OAuth refresh token in ${file} was rejected by ${maskUrl(tokenEndpoint)} (${answered}): it was used, revoked or has expired.`,
          {
            status: outcome.status,
            ...(outcome.oauthError === null ? {} : { oauthError: outcome.oauthError }),
          },
        );
      }
      tokens = latest;
    }
  }

  async function run(): Promise<AccessTokenResult> {
    const tokens = await readStored();
    if (tokens === null) throw noCredentials();
    if (isFresh(tokens)) return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt, refreshed: false };
    if (tokens.refreshToken === null) return withoutRefreshToken(tokens);
    const lockTarget = await fsp.realpath(file).catch(() => file);
    const release = await acquireRefreshLock(lockTarget, lockTimeoutMs);
    try {
      // The owner's lock inside ours: agentvisor processes queue on ours and only one of them waits on the owner's.
      const releaseOwner = options.ownerLocks ? await options.ownerLocks.refresh(file, lockTimeoutMs) : null;
      try {
        return await refreshUnderLock();
      } finally {
        await releaseOwner?.();
      }
    } finally {
      await release();
    }
  }

  let inflight: Promise<AccessTokenResult> | null = null;
  return {
    getAccessToken() {
      // Single flight: concurrent callers share one read and at most one token request.
      if (inflight === null) {
        inflight = run().finally(() => {
          inflight = null;
        });
      }
      return inflight;
    },
  };
}
