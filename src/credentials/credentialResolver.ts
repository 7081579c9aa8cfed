import path from 'node:path';
import type { AuthInput, AuthResult } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import { Secret } from '../../machines/secret';
import { AgentvisorError, isAgentvisorError } from '../errors';
import { PROVIDERS, PROVIDER_IDS, keyHint } from '../providers';
import type { Authenticate, EnvSource } from './envCredentials';
import { claudeAuthTokens, claudeCodeTokens, codexTokens, createTokenRefresher } from '../oauth';
import type { FetchLike, TokenFileFormat, TokenRefresher } from '../oauth';
import type { PermissionPolicy } from './secureStore';
import { credentialClass } from './providerPriority';
import type { CredentialClass } from './providerPriority';
import { CLAUDE_AUTH_FILE, CODEX_AUTH_FILE, CLAUDE_CODE_CREDENTIALS_FILE, readClaudeAuth, readClaudeCodeCredentials, readCodexAuth } from './sources';
import { claudeCodeLogin } from './sources/claudeCodeCredentials';
import { readClaudeCodeKeychain } from './sources/claudeCodeKeychain';

/** Where credentials can come from, in the default order of precedence. */
export const CREDENTIAL_SOURCES = ['options', 'env', 'claude-auth-file', 'codex-auth-file', 'claude-code'] as const;
export type CredentialSourceId = (typeof CREDENTIAL_SOURCES)[number];

/** The variable a Claude subscription (OAuth) session gets its access token under. */
export const CLAUDE_OAUTH_ENV = 'CLAUDE_CODE_OAUTH_TOKEN';

/**
 * The same token again, under the name the official Anthropic SDK reads (`authToken`, sent as a
 * Bearer). Claude Code prefers it to CLAUDE_CODE_OAUTH_TOKEN and then drops the oauth beta, so
 * the Claude Code adapter leaves it out of the CLI's environment.
 */
export const ANTHROPIC_AUTH_TOKEN_ENV = 'ANTHROPIC_AUTH_TOKEN';

/**
 * What a ChatGPT subscription session gets. ChatGPT tokens authenticate the Codex CLI, not the
 * public API: the Codex adapter writes them into the agent's own CODEX_HOME/auth.json. An agent
 * that calls the OpenAI API itself needs an API key.
 */
export const CHATGPT_ENV = {
  accessToken: 'AGENTVISOR_CHATGPT_ACCESS_TOKEN',
  idToken: 'AGENTVISOR_CHATGPT_ID_TOKEN',
  accountId: 'AGENTVISOR_CHATGPT_ACCOUNT_ID',
} as const;

export interface CredentialResolverOptions {
  readonly env: EnvSource;
  readonly apiKeys?: Partial<Record<ProviderId, string>>;
  /** Codex's folder (`auth.json`) and ours (`claude_auth.json`). */
  readonly home: string;
  /** Claude Code's folder (`.credentials.json`). */
  readonly claudeHome: string;
  /** Symlinked credential paths must resolve inside this folder. */
  readonly userHome?: string;
  /** Which sources to use, in order of precedence. @default CREDENTIAL_SOURCES */
  readonly sources?: readonly CredentialSourceId[];
  /** Group- or world-readable credential files: refuse them, or use them with a warning. @default 'warn' */
  readonly permissions?: PermissionPolicy;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * The `claude-code` source reads Claude Code's macOS Keychain item first on `'darwin'` (with
   * `security`, found on `env.PATH`), then its file. Injectable for tests. @default process.platform
   */
  readonly platform?: NodeJS.Platform;
  /** How long the Keychain read may take before `security` is killed (a prompt nobody answers). @default 10000 */
  readonly keychainTimeoutMs?: number;
  /**
   * OAuth refresh of Claude logins read from files. claude_auth.json (ours) is refreshed when its
   * token has less than `skewMs` left; Claude Code's own file only with `refreshClaudeCode: true`.
   */
  readonly oauth?: OAuthRefreshOptions;
}

/**
 * Where and how OAuth tokens are refreshed. `tokenEndpoint` and `clientId` are Claude's (defaults
 * from Claude Code's own client); `openai` holds Codex's (ChatGPT login).
 */
