import path from 'node:path';
import type { AuthInput, AuthResult } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import { Secret } from '../../machines/secret';
import { AgentvisorError, isAgentvisorError } from '../errors';
import { PROVIDERS, PROVIDER_IDS, keyHint } from '../providers';
import { createTokenRefresher } from '../oauth';
import type { TokenFileFormat } from '../oauth';
import {
  ANTHROPIC_AUTH_TOKEN_ENV,
  CHATGPT_ENV,
  CLAUDE_OAUTH_ENV,
  CREDENTIAL_SOURCES,
  DEFAULT_CLAUDE_OAUTH,
  DEFAULT_OPENAI_OAUTH,
  present,
} from './credentialTypes';
import type {
  Authenticate,
  CredentialResolver,
  CredentialResolverOptions,
  CredentialSourceId,
  DescribedCredential,
  FoundCredential,
  LoadReport,
  SourceProblem,
} from './credentialTypes';
import { checkKeyFormat } from './keyFormat';
import { credentialClass } from './providerPriority';
import type { CredentialClass } from './providerPriority';
import { CLAUDE_AUTH_FILE, CODEX_AUTH_FILE, CLAUDE_CODE_CREDENTIALS_FILE } from './sources';
import type { LiveCredentialSource } from './credentialSource';
import { CREDENTIAL_SOURCE_BY_ID } from './credentialSourceById';

