import { CREDENTIAL_CLASSES, checkProviderPriority, credentialClass, rankProviders } from '../../src/credentials';
import type { CredentialClass, ProviderPriority } from '../../src/credentials';
import type { ProviderId } from '../../src';
import { isAgentvisorError } from '../../src';

describe('credentialClass', () => {
  it.each([
    [{ provider: 'claude', kind: 'oauth', tier: 'max' }, 'claude-max'],
    [{ provider: 'claude', kind: 'oauth', tier: 'MaxSubscription' }, 'claude-max'],
    [{ provider: 'claude', kind: 'oauth', tier: 'pro' }, 'claude-pro'],
    [{ provider: 'claude', kind: 'oauth', tier: 'team' }, 'claude-pro'],
    [{ provider: 'claude', kind: 'oauth', tier: null }, 'claude-pro'],
    [{ provider: 'claude', kind: 'api-key', tier: null }, 'claude-api-key'],
    [{ provider: 'openai', kind: 'oauth', tier: 'plus' }, 'chatgpt'],
    [{ provider: 'openai', kind: 'api-key', tier: null }, 'openai-api-key'],
  ] as const)('should class %j as %s', (credential, expected) => {
    expect(credentialClass(credential)).toBe(expected);
  });
});

describe('rankProviders', () => {
  const chain: readonly ProviderId[] = ['claude', 'openai'];
  const cases: [ProviderPriority, CredentialClass | null, CredentialClass | null, ProviderId[]][] = [
    // The seed's order: Claude Max, ChatGPT, Claude Pro, API keys with OpenAI's first.
    ['subscription', 'claude-max', 'chatgpt', ['claude', 'openai']],
    ['subscription', 'claude-pro', 'chatgpt', ['openai', 'claude']],
    ['subscription', 'claude-pro', 'openai-api-key', ['claude', 'openai']],
    ['subscription', 'claude-max', 'openai-api-key', ['claude', 'openai']],
    ['subscription', 'claude-api-key', 'openai-api-key', ['openai', 'claude']],
    ['subscription', 'claude-api-key', 'chatgpt', ['openai', 'claude']],
    ['subscription', 'claude-api-key', null, ['claude', 'openai']],
    ['subscription', null, null, ['claude', 'openai']],
    ['prefer-claude', 'claude-api-key', 'chatgpt', ['claude', 'openai']],
    ['prefer-openai', 'claude-max', 'openai-api-key', ['openai', 'claude']],
    ['prefer-openai', 'claude-max', null, ['claude', 'openai']],
    [['openai'], 'claude-max', 'openai-api-key', ['openai', 'claude']],
    [['claude', 'openai'], 'claude-api-key', 'openai-api-key', ['claude', 'openai']],
  ];
  it.each(cases)('should rank under %j with claude %s and openai %s as %j', (policy, claude, openai, expected) => {
    expect(rankProviders(policy, { claude, openai }, chain)).toEqual(expected);
  });

  it('should order providers without credentials by the fallback chain', () => {
    expect(rankProviders('subscription', { claude: null, openai: null }, ['openai', 'claude'])).toEqual([
      'openai',
      'claude',
    ]);
  });

  it('should list every class once, subscriptions before API keys', () => {
    expect(CREDENTIAL_CLASSES).toEqual(['claude-max', 'chatgpt', 'claude-pro', 'openai-api-key', 'claude-api-key']);
  });
});

describe('checkProviderPriority', () => {
  it.each(['subscription', 'prefer-claude', 'prefer-openai'])('should accept %s', (value) => {
    expect(checkProviderPriority(value)).toBe(value);
  });

  it.each([['prefer-gemini'], [[]], [['claude', 'claude']], [['claude', 'gemini']], [42], [null]])(
    'should refuse %j with invalid-option naming what is accepted',
    (value) => {
      let error: unknown;
      try {
        checkProviderPriority(value);
      } catch (e) {
        error = e;
      }
      expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
      expect((error as Error).message).toMatch(
        /providerPriority must be one of 'subscription', 'prefer-claude', 'prefer-openai' or a list of distinct providers/,
      );
    },
  );
});
