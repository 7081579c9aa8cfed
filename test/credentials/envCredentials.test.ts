import { isAgentvisorError } from '../../src';
import type { AuthResult } from '../../machines/agentSession.types';
import { createEnvAuthenticator, findApiKey } from '../../src/credentials';
import { keyHint } from '../../src/providers';
import { FAKE_CLAUDE_KEY, FAKE_OPENAI_KEY } from '../helpers/orchestratorFixtures';

const input = (provider: 'claude' | 'openai') => ({ provider, sessionId: 's-1', agentId: 'a-1' });

function revealed(result: AuthResult): Record<string, string> {
  return Object.fromEntries(Object.entries(result.secretEnv).map(([name, secret]) => [name, secret.reveal()]));
}

function authenticate(
  env: Record<string, string | undefined>,
  provider: 'claude' | 'openai',
  apiKeys = {},
): AuthResult {
  const result = createEnvAuthenticator({ env, apiKeys })(input(provider));
  if (result instanceof Promise) throw new Error('the env authenticator must answer synchronously');
  return result;
}

function authError(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return null;
}

describe('findApiKey', () => {
  it('should look in ANTHROPIC_API_KEY, then CLAUDE_API_KEY, for claude', () => {
    expect(findApiKey('claude', { env: { ANTHROPIC_API_KEY: 'k1', CLAUDE_API_KEY: 'k2' } })).toEqual({
      key: 'k1',
      source: 'env:ANTHROPIC_API_KEY',
    });
    expect(findApiKey('claude', { env: { CLAUDE_API_KEY: 'k2' } })).toEqual({
      key: 'k2',
      source: 'env:CLAUDE_API_KEY',
    });
  });

  it('should look in OPENAI_API_KEY for openai and never in the Anthropic variables', () => {
    expect(findApiKey('openai', { env: { OPENAI_API_KEY: 'o1' } })).toEqual({
      key: 'o1',
      source: 'env:OPENAI_API_KEY',
    });
    expect(findApiKey('openai', { env: { ANTHROPIC_API_KEY: 'k1', CLAUDE_API_KEY: 'k2' } })).toBeNull();
  });

  it('should treat empty and blank values as unset', () => {
    expect(findApiKey('claude', { env: { ANTHROPIC_API_KEY: '', CLAUDE_API_KEY: 'k2' } })).toEqual({
      key: 'k2',
      source: 'env:CLAUDE_API_KEY',
    });
    expect(findApiKey('claude', { env: { ANTHROPIC_API_KEY: ' \t', CLAUDE_API_KEY: '' } })).toBeNull();
    expect(findApiKey('openai', { env: { OPENAI_API_KEY: '' } })).toBeNull();
  });

  it('should prefer apiKeys from options, ignoring an empty one', () => {
    expect(findApiKey('claude', { env: { ANTHROPIC_API_KEY: 'env' }, apiKeys: { claude: 'code' } })).toEqual({
      key: 'code',
      source: 'options.apiKeys.claude',
    });
    expect(findApiKey('claude', { env: { ANTHROPIC_API_KEY: 'env' }, apiKeys: { claude: '' } })).toEqual({
      key: 'env',
      source: 'env:ANTHROPIC_API_KEY',
    });
  });

  it('should trim surrounding white space from a key', () => {
    expect(findApiKey('openai', { env: { OPENAI_API_KEY: `  ${FAKE_OPENAI_KEY}\n` } })).toEqual({
      key: FAKE_OPENAI_KEY,
      source: 'env:OPENAI_API_KEY',
    });
  });
});