export {
  ANTHROPIC_AUTH_TOKEN_ENV,
  CHATGPT_ENV,
  CLAUDE_OAUTH_ENV,
  CREDENTIAL_SOURCES,
  DEFAULT_CLAUDE_OAUTH,
  DEFAULT_OPENAI_OAUTH,
  present,
} from './credentialTypes';
export type {
  CredentialResolver,
  CredentialResolverOptions,
  CredentialSourceId,
  DescribedCredential,
  FoundCredential,
  LoadReport,
  OAuthRefreshOptions,
  SourceProblem,
} from './credentialTypes';

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
  const sourceList = sources.map((id) => CREDENTIAL_SOURCE_BY_ID[id]);
  const permissions = options.permissions ?? 'warn';
  const now = options.now ?? Date.now;
  const readOptions = { permissions, ...(options.userHome ? { userHome: options.userHome } : {}) };
  let fromFiles = new Map<CredentialSourceId, FoundCredential[]>();
  let problems: SourceProblem[] = [];
  /** Bumped whenever what the files hold changes (a load, a refresh). */
  let version = 0;
  const results = new Map<string, { secret: string; result: AuthResult }>();
  const liveCache = new Map<string, { value: string; found: FoundCredential }>();

  // Live sources are read on every authentication; an unchanged value reuses its credential object.
  const fromLive = (source: LiveCredentialSource, provider: ProviderId): FoundCredential[] =>
    source.find(provider, options).map(({ kind, source: where, value }) => {
      const key = `${provider}|${where}`;
      const cached = liveCache.get(key);
      if (cached && cached.value === value) return cached.found;
      const trimmed = value.trim();
      const hint = keyHint(trimmed, kind === 'oauth' ? 'sk-ant-oat01-' : PROVIDERS[provider].keyPrefix);
      const credential: FoundCredential = {
        provider,
        kind,
        source: where,
        hint,
        secret: new Secret(trimmed),
        expiresAt: null,
        tier: null,
      };
      liveCache.set(key, { value, found: credential });
      return credential;
    });

  const candidates = (provider: ProviderId): FoundCredential[] =>
    sourceList.flatMap((source) =>
      source.live
        ? fromLive(source, provider)
        : (fromFiles.get(source.id) ?? []).filter((c) => c.provider === provider),
    );

  /**
   * Why `c` must not go to its provider's own API: it is recognisably the other provider's key
   * (swapped variables), which would hand that secret to the wrong company. With a base URL set the
   * endpoint is the user's choice (a proxy, Anthropic's OpenAI-compatible API), so any key goes.
   */
  const misdirection = (c: FoundCredential): string | null => {
    if (c.chatgpt || present(options.env[PROVIDERS[c.provider].baseUrlEnv])) return null;
    const format = checkKeyFormat(c.provider, c.secret.reveal());
    if (format.ok || format.problem !== 'wrong-provider') return null;
    return `${c.source}: ${format.reason}; it is not sent to the ${PROVIDERS[c.provider].displayName} API`;
  };

  const skewMs = options.oauth?.skewMs ?? 5 * 60_000;
  /** Usable now, usable after a refresh, or passed over (expired and not refreshable, or the other provider's key). */
  const pick = (
    provider: ProviderId,
  ): { found: FoundCredential | null; refresh: boolean; expired: FoundCredential[]; misdirected: string[] } => {
    const expired: FoundCredential[] = [];
    const misdirected: string[] = [];
    for (const c of candidates(provider)) {
      const wrong = misdirection(c);
      if (wrong !== null) {
        misdirected.push(wrong);
        continue;
      }
      const left = c.expiresAt === null ? Infinity : c.expiresAt - now();
      if (c.refresher && left <= skewMs) return { found: c, refresh: true, expired, misdirected };
      if (left > 0) return { found: c, refresh: false, expired, misdirected };
      expired.push(c);
    }
    return { found: null, refresh: false, expired, misdirected };
  };

  /** Refreshes through the file and keeps the new token for the sessions that follow. */
  const refreshed = async (c: FoundCredential): Promise<AuthResult> => {
    const token = await c.refresher!.getAccessToken();
    const renewed: FoundCredential = {
      ...c,
      secret: token.accessToken,
      expiresAt: token.expiresAt,
      hint: keyHint(token.accessToken.reveal(), c.provider === 'claude' ? 'sk-ant-oat01-' : ''),
    };
    for (const [source, list] of fromFiles)
      fromFiles.set(
        source,
        list.map((x) => (x === c ? renewed : x)),
      );
    version += 1;
    return toResult(renewed);
  };

  const toResult = (c: FoundCredential): AuthResult => {
    const spec = PROVIDERS[c.provider];
    const cacheKey = `${c.provider}|${c.source}|${c.kind}`;
    const value = c.secret.reveal();
    const cached = results.get(cacheKey);
    const baseUrl = options.env[spec.baseUrlEnv];
    if (
      cached &&
      cached.secret === value &&
      cached.result.env[spec.baseUrlEnv] === (present(baseUrl) ? baseUrl : undefined)
    )
      return cached.result;
    const env: Record<string, string> = present(baseUrl) ? { [spec.baseUrlEnv]: baseUrl } : {};
    let secretEnv: Record<string, Secret>;
    if (c.chatgpt) {
      secretEnv = { [CHATGPT_ENV.accessToken]: c.secret, [CHATGPT_ENV.idToken]: c.chatgpt.idToken };
      if (c.chatgpt.accountId !== null) env[CHATGPT_ENV.accountId] = c.chatgpt.accountId;
    } else {
      const names = c.kind === 'oauth' ? [CLAUDE_OAUTH_ENV, ANTHROPIC_AUTH_TOKEN_ENV] : spec.agentKeyEnv;
      secretEnv = Object.fromEntries(names.map((name) => [name, c.secret]));
    }
    const result: AuthResult = Object.freeze({
      source: c.source,
      hint: c.hint,
      secretEnv: Object.freeze(secretEnv),
      env: Object.freeze(env),
    });
    results.set(cacheKey, { secret: value, result });
    return result;
  };

  const authenticate: Authenticate = ({ provider }: AuthInput) => {
    const spec = PROVIDERS[provider];
    const { found, refresh, expired, misdirected } = pick(provider);
    if (found && refresh) return refreshed(found);
    if (found) {
      if (/\s/.test(found.secret.reveal())) {
        throw new AgentvisorError(
          'auth-failed',
          `the ${spec.displayName} credential from ${found.source} contains white space; set it again`,
          { details: { provider, source: found.source } },
        );
      }
      return toResult(found);
    }
    const reasons: string[] = expired.map((c) =>
      c.source.startsWith('keychain:')
        ? `the login from ${c.source} expired at ${new Date(c.expiresAt ?? 0).toISOString()} ` +
          '(agentvisor does not write to the Keychain: run `claude` once so Claude Code renews it, or `claude /login`)'
        : `the login from ${c.source} expired at ${new Date(c.expiresAt ?? 0).toISOString()} (log in again)`,
    );
    reasons.push(...misdirected);
    for (const p of problems) {
      const source = CREDENTIAL_SOURCE_BY_ID[p.source];
      if (!source.live && source.provider === provider) reasons.push(p.message);
    }
    const looked = sourceList.map((source) => source.lookedAt(provider)).join(', ');
    const remedy =
      `Set ${spec.apiKeyEnv[0]} (or pass apiKeys.${provider}), or store a key with ` +
      `\`agentvisor login ${provider} --api-key -\`; \`agentvisor status\` shows what each provider would use`;
    throw new AgentvisorError(
      'auth-failed',
      `no usable ${spec.displayName} credentials (looked at: ${looked})${reasons.length ? `: ${reasons.join('; ')}` : ''}. ${remedy}`,
      {
        details: { provider },
      },
    );
  };

  const withRefresher = (
    c: FoundCredential,
    file: string,
    canRefresh: boolean,
    format: TokenFileFormat,
  ): FoundCredential => {
    if (!canRefresh) return c;
    const openai = { ...DEFAULT_OPENAI_OAUTH, ...options.oauth?.openai };
    const client =
      c.provider === 'openai'
        ? openai
        : {
            tokenEndpoint: options.oauth?.tokenEndpoint ?? DEFAULT_CLAUDE_OAUTH.tokenEndpoint,
            clientId: options.oauth?.clientId ?? DEFAULT_CLAUDE_OAUTH.clientId,
          };
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
    const context = { options, readOptions, refreshable: withRefresher };
    // Stored sources are read in the default order whatever the precedence, so warnings keep a stable order.
    for (const id of CREDENTIAL_SOURCES) {
      const source = CREDENTIAL_SOURCE_BY_ID[id];
      if (source.live || !sources.includes(id)) continue;
      try {
        const read = await source.load(context);
        warnings.push(...(read?.warnings ?? []));
        next.set(id, [...(read?.found ?? [])]);
      } catch (error) {
        if (!isAgentvisorError(error)) throw error;
        nextProblems.push({ source: id, code: error.code, message: error.message });
      }
    }
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
  const envNames = [
    ...PROVIDER_IDS.flatMap((p) => [...PROVIDERS[p].apiKeyEnv, PROVIDERS[p].baseUrlEnv]),
    CLAUDE_OAUTH_ENV,
  ];
  let classCache: {
    version: number;
    env: (string | undefined)[];
    validUntil: number;
    value: Readonly<Record<ProviderId, CredentialClass | null>>;
  } | null = null;
  const credentialClasses = (): Readonly<Record<ProviderId, CredentialClass | null>> => {
    const t = now();
    const cached = classCache;
    if (
      cached &&
      cached.version === version &&
      t < cached.validUntil &&
      envNames.every((name, i) => options.env[name] === cached.env[i])
    )
      return cached.value;
    let validUntil = Number.POSITIVE_INFINITY;
    for (const p of PROVIDER_IDS) {
      for (const c of candidates(p))
        if (c.expiresAt !== null && c.expiresAt - skewMs > t) validUntil = Math.min(validUntil, c.expiresAt - skewMs);
    }
    const value = Object.freeze({ claude: classOf('claude'), openai: classOf('openai') });
    classCache = { version, env: envNames.map((name) => options.env[name]), validUntil, value };
    return value;
  };

  const passedOver = (provider: ProviderId): readonly string[] => pick(provider).misdirected;

  return { load, authenticate, describe, credentialClass: classOf, credentialClasses, passedOver };
}

/** The files each file source reads, for docs and status output. */
export function credentialFiles(
  home: string,
  claudeHome: string,
): Readonly<Record<Exclude<CredentialSourceId, 'options' | 'env'>, string>> {
  return {
    'claude-auth-file': path.join(home, CLAUDE_AUTH_FILE),
    'codex-auth-file': path.join(home, CODEX_AUTH_FILE),
    'claude-code': path.join(claudeHome, CLAUDE_CODE_CREDENTIALS_FILE),
  };
}
