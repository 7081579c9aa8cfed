import { PROVIDER_IDS, isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import { PROVIDER_PRIORITIES } from '../options/providerOptions';

/**
 * What kind of access a provider's credential gives, for ranking providers. A Claude subscription
 * login whose tier is not `max` (pro, team, unknown...) ranks as `claude-pro`.
 */
export const CREDENTIAL_CLASSES = ['claude-max', 'chatgpt', 'claude-pro', 'openai-api-key', 'claude-api-key'] as const;
export type CredentialClass = (typeof CREDENTIAL_CLASSES)[number];

/**
 * Which provider a session starts on when the host does not name one:
 * - `'subscription'` (the default): by the class of each provider's credential, in the order of
 *   `CREDENTIAL_CLASSES` (Claude Max, ChatGPT, Claude Pro, then API keys with OpenAI's first);
 * - `'prefer-claude'` / `'prefer-openai'`: that provider first;
 * - an explicit list of providers, first listed first.
 * In every policy a provider with a usable credential comes before one without.
 */
export type ProviderPriority = 'subscription' | 'prefer-claude' | 'prefer-openai' | readonly ProviderId[];

export { PROVIDER_PRIORITIES };

/** The facts about a credential that its class depends on. */
export interface ClassifiableCredential {
  readonly provider: ProviderId;
  readonly kind: 'api-key' | 'oauth';
  readonly tier: string | null;
}

/** Claude Code's `subscriptionType`, our `subscription_tier`, or the seed's `MaxSubscription`. */
function isMaxTier(tier: string | null): boolean {
  return tier !== null && /max/i.test(tier);
}

export function credentialClass(c: ClassifiableCredential): CredentialClass {
  if (c.provider === 'openai') return c.kind === 'oauth' ? 'chatgpt' : 'openai-api-key';
  if (c.kind === 'api-key') return 'claude-api-key';
  return isMaxTier(c.tier) ? 'claude-max' : 'claude-pro';
}

/** Checks a `providerPriority` option; throws `invalid-option` with what is accepted. */
export function checkProviderPriority(value: unknown): ProviderPriority {
  if (typeof value === 'string' && (PROVIDER_PRIORITIES as readonly string[]).includes(value))
    return value as ProviderPriority;
  if (Array.isArray(value) && value.length > 0 && value.every(isProviderId) && new Set(value).size === value.length)
    return value as readonly ProviderId[];
  throw new AgentvisorError(
    'invalid-option',
    `providerPriority must be one of ${PROVIDER_PRIORITIES.map((p) => `'${p}'`).join(', ')} ` +
      `or a list of distinct providers from ${PROVIDER_IDS.join(', ')}, got ${JSON.stringify(value)?.slice(0, 100)}`,
  );
}

/**
 * The providers in the order sessions should try them, given each provider's credential class
 * (`null`: no usable credential). Providers with a credential come first, in policy order; the
 * rest follow in `fallback` order (the fallback chain), so a session still has somewhere to go.
 *
 * @example
 * rankProviders('subscription', { claude: 'claude-pro', openai: 'chatgpt' }, ['claude', 'openai']); // ['openai', 'claude']
 */
export function rankProviders(
  policy: ProviderPriority,
  classes: Readonly<Record<ProviderId, CredentialClass | null>>,
  fallback: readonly ProviderId[],
): ProviderId[] {
  const order = policyOrder(policy, classes);
  const withCredentials = order.filter((p) => classes[p] !== null);
  const rest = [...fallback, ...PROVIDER_IDS].filter((p, i, all) => classes[p] === null && all.indexOf(p) === i);
  return [...withCredentials, ...rest];
}

function policyOrder(
  policy: ProviderPriority,
  classes: Readonly<Record<ProviderId, CredentialClass | null>>,
): ProviderId[] {
  if (policy === 'prefer-claude') return ['claude', 'openai'];
  if (policy === 'prefer-openai') return ['openai', 'claude'];
  if (policy !== 'subscription') return [...policy, ...PROVIDER_IDS.filter((p) => !policy.includes(p))];
  const rank = (p: ProviderId) => {
    const c = classes[p];
    return c === null ? CREDENTIAL_CLASSES.length : CREDENTIAL_CLASSES.indexOf(c);
  };
  return [...PROVIDER_IDS].sort((a, b) => rank(a) - rank(b));
}
