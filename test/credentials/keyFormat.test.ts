import { inspect } from 'node:util';
import { assertKeyFormat, checkKeyFormat } from '../../src/credentials/keyFormat';
import type { ProviderId } from '../../src/providers';
import { isAgentvisorError } from '../../src/errors';

const TAIL = 'Qx7ZwK3mNpR2sT9vYb4cD8fGhJ1LeWXYZ';
const ANTHROPIC_KEY = `sk-ant-api03-${TAIL}`;
const ANTHROPIC_KEY_V4 = `sk-ant-api04-${TAIL}`;
const OAUTH_ACCESS = `sk-ant-oat01-${TAIL}`;
const OAUTH_REFRESH = `sk-ant-ort01-${TAIL}`;
const OPENAI_KEY = `sk-proj-${TAIL}`;
const OPENAI_LEGACY = `sk-${TAIL}`;

/** Everything a person or a log could see of a value. */
function visible(value: unknown): string {
  return `${JSON.stringify(value)}\n${inspect(value, { depth: 10, showHidden: true })}\n${value instanceof Error ? `${value.message}\n${value.stack}` : ''}`;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('checkKeyFormat', () => {
  it.each<[ProviderId, string, 'api-key' | 'oauth-access']>([
    ['claude', ANTHROPIC_KEY, 'api-key'],
    ['claude', ANTHROPIC_KEY_V4, 'api-key'],
    ['claude', OAUTH_ACCESS, 'oauth-access'],
    ['openai', OPENAI_KEY, 'api-key'],
    ['openai', OPENAI_LEGACY, 'api-key'],
  ])('should accept a %s key of the right shape (%#)', (provider, key, kind) => {
    expect(checkKeyFormat(provider, key)).toEqual({ ok: true, kind });
    expect(assertKeyFormat(provider, key)).toBe(kind);
  });

  it('should refuse a Claude refresh token given as a key and say it is a refresh token', () => {
    for (const provider of ['claude', 'openai'] as const) {
      const result = checkKeyFormat(provider, OAUTH_REFRESH);
      expect(result).toEqual({ ok: false, problem: 'refresh-token', reason: expect.stringMatching(/refresh token/) });
    }
  });

  it('should refuse an Anthropic key given for OpenAI and name Anthropic', () => {
    const result = checkKeyFormat('openai', ANTHROPIC_KEY);
    expect(result).toEqual({ ok: false, problem: 'wrong-provider', reason: expect.stringMatching(/Anthropic/) });
    expect(checkKeyFormat('openai', OAUTH_ACCESS)).toMatchObject({
      ok: false,
      problem: 'wrong-provider',
      reason: expect.stringMatching(/Claude OAuth access token/),
    });
  });

  it('should refuse an OpenAI key given for Claude and name OpenAI', () => {
    for (const key of [OPENAI_KEY, OPENAI_LEGACY]) {
      expect(checkKeyFormat('claude', key)).toEqual({
        ok: false,
        problem: 'wrong-provider',
        reason: expect.stringMatching(/OpenAI/),
      });
    }
  });

  it.each<[string, string, string]>([
    ['a space inside', `sk-ant-api03-${TAIL.slice(0, 10)} ${TAIL.slice(10)}`, 'whitespace'],
    ['a trailing line break', `${ANTHROPIC_KEY}\n`, 'whitespace'],
    ['a tab', `sk-ant-api03-\t${TAIL}`, 'whitespace'],
    ['a non-breaking space', `sk-ant-api03-${TAIL}\u00a0`, 'whitespace'],
    ['a typographic dash', `sk\u2013ant-api03-${TAIL}`, 'non-ascii'],
    ['a control character', `sk-ant-api03-${TAIL}\u0007`, 'non-ascii'],
    ['fewer than 20 characters', 'sk-ant-api03-abcdef', 'too-short'],
    ['nothing', '', 'empty'],
    ['an unknown Anthropic kind', `sk-ant-xyz01-${TAIL}`, 'unknown-format'],
    ['no sk- prefix', `ant-api03-${TAIL}`, 'unknown-format'],
  ])('should refuse a Claude key with %s', (_what, key, problem) => {
    const result = checkKeyFormat('claude', key);
    expect(result).toMatchObject({ ok: false, problem });
  });

  it('should refuse OpenAI keys with white space, non-ASCII, too few characters or no sk- prefix', () => {
    expect(checkKeyFormat('openai', `sk-proj-${TAIL} `)).toMatchObject({ ok: false, problem: 'whitespace' });
    expect(checkKeyFormat('openai', `sk-proj-${TAIL}é`)).toMatchObject({ ok: false, problem: 'non-ascii' });
    expect(checkKeyFormat('openai', 'sk-proj-abc')).toMatchObject({ ok: false, problem: 'too-short' });
    expect(checkKeyFormat('openai', `pk-proj-${TAIL}`)).toMatchObject({ ok: false, problem: 'unknown-format' });
  });

  it('should never echo the key in a reason: at most its prefix and last four characters', () => {
    const bad: [ProviderId, string][] = [
      ['claude', OAUTH_REFRESH],
      ['openai', ANTHROPIC_KEY],
      ['claude', OPENAI_KEY],
      ['claude', `${ANTHROPIC_KEY} `],
      ['claude', `sk-ant-xyz01-${TAIL}`],
      ['openai', `pk-proj-${TAIL}`],
    ];
    for (const [provider, key] of bad) {
      const result = checkKeyFormat(provider, key);
      expect(result.ok).toBe(false);
      expect(visible(result)).not.toContain(key.trim());
      expect(visible(result)).not.toContain(TAIL.slice(0, 12));
    }
    const refresh = checkKeyFormat('claude', OAUTH_REFRESH);
    expect(refresh.ok === false && refresh.reason).toContain('sk-ant-…WXYZ');
  });
});

describe('assertKeyFormat', () => {
  it('should throw auth-failed naming the problem and provider, with no key in message, JSON or inspection', () => {
    for (const [provider, key, problem] of [
      ['claude', OAUTH_REFRESH, 'refresh-token'],
      ['openai', ANTHROPIC_KEY, 'wrong-provider'],
      ['claude', `${ANTHROPIC_KEY}\n`, 'whitespace'],
    ] as const) {
      const err = thrown(() => assertKeyFormat(provider, key));
      expect(isAgentvisorError(err, 'auth-failed')).toBe(true);
      expect(err).toMatchObject({ details: { provider, problem } });
      expect(visible(err)).not.toContain(key.trim());
      expect(visible(err)).not.toContain(TAIL.slice(0, 12));
    }
  });

  it('should throw invalid-option for an unknown provider without showing the value', () => {
    const err = thrown(() => assertKeyFormat(ANTHROPIC_KEY as ProviderId, ANTHROPIC_KEY));
    expect(isAgentvisorError(err, 'invalid-option')).toBe(true);
    expect(visible(err)).not.toContain(ANTHROPIC_KEY);
  });
});