export interface OAuthRefreshOptions {
  /** @default 'https://platform.claude.com/v1/oauth/token' (where Claude Code 2.1 refreshes) */
  readonly tokenEndpoint?: string;
  /** @default '9d1c250a-e61b-44d9-88ed-5944d1962f5e' */
  readonly clientId?: string;
  /** Refresh (and write back) Claude Code's .credentials.json too. @default false */
  readonly refreshClaudeCode?: boolean;
  /** Refresh (and write back) the ChatGPT tokens in Codex's auth.json. @default false */
  readonly refreshCodex?: boolean;
  /** Codex's OAuth client. @default DEFAULT_OPENAI_OAUTH */
  readonly openai?: { readonly tokenEndpoint?: string; readonly clientId?: string; readonly scope?: string };
  /** A token with at most this long left is refreshed before it is handed out. @default 300000 (5 min) */
  readonly skewMs?: number;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

export const DEFAULT_CLAUDE_OAUTH = { tokenEndpoint: 'https://platform.claude.com/v1/oauth/token', clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e' } as const;
/** Codex's own refresh client (credentials.md). */
export const DEFAULT_OPENAI_OAUTH = { tokenEndpoint: 'https://auth.openai.com/oauth/token', clientId: 'app_EMoamEEZ73f0CkXaXp7hrann', scope: 'openid profile email' } as const;

/** A usable credential and where it came from; the secret stays inside `Secret`. */
export interface FoundCredential {
  readonly provider: ProviderId;
  readonly kind: 'api-key' | 'oauth';
  /** `options.apiKeys.claude`, `env:ANTHROPIC_API_KEY`, `file:claude_auth.json`, … */
  readonly source: string;
  readonly hint: string;
  readonly secret: Secret;
  /** When an OAuth access token expires (epoch ms), or null. */
  readonly expiresAt: number | null;
  /** The subscription tier when the source names one. */
  readonly tier: string | null;
  /** Renews the access token through its file (single-flight, cross-process); absent when it cannot be refreshed. */
  readonly refresher?: TokenRefresher;
  /** ChatGPT logins: the id_token and account id the Codex CLI needs beside the access token. */
  readonly chatgpt?: { readonly idToken: Secret; readonly accountId: string | null };
}

/** What `describe` tells about a provider's credential: no secrets. */
export type DescribedCredential = Omit<FoundCredential, 'secret' | 'refresher' | 'chatgpt'> & { readonly credentialClass: CredentialClass };

export interface SourceProblem {
  readonly source: CredentialSourceId;
  readonly code: string;
  readonly message: string;
}

export interface LoadReport {
  readonly warnings: readonly string[];
  /** Files that exist but could not be used (corrupt, refused permissions, newer schema…). */
  readonly problems: readonly SourceProblem[];
}

export interface CredentialResolver {
  /** Reads the credential files (never writes them). Safe to call again to pick up changes. */
  load(): Promise<LoadReport>;
  /** Synchronous, from what `load` read plus the live env and options: the session's credentials. */
  readonly authenticate: Authenticate;
  /** The credential each provider would use now, or null, without secrets. */
  describe(provider: ProviderId): DescribedCredential | null;
  /** The class of the credential a provider would use now (for provider priority), or null. */
  credentialClass(provider: ProviderId): CredentialClass | null;
  /**
   * Both providers' classes, as one object that stays the same (by identity) while nothing that
   * decides them changed: the files read, a refresh, the env values, or a login's expiry. For the
   * spawn path, where it is asked once per session.
   */
  credentialClasses(): Readonly<Record<ProviderId, CredentialClass | null>>;
}

/** Empty and blank values count as unset, everywhere credentials are read. */
export function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** The provider each file source holds credentials for. */
const FILE_SOURCE_PROVIDER: Readonly<Partial<Record<CredentialSourceId, ProviderId>>> = {
  'claude-auth-file': 'claude',
  'codex-auth-file': 'openai',
  'claude-code': 'claude',
};


/**
 * Resolves each provider's credentials from the configured sources, first match wins:
 * `options` (apiKeys), `env` (API keys, then CLAUDE_CODE_OAUTH_TOKEN), `claude-auth-file`
 * (claude_auth.json: API key, then OAuth tokens), `codex-auth-file` (auth.json: OPENAI_API_KEY),
 * `claude-code` (on macOS the Keychain item "Claude Code-credentials", else or when it has none
 * ~/.claude/.credentials.json: OAuth). An expired OAuth token is passed over. A
 * session gets its provider's variables only: ANTHROPIC_API_KEY + CLAUDE_API_KEY for a Claude API
 * key, CLAUDE_CODE_OAUTH_TOKEN + ANTHROPIC_AUTH_TOKEN (the same token, for the SDK) for a Claude
 * login, OPENAI_API_KEY for OpenAI.
 *
 * @example
 * const resolver = createCredentialResolver({ env: process.env, home: '~/.codex', claudeHome: '~/.claude' });
 * await resolver.load();
 * resolver.describe('claude'); // { kind: 'oauth', source: 'file:.credentials.json', hint: 'sk-ant-oat01-…abcd', tier: 'max', … }
 */
export function createCredentialResolver(options: CredentialResolverOptions): CredentialResolver {
  const sources = options.sources ?? CREDENTIAL_SOURCES;
  const permissions = options.permissions ?? 'warn';
  const now = options.now ?? Date.now;
  const readOptions = { permissions, ...(options.userHome ? { userHome: options.userHome } : {}) };
  let fromFiles = new Map<CredentialSourceId, FoundCredential[]>();
  let problems: SourceProblem[] = [];
  /** Bumped whenever what the files hold changes (a load, a refresh). */
  let version = 0;
  const results = new Map<string, { secret: string; result: AuthResult }>();
  const liveCache = new Map<string, { value: string; found: FoundCredential }>();

  const fromLive = (source: CredentialSourceId, provider: ProviderId): FoundCredential[] => {
    const spec = PROVIDERS[provider];
    const found: FoundCredential[] = [];
    // The env is read live on every authentication; an unchanged value reuses its credential object.
    const add = (kind: FoundCredential['kind'], where: string, value: string) => {
      const key = `${provider}|${where}`;
      const cached = liveCache.get(key);
      if (cached && cached.value === value) {
        found.push(cached.found);
        return;
      }
      const trimmed = value.trim();
      const credential: FoundCredential = { provider, kind, source: where, hint: keyHint(trimmed, kind === 'oauth' ? 'sk-ant-oat01-' : spec.keyPrefix), secret: new Secret(trimmed), expiresAt: null, tier: null };
      liveCache.set(key, { value, found: credential });
      found.push(credential);
    };
    if (source === 'options') {
      const key = options.apiKeys?.[provider];
      if (present(key)) add('api-key', `options.apiKeys.${provider}`, key);
    } else if (source === 'env') {
      for (const name of spec.apiKeyEnv) {
        const value = options.env[name];
        if (present(value)) add('api-key', `env:${name}`, value);
      }
      const token = options.env[CLAUDE_OAUTH_ENV];
      if (provider === 'claude' && present(token)) add('oauth', `env:${CLAUDE_OAUTH_ENV}`, token);
    }
    return found;
  };

  const candidates = (provider: ProviderId): FoundCredential[] =>
    sources.flatMap((source) => (source === 'options' || source === 'env' ? fromLive(source, provider) : (fromFiles.get(source) ?? []).filter((c) => c.provider === provider)));

  const skewMs = options.oauth?.skewMs ?? 5 * 60_000;
  /** Usable now, usable after a refresh, or passed over (expired and not refreshable). */
  const pick = (provider: ProviderId): { found: FoundCredential | null; refresh: boolean; expired: FoundCredential[] } => {
    const expired: FoundCredential[] = [];
    for (const c of candidates(provider)) {
      const left = c.expiresAt === null ? Infinity : c.expiresAt - now();
      if (c.refresher && left <= skewMs) return { found: c, refresh: true, expired };
      if (left > 0) return { found: c, refresh: false, expired };
      expired.push(c);
    }
    return { found: null, refresh: false, expired };
  };

  /** Refreshes through the file and keeps the new token for the sessions that follow. */
  const refreshed = async (c: FoundCredential): Promise<AuthResult> => {
    const token = await c.refresher!.getAccessToken();
    const renewed: FoundCredential = { ...c, secret: token.accessToken, expiresAt: token.expiresAt, hint: keyHint(token.accessToken.reveal(), c.provider === 'claude' ? 'sk-ant-oat01-' : '') };
    for (const [source, list] of fromFiles) fromFiles.set(source, list.map((x) => (x === c ? renewed : x)));
    version += 1;
    return toResult(renewed);
  };

  const toResult = (c: FoundCredential): AuthResult => {
    const spec = PROVIDERS[c.provider];
    const cacheKey = `${c.provider}|${c.source}|${c.kind}`;
    const value = c.secret.reveal();
    const cached = results.get(cacheKey);
    const baseUrl = options.env[spec.baseUrlEnv];
    if (cached && cached.secret === value && cached.result.env[spec.baseUrlEnv] === (present(baseUrl) ? baseUrl : undefined)) return cached.result;
    const env: Record<string, string> = present(baseUrl) ? { [spec.baseUrlEnv]: baseUrl } : {};
    let secretEnv: Record<string, Secret>;
    if (c.chatgpt) {
      secretEnv = { [CHATGPT_ENV.accessToken]: c.secret, [CHATGPT_ENV.idToken]: c.chatgpt.idToken };
      if (c.chatgpt.accountId !== null) env[CHATGPT_ENV.accountId] = c.chatgpt.accountId;
    } else {
      const names = c.kind === 'oauth' ? [CLAUDE_OAUTH_ENV, ANTHROPIC_AUTH_TOKEN_ENV] : spec.agentKeyEnv;
      secretEnv = Object.fromEntries(names.map((name) => [name, c.secret]));
    }
    const result: AuthResult = Object.freeze({ source: c.source, hint: c.hint, secretEnv: Object.freeze(secretEnv), env: Object.freeze(env) });
    results.set(cacheKey, { secret: value, result });
    return result;
  };

  const authenticate: Authenticate = ({ provider }: AuthInput) => {
    const spec = PROVIDERS[provider];
    const { found, refresh, expired } = pick(provider);
    if (found && refresh) return refreshed(found);
    if (found) {
      if (/\s/.test(found.secret.reveal())) {
        throw new AgentvisorError('auth-failed', `the ${spec.displayName} credential from ${found.source} contains white space; set it again`, { details: { provider, source: found.source } });
      }
      return toResult(found);
    }
    const reasons: string[] = expired.map((c) =>
      c.source.startsWith('keychain:')
        ? `the login from ${c.source} expired at ${new Date(c.expiresAt ?? 0).toISOString()} (agentvisor does not write to the Keychain: run \`claude\` once so Claude Code renews it, or \`claude /login\`)`
        : `the login from ${c.source} expired at ${new Date(c.expiresAt ?? 0).toISOString()} (log in again)`,
    );
    for (const p of problems) if (FILE_SOURCE_PROVIDER[p.source] === provider) reasons.push(p.message);
    const looked = sources.map((s) => (s === 'options' ? `apiKeys.${provider}` : s === 'env' ? [...spec.apiKeyEnv, ...(provider === 'claude' ? [CLAUDE_OAUTH_ENV] : [])].join(', ') : s)).join(', ');
    throw new AgentvisorError('auth-failed', `no usable ${spec.displayName} credentials (looked at: ${looked})${reasons.length ? `: ${reasons.join('; ')}` : ''}`, {
      details: { provider },
    });
  };

  const withRefresher = (c: FoundCredential, file: string, canRefresh: boolean, format: TokenFileFormat): FoundCredential => {
    if (!canRefresh) return c;
    const openai = { ...DEFAULT_OPENAI_OAUTH, ...options.oauth?.openai };
    const client =
      c.provider === 'openai'
        ? openai
        : { tokenEndpoint: options.oauth?.tokenEndpoint ?? DEFAULT_CLAUDE_OAUTH.tokenEndpoint, clientId: options.oauth?.clientId ?? DEFAULT_CLAUDE_OAUTH.clientId };
    const refresher = createTokenRefresher({
      file,
      ...(options.userHome ? { home: options.userHome } : {}),
      ...format,
      ...client,
      skewMs,
      permissions,
      clock: { now },
      ...(options.oauth?.timeoutMs ? { timeoutMs: options.oauth.timeoutMs } : {}),
      ...(options.oauth?.fetch ? { fetch: options.oauth.fetch } : {}),
    });
    return { ...c, refresher };
  };

  const load = async (): Promise<LoadReport> => {
    const next = new Map<CredentialSourceId, FoundCredential[]>();
    const nextProblems: SourceProblem[] = [];
    const warnings: string[] = [];
    const attempt = async (source: CredentialSourceId, read: () => Promise<FoundCredential[] | null>) => {
      if (!sources.includes(source)) return;
      try {
        next.set(source, (await read()) ?? []);
      } catch (error) {
        if (!isAgentvisorError(error)) throw error;
        nextProblems.push({ source, code: error.code, message: error.message });
      }
    };
    const asFound = (c: { provider: ProviderId; kind: 'api-key' | 'oauth'; source: string; hint: string; secret: Secret; expiresAt?: number | null; tier?: string | null }): FoundCredential => ({
      provider: c.provider, kind: c.kind, source: c.source, hint: c.hint, secret: c.secret, expiresAt: c.expiresAt ?? null, tier: c.tier ?? null,
    });
    await attempt('claude-auth-file', async () => {
      const auth = await readClaudeAuth(options.home, readOptions);
      if (!auth) return null;
      warnings.push(...auth.warnings);
      const found: FoundCredential[] = auth.apiKey ? [asFound(auth.apiKey)] : [];
      if (auth.oauth) found.push(withRefresher(asFound(auth.oauth), auth.file, auth.oauth.refreshToken !== null, claudeAuthTokens));
      return found;
    });
    await attempt('codex-auth-file', async () => {
      const auth = await readCodexAuth(options.home, readOptions);
      if (!auth) return null;
      warnings.push(...auth.warnings);
      const found: FoundCredential[] = auth.apiKey ? [asFound(auth.apiKey)] : [];
      if (auth.chatgpt) {
        const chatgpt = { ...asFound(auth.chatgpt), chatgpt: { idToken: auth.chatgpt.idToken, accountId: auth.chatgpt.accountId } };
        const login = withRefresher(chatgpt, auth.file, auth.chatgpt.refreshToken !== null && options.oauth?.refreshCodex === true, codexTokens);
        // Codex's own auth_mode says which of the two its user chose; without one the API key comes first.
        if (auth.authMode === 'chatgpt') found.unshift(login);
        else found.push(login);
      }
      return found;
    });
    await attempt('claude-code', async () => {
      // Claude Code on macOS keeps its login in the Keychain and falls back to the file: so do we.
      const keychain = (options.platform ?? process.platform) === 'darwin' ? await readClaudeCodeKeychain({ env: options.env, timeoutMs: options.keychainTimeoutMs }) : null;
      if (keychain?.status === 'found') {
        const where = `keychain:${keychain.service}`;
        const login = claudeCodeLogin(keychain.data, { file: where, source: where });
        if (login?.refreshToken && options.oauth?.refreshClaudeCode === true) {
          warnings.push(`refreshClaudeCode does not apply to Claude Code's login in the macOS Keychain (${keychain.service}): agentvisor does not write to the Keychain; Claude Code renews that login itself when it runs.`);
        }
        // Never refreshed here: no refresher, so an expired Keychain login is passed over with a reason.
        return login ? [asFound(login)] : [];
      }
      const creds = await readClaudeCodeCredentials(options.claudeHome, readOptions);
      if (keychain !== null && keychain.status !== 'missing') {
        if (!creds?.oauth) throw new AgentvisorError('credentials-io', keychain.message, { details: { source: 'keychain', service: keychain.service, reason: `keychain-${keychain.status}` } });
        warnings.push(`${keychain.message} Using ${creds.file} instead.`);
      }
      if (!creds) return null;
      warnings.push(...creds.warnings);
      if (!creds.oauth) return [];
      return [withRefresher(asFound(creds.oauth), creds.file, creds.oauth.refreshToken !== null && options.oauth?.refreshClaudeCode === true, claudeCodeTokens)];
    });
    fromFiles = next;
    problems = nextProblems;
    version += 1;
    return { warnings, problems: nextProblems };
  };

  const describe = (provider: ProviderId): DescribedCredential | null => {
    const { found } = pick(provider);
    if (!found) return null;
    const { secret: _secret, refresher: _refresher, chatgpt: _chatgpt, ...rest } = found;
    return { ...rest, credentialClass: credentialClass(found) };
  };

  const classOf = (provider: ProviderId): CredentialClass | null => {
    const { found } = pick(provider);
    return found ? credentialClass(found) : null;
  };

  // What decides the classes: the files (version), the live env values, and the next expiry.
  const envNames = [...PROVIDER_IDS.flatMap((p) => PROVIDERS[p].apiKeyEnv), CLAUDE_OAUTH_ENV];
  let classCache: { version: number; env: (string | undefined)[]; validUntil: number; value: Readonly<Record<ProviderId, CredentialClass | null>> } | null = null;
  const credentialClasses = (): Readonly<Record<ProviderId, CredentialClass | null>> => {
    const t = now();
    const cached = classCache;
    if (cached && cached.version === version && t < cached.validUntil && envNames.every((name, i) => options.env[name] === cached.env[i])) return cached.value;
    let validUntil = Number.POSITIVE_INFINITY;
    for (const p of PROVIDER_IDS) {
      for (const c of candidates(p)) if (c.expiresAt !== null && c.expiresAt - skewMs > t) validUntil = Math.min(validUntil, c.expiresAt - skewMs);
    }
    const value = Object.freeze({ claude: classOf('claude'), openai: classOf('openai') });
    classCache = { version, env: envNames.map((name) => options.env[name]), validUntil, value };
    return value;
  };

  return { load, authenticate, describe, credentialClass: classOf, credentialClasses };
}

/** The files each file source reads, for docs and status output. */
export function credentialFiles(home: string, claudeHome: string): Readonly<Record<Exclude<CredentialSourceId, 'options' | 'env'>, string>> {
  return {
    'claude-auth-file': path.join(home, CLAUDE_AUTH_FILE),
    'codex-auth-file': path.join(home, CODEX_AUTH_FILE),
    'claude-code': path.join(claudeHome, CLAUDE_CODE_CREDENTIALS_FILE),
  };
}