describe('createEnvAuthenticator', () => {
  it('should give a claude session the key under ANTHROPIC_API_KEY and CLAUDE_API_KEY', () => {
    const result = authenticate({ ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: FAKE_OPENAI_KEY }, 'claude');
    expect(revealed(result)).toEqual({ ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, CLAUDE_API_KEY: FAKE_CLAUDE_KEY });
    expect(result.env).toEqual({});
    expect(result.source).toBe('env:ANTHROPIC_API_KEY');
    expect(result.hint).toBe('sk-ant-…1d0e');
  });

  it('should mirror a key set only as CLAUDE_API_KEY into ANTHROPIC_API_KEY', () => {
    expect(revealed(authenticate({ CLAUDE_API_KEY: FAKE_CLAUDE_KEY }, 'claude'))).toEqual({
      ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
      CLAUDE_API_KEY: FAKE_CLAUDE_KEY,
    });
  });

  it('should give an openai session only OPENAI_API_KEY', () => {
    const result = authenticate({ ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: FAKE_OPENAI_KEY }, 'openai');
    expect(revealed(result)).toEqual({ OPENAI_API_KEY: FAKE_OPENAI_KEY });
  });

  it('should pass the provider base URL when set and non-empty', () => {
    const env = {
      ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010',
      OPENAI_BASE_URL: '',
    };
    expect(authenticate(env, 'claude').env).toEqual({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010' });
    expect(authenticate(env, 'openai').env).toEqual({});
  });

  it('should keep the secret out of JSON and the non-secret fields', () => {
    const result = authenticate({ ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY }, 'claude');
    const json = JSON.stringify(result);
    expect(json).not.toContain('FAKEclaudeKEY');
    expect(json).toContain('"ANTHROPIC_API_KEY":"[REDACTED]"');
  });

  it('should throw auth-failed naming the variables looked at, and how to give a key, when no key is set', () => {
    const error = authError(() => authenticate({ OPENAI_API_KEY: '' }, 'openai'));
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect((error as Error).message).toContain('apiKeys.openai, OPENAI_API_KEY');
    expect((error as Error).message).toContain('Set OPENAI_API_KEY (or pass apiKeys.openai)');
    expect((error as Error).message).toContain('`agentvisor login openai --api-key -`');
    const claude = authError(() => authenticate({}, 'claude'));
    expect((claude as Error).message).toContain('Set ANTHROPIC_API_KEY (or pass apiKeys.claude)');
  });

  it('should throw auth-failed for a key with white space inside, without the key in the message', () => {
    const spaced = 'sk-ant-api03-FAKE spacedKEY-1234567890';
    const error = authError(() => authenticate({ ANTHROPIC_API_KEY: spaced }, 'claude'));
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    expect(JSON.stringify(error)).not.toContain('spacedKEY');
    expect((error as Error).message).toContain('env:ANTHROPIC_API_KEY');
  });

  it('should read the env on every call, so a rotated key is used by the next session', () => {
    const env: Record<string, string | undefined> = { OPENAI_API_KEY: FAKE_OPENAI_KEY };
    const auth = createEnvAuthenticator({ env });
    const first = auth(input('openai')) as AuthResult;
    expect(auth(input('openai'))).toBe(first);
    env.OPENAI_API_KEY = 'sk-proj-ROTATEDkey-0000000000000';
    const second = auth(input('openai')) as AuthResult;
    expect(revealed(second)).toEqual({ OPENAI_API_KEY: 'sk-proj-ROTATEDkey-0000000000000' });
    expect(revealed(first)).toEqual({ OPENAI_API_KEY: FAKE_OPENAI_KEY });
    env.OPENAI_API_KEY = '';
    expect(
      isAgentvisorError(
        authError(() => auth(input('openai'))),
        'auth-failed',
      ),
    ).toBe(true);
  });
});

describe('keyHint', () => {
  it('should show the known prefix and the last four characters only', () => {
    expect(keyHint('sk-ant-api03-abcdefWXYZ', 'sk-ant-')).toBe('sk-ant-…WXYZ');
    expect(keyHint('unprefixed-key-1234567890', 'sk-')).toBe('…7890');
  });

  it('should show no characters of a short key', () => {
    expect(keyHint('sk-ant-abc', 'sk-ant-')).toBe('sk-ant-…');
    expect(keyHint('short', 'sk-')).toBe('…');
  });
});
