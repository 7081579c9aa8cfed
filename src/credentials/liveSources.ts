import type { ProviderId } from '../../machines/providers';
import { PROVIDERS } from '../providers';
import { CLAUDE_OAUTH_ENV, present } from './credentialTypes';
import type { LiveCredentialSource, LiveValue } from './credentialSource';

/**
 * `options`: the keys passed in code (`apiKeys.<provider>`).
 *
 * @example optionsSource.find('claude', { apiKeys: { claude: key }, env: {}, home: '', claudeHome: '' });
 */
export const optionsSource: LiveCredentialSource = {
  id: 'options',
  live: true,
  lookedAt: (provider) => `apiKeys.${provider}`,
  find(provider, options) {
    const key = options.apiKeys?.[provider];
    return present(key) ? [{ kind: 'api-key', source: `options.apiKeys.${provider}`, value: key }] : [];
  },
};

function envNames(provider: ProviderId): readonly string[] {
  return [...PROVIDERS[provider].apiKeyEnv, ...(provider === 'claude' ? [CLAUDE_OAUTH_ENV] : [])];
}

/**
 * `env`: the provider's API key variables in order, then (Claude) a login in CLAUDE_CODE_OAUTH_TOKEN.
 *
 * @example envSource.find('openai', { env: process.env, home: '', claudeHome: '' });
 */
export const envSource: LiveCredentialSource = {
  id: 'env',
  live: true,
  lookedAt: (provider) => envNames(provider).join(', '),
  find(provider, options) {
    const found: LiveValue[] = [];
    for (const name of PROVIDERS[provider].apiKeyEnv) {
      const value = options.env[name];
      if (present(value)) found.push({ kind: 'api-key', source: `env:${name}`, value });
    }
    const token = options.env[CLAUDE_OAUTH_ENV];
    if (provider === 'claude' && present(token))
      found.push({ kind: 'oauth', source: `env:${CLAUDE_OAUTH_ENV}`, value: token });
    return found;
  },
};
