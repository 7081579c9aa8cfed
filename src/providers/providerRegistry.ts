import type { ProviderId } from '../../machines/providers';

export interface ProviderSpec {
  readonly id: ProviderId;
  readonly displayName: string;
  /** Env variables that may hold an API key, in precedence order. Empty values count as unset. */
  readonly apiKeyEnv: readonly string[];
  /** The variables an agent gets the key under (Claude keys mirror into both names). */
  readonly agentKeyEnv: readonly string[];
  readonly baseUrlEnv: string;
  /** What a key starts with; used for hints and format checks. */
  readonly keyPrefix: string;
}

/** @default the two built-in providers, Anthropic (`claude`) and OpenAI (`openai`). */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderSpec>> = {
  claude: {
    id: 'claude',
    displayName: 'Claude (Anthropic)',
    apiKeyEnv: ['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY'],
    agentKeyEnv: ['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY'],
    baseUrlEnv: 'ANTHROPIC_BASE_URL',
    keyPrefix: 'sk-ant-',
  },
  openai: {
    id: 'openai',
    displayName: 'OpenAI',
    apiKeyEnv: ['OPENAI_API_KEY'],
    agentKeyEnv: ['OPENAI_API_KEY'],
    baseUrlEnv: 'OPENAI_BASE_URL',
    keyPrefix: 'sk-',
  },
};

/**
 * A key shown to people: the known prefix and the last four characters, never more.
 *
 * @example keyHint('sk-ant-api03-abcdefWXYZ', 'sk-ant-') // 'sk-ant-…WXYZ'
 */
export function keyHint(key: string, prefix: string): string {
  const shownPrefix = key.startsWith(prefix) ? prefix : '';
  if (key.length < shownPrefix.length + 12) return `${shownPrefix}…`;
  return `${shownPrefix}…${key.slice(-4)}`;
}

/**
 * Variables every agent gets, whatever its provider: they keep agent CLIs from phoning home,
 * updating themselves or reporting errors while agentvisor runs them.
 */
export const AGENT_QUIET_ENV: Readonly<Record<string, string>> = Object.freeze({
  DISABLE_TELEMETRY: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_ERROR_REPORTING: '1',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
});

/** Anything shaped like a provider key: `sk-` and 16 or more key characters, not inside a word. */
const KEY_LIKE = /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g;

/**
 * Replaces key-shaped text with its hint: a safety net for text agentvisor did not compose itself
 * (a provider's error message, commander's usage errors quoting a mistyped option). Format examples
 * such as `sk-ant-api03-…` stay readable.
 *
 * @example maskKeyLike('bad key sk-ant-api03-abcdefghijklmnopWXYZ') // 'bad key sk-ant-…WXYZ'
 */
export function maskKeyLike(text: string): string {
  return text.replace(KEY_LIKE, (key) => keyHint(key, key.startsWith('sk-ant-') ? 'sk-ant-' : 'sk-'));
}
