import type { AuthInput, AuthResult } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { PROVIDERS, keyHint } from '../providers';

export type EnvSource = Readonly<Record<string, string | undefined>>;

export interface EnvCredentialOptions {
  readonly env: EnvSource;
  /** Keys passed in code take precedence over the env. */
  readonly apiKeys?: Partial<Record<ProviderId, string>>;
}

/** Resolves a provider's credentials for a session; may answer at once or later. */
export type Authenticate = (input: AuthInput) => AuthResult | Promise<AuthResult>;

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** Finds a provider's API key: `apiKeys.<provider>` first, then its env variables in order. */
export function findApiKey(provider: ProviderId, options: EnvCredentialOptions): { key: string; source: string } | null {
  const fromOptions = options.apiKeys?.[provider];
  if (present(fromOptions)) return { key: fromOptions.trim(), source: `options.apiKeys.${provider}` };
  for (const name of PROVIDERS[provider].apiKeyEnv) {
    const value = options.env[name];
    if (present(value)) return { key: value.trim(), source: `env:${name}` };
  }
  return null;
}

/**
 * The authenticate actor for API keys from options or the env. It builds the agent's secret env
 * for the provider only, so an agent never receives another provider's key. The env is read on
 * every call; while a provider's key, source and base URL stay the same, every session shares one
 * frozen result (no per-session copies of the same secret).
 */
export function createEnvAuthenticator(options: EnvCredentialOptions): Authenticate {
  const cache = new Map<ProviderId, { key: string; source: string; baseUrl: string | undefined; result: AuthResult }>();
  return ({ provider }) => {
    const spec = PROVIDERS[provider];
    const found = findApiKey(provider, options);
    if (!found) {
      const names = [`apiKeys.${provider}`, ...spec.apiKeyEnv].join(', ');
      throw new AgentvisorError('auth-failed', `no ${spec.displayName} credentials: set one of ${names}`, { details: { provider } });
    }
    if (/\s/.test(found.key)) {
      throw new AgentvisorError('auth-failed', `the ${spec.displayName} key from ${found.source} contains white space; paste the key again`, {
        details: { provider, source: found.source },
      });
    }
    const given = options.env[spec.baseUrlEnv];
    const baseUrl = present(given) ? given : undefined;
    const cached = cache.get(provider);
    if (cached && cached.key === found.key && cached.source === found.source && cached.baseUrl === baseUrl) return cached.result;
    const secret = new Secret(found.key);
    const result: AuthResult = Object.freeze({
      source: found.source,
      hint: keyHint(found.key, spec.keyPrefix),
      secretEnv: Object.freeze(Object.fromEntries(spec.agentKeyEnv.map((name) => [name, secret]))),
      env: Object.freeze(baseUrl === undefined ? {} : { [spec.baseUrlEnv]: baseUrl }),
    });
    cache.set(provider, { key: found.key, source: found.source, baseUrl, result });
    return result;
  };
}
