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
 * for the provider only, so an agent never receives another provider's key.
 */
export function createEnvAuthenticator(options: EnvCredentialOptions): Authenticate {
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
    const secret = new Secret(found.key);
    const secretEnv = Object.fromEntries(spec.agentKeyEnv.map((name) => [name, secret]));
    const baseUrl = options.env[spec.baseUrlEnv];
    return {
      source: found.source,
      hint: keyHint(found.key, spec.keyPrefix),
      secretEnv,
      env: present(baseUrl) ? { [spec.baseUrlEnv]: baseUrl } : {},
    };
  };
}
