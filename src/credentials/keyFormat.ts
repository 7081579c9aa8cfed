import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import { PROVIDERS, isProviderId, keyHint } from '../providers';

/** What a well-formed credential is: a provider API key, or a Claude subscription OAuth access token. */
export type KeyKind = 'api-key' | 'oauth-access';

/** Why a key was refused, for programs (the `reason` text is for people and may be reworded). */
export type KeyFormatProblem =
  'empty' | 'whitespace' | 'non-ascii' | 'too-short' | 'refresh-token' | 'wrong-provider' | 'unknown-format';

export type KeyFormatResult =
  | { readonly ok: true; readonly kind: KeyKind }
  | { readonly ok: false; readonly problem: KeyFormatProblem; readonly reason: string };

/** Shorter keys are truncated pastes; real keys are far longer. */
export const MIN_KEY_LENGTH = 20;

const ANTHROPIC_PREFIX = 'sk-ant-';
/** `sk-ant-api03-…`; other versions (`api04`…) are accepted. */
const ANTHROPIC_API_KEY = /^sk-ant-api\d{2}-/;
/** `sk-ant-oat01-…`: a Claude subscription OAuth access token (sent as a Bearer token). */
const CLAUDE_OAUTH_ACCESS = /^sk-ant-oat\d{2}-/;
/** `sk-ant-ort01-…`: a Claude OAuth refresh token, never usable as a key. */
const CLAUDE_OAUTH_REFRESH = /^sk-ant-ort\d{2}-/;
const OPENAI_PREFIX = 'sk-';

/** The hint to show for a key: the prefix of the provider the key looks like it belongs to, then the last 4. */
function hintFor(key: string): string {
  return keyHint(key, key.startsWith(ANTHROPIC_PREFIX) ? ANTHROPIC_PREFIX : OPENAI_PREFIX);
}

/** The provider's spec; an unknown provider is a programming error (`invalid-option`). */
export function providerSpec(provider: ProviderId): (typeof PROVIDERS)[ProviderId] {
  if (!isProviderId(provider)) {
    throw new AgentvisorError(
      'invalid-option',
      `unknown provider (the value is not shown); use one of ${Object.keys(PROVIDERS).join(', ')}`,
      {
        details: { field: 'provider' },
      },
    );
  }
  return PROVIDERS[provider];
}

function refuse(problem: KeyFormatProblem, reason: string): KeyFormatResult {
  return { ok: false, problem, reason };
}

/**
 * Checks that a key has the shape of a credential for `provider`, without any network call.
 * Claude (`claude`): API keys `sk-ant-api03-…` (other `sk-ant-apiNN-` versions too) give kind
 * `'api-key'`; OAuth access tokens `sk-ant-oat01-…` give `'oauth-access'`; refresh tokens
 * `sk-ant-ort01-…` are refused. OpenAI (`openai`): keys `sk-…` (often `sk-proj-…`) give `'api-key'`;
 * an Anthropic key is refused and named as such (and an OpenAI key given for Claude likewise).
 * Any white space, a non-ASCII or control character, or fewer than 20 characters is refused.
 * The `reason` never contains the key: at most its hint (prefix and last 4 characters).
 *
 * @example
 * checkKeyFormat('claude', process.env.ANTHROPIC_API_KEY ?? '') // { ok: true, kind: 'api-key' }
 * checkKeyFormat('openai', 'sk-ant-api03-…') // { ok: false, problem: 'wrong-provider', reason: '… Anthropic …' }
 */
export function checkKeyFormat(provider: ProviderId, key: string): KeyFormatResult {
  const spec = providerSpec(provider);
  const name = spec.displayName;
  if (typeof key !== 'string' || key.length === 0) return refuse('empty', `the ${name} key is empty`);
  const hint = hintFor(key);
  if (/\s/.test(key)) {
    return refuse(
      'whitespace',
      `the ${name} key ${hint} contains white space (a line break or space from copying?); paste the key again`,
    );
  }
  if (/[^\x21-\x7e]/.test(key)) {
    return refuse(
      'non-ascii',
      `the ${name} key ${hint} contains non-ASCII or control characters (typographic quotes or dashes from copying?); paste the key again`,
    );
  }
  if (key.length < MIN_KEY_LENGTH) {
    return refuse(
      'too-short',
      `the ${name} key ${hint} is too short (${key.length} characters, at least ${MIN_KEY_LENGTH} expected); it looks truncated`,
    );
  }
  if (CLAUDE_OAUTH_REFRESH.test(key)) {
    return refuse(
      'refresh-token',
      `${hint} is a Claude OAuth refresh token (sk-ant-ort…), not an API key or access token; ` +
        `give an API key (sk-ant-api03-…) or an OAuth access token (sk-ant-oat01-…)`,
    );
  }
  if (provider === 'claude') {
    if (ANTHROPIC_API_KEY.test(key)) return { ok: true, kind: 'api-key' };
    if (CLAUDE_OAUTH_ACCESS.test(key)) return { ok: true, kind: 'oauth-access' };
    if (!key.startsWith(ANTHROPIC_PREFIX) && key.startsWith(OPENAI_PREFIX)) {
      return refuse(
        'wrong-provider',
        `${hint} looks like an OpenAI key (sk-…), not a Claude (Anthropic) key; give it for provider 'openai'`,
      );
    }
    return refuse(
      'unknown-format',
      `the ${name} key ${hint} is not an Anthropic API key (sk-ant-api03-…) or Claude OAuth access token (sk-ant-oat01-…)`,
    );
  }
  if (key.startsWith(ANTHROPIC_PREFIX)) {
    const what = CLAUDE_OAUTH_ACCESS.test(key) ? 'a Claude OAuth access token' : 'an Anthropic key';
    return refuse('wrong-provider', `${hint} is ${what} (sk-ant-…), not an OpenAI key; give it for provider 'claude'`);
  }
  if (key.startsWith(OPENAI_PREFIX)) return { ok: true, kind: 'api-key' };
  return refuse(
    'unknown-format',
    `the ${name} key ${hint} is not an OpenAI API key (it should start with sk-, often sk-proj-)`,
  );
}

/**
 * {@link checkKeyFormat} that throws: returns the key's kind, or raises `AgentvisorError`
 * `'auth-failed'` (the key cannot authenticate) with `details: { provider, problem }`. The message
 * names the provider and the problem and shows the key at most as its hint.
 *
 * @example
 * const kind = assertKeyFormat('claude', key); // 'api-key' | 'oauth-access'
 */
export function assertKeyFormat(provider: ProviderId, key: string): KeyKind {
  const result = checkKeyFormat(provider, key);
  if (result.ok) return result.kind;
  throw new AgentvisorError('auth-failed', result.reason, { details: { provider, problem: result.problem } });
}
