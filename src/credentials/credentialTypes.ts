import type { AuthInput, AuthResult } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import type { Secret } from '../../machines/secret';
import type { FetchLike, TokenRefresher } from '../oauth';
import type { PermissionPolicy } from '../storage/secureStore';
import type { CredentialClass } from './providerPriority';
import type { EnvSource } from './sources/types';

export type { EnvSource };

/** Resolves a provider's credentials for a session; may answer at once or later. */
export type Authenticate = (input: AuthInput) => AuthResult | Promise<AuthResult>;

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

export const DEFAULT_CLAUDE_OAUTH = {
  tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
} as const;
/** Codex's own refresh client (credentials.md). */
export const DEFAULT_OPENAI_OAUTH = {
  tokenEndpoint: 'https://auth.openai.com/oauth/token',
  clientId: 'app_EMoamEEZ73f0CkXaXp7hrann',
  scope: 'openid profile email',
} as const;

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
export type DescribedCredential = Omit<FoundCredential, 'secret' | 'refresher' | 'chatgpt'> & {
  readonly credentialClass: CredentialClass;
};

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
  /** Why keys found for a provider were passed over (another provider's key bound for its API), hints only. */
  passedOver(provider: ProviderId): readonly string[];
}

/** Empty and blank values count as unset, everywhere credentials are read. */
export function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}
