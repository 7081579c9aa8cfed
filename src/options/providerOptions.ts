/**
 * The per-provider option groups of `createOrchestrator`, which the config file takes as they are:
 * `limits`, `fallbackChain`, `providerPriority` and `providers`. Built on first use (lazySchema).
 */
import { MAX_CONCURRENT, MAX_DAILY_LIMIT } from '../quota/ledgerInput';
import { lazySchema } from '../schema/lazySchema';
import { perProvider, providerIdSchema, providerListSchema, wholeNumber, distinct } from '../schema/schemaParts';

/** The named provider-priority policies (docs/credentials.md); `providerPriority` may also be a list of providers. */
export const PROVIDER_PRIORITIES = ['subscription', 'prefer-claude', 'prefer-openai'] as const;

/**
 * `limits`: per provider, tokens per daily window and sessions at once (0 switches the provider off).
 *
 * @example limitsSchema().parse({ claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } })
 */
export const limitsSchema = lazySchema((z) =>
  perProvider(
    z.strictObject({
      dailyLimit: wholeNumber(0, MAX_DAILY_LIMIT).optional().meta({
        description: 'Tokens per daily window; 0 disables the provider. Default: claude 1000000, openai 500000.',
      }),
      maxConcurrent: wholeNumber(0, MAX_CONCURRENT)
        .optional()
        .meta({ description: 'Sessions at once; 0 disables the provider. Default: claude 10, openai 8.' }),
    }),
  ).meta({ description: 'Per provider: dailyLimit and maxConcurrent. Missing fields keep their default.' }),
);

/**
 * `fallbackChain`: the provider order for admission and fallback.
 *
 * @example fallbackChainSchema().parse(['openai', 'claude'])
 */
export const fallbackChainSchema = lazySchema((z) =>
  z
    .array(providerIdSchema())
    .min(1, { error: 'expected at least one provider' })
    .refine(distinct, { error: 'expected each provider at most once' })
    .meta({
      description: "Provider order for admission and fallback. Default: ['claude', 'openai'].",
      uniqueItems: true,
    }),
);

/**
 * `providerPriority`: which provider a session that names none starts on.
 *
 * @example providerPrioritySchema().parse('prefer-openai')
 */
export const providerPrioritySchema = lazySchema((z) =>
  z
    .union([
      z.enum(PROVIDER_PRIORITIES, {
        error: `expected one of ${PROVIDER_PRIORITIES.join(', ')} or a list of providers`,
      }),
      providerListSchema(),
    ])
    .meta({
      description:
        "'subscription', 'prefer-claude', 'prefer-openai' or a list of providers. Default: 'subscription', or the fallbackChain order when a chain is given.",
    }),
);

/**
 * `providers`: operator switches per provider.
 *
 * @example providerSwitchesSchema().parse({ openai: { rolloutPercent: 10 } })
 */
export const providerSwitchesSchema = lazySchema((z) =>
  perProvider(
    z.strictObject({
      enabled: z
        .boolean({ error: 'expected true or false' })
        .optional()
        .meta({ description: 'false takes the provider out of admission and every fallback chain.' }),
      rolloutPercent: wholeNumber(0, 100).optional().meta({
        description: 'The share of new sessions (by a stable hash of the agent id) that may use the provider.',
      }),
    }),
  ).meta({
    description: 'Operator switches per provider. AGENTVISOR_DISABLE_PROVIDERS switches providers off as well.',
  }),
);
