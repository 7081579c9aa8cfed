import type { ProviderId } from '../../machines/providers';
import { PROVIDERS } from '../providers';
import { createCredentialResolver } from './credentialResolver';
import { present } from './credentialTypes';
import type { Authenticate, EnvSource } from './credentialTypes';

export type { Authenticate, EnvSource } from './credentialTypes';

export interface EnvCredentialOptions {
  readonly env: EnvSource;
  /** Keys passed in code take precedence over the env. */
  readonly apiKeys?: Partial<Record<ProviderId, string>>;
}

/** Finds a provider's API key: `apiKeys.<provider>` first, then its env variables in order. */
export function findApiKey(
  provider: ProviderId,
  options: EnvCredentialOptions,
): { key: string; source: string } | null {
  const fromOptions = options.apiKeys?.[provider];
  if (present(fromOptions)) return { key: fromOptions.trim(), source: `options.apiKeys.${provider}` };
  for (const name of PROVIDERS[provider].apiKeyEnv) {
    const value = options.env[name];
    if (present(value)) return { key: value.trim(), source: `env:${name}` };
  }
  return null;
}

/**
 * The authenticate actor for credentials from options and the env only (no files): API keys from
 * `apiKeys` and the env, and a Claude login from CLAUDE_CODE_OAUTH_TOKEN. The env is read on every
 * call; every session with the same credential shares one frozen result.
 *
 * @example
 * const authenticate = createEnvAuthenticator({ env: process.env });
 */
export function createEnvAuthenticator(options: EnvCredentialOptions): Authenticate {
  return createCredentialResolver({
    env: options.env,
    apiKeys: options.apiKeys ?? {},
    home: '',
    claudeHome: '',
    sources: ['options', 'env'],
  }).authenticate;
}
