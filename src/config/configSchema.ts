/**
 * The config file's schema, one zod schema per option group, named after the `createOrchestrator`
 * option it checks. zod takes about 150 ms to load: only src/config/configValidation.ts and the
 * schema generator import this module, and configFile.ts loads that only when a file exists.
 */
import { z } from 'zod';
import { PROVIDER_IDS } from '../../machines/providers';
import { PROVIDER_PRIORITIES } from '../credentials/providerPriority';
import { PROVIDER_FAILURE_KINDS } from '../providers/failureClassifier';
import { DEFAULT_FAILURE_POLICY, FAILURE_ACTIONS } from '../providers/failurePolicy';
import type { ConfigFileSettings } from './configTypes';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A whole number within bounds, with the message every failed check gives.
 *
 * @example wholeNumber(0, 100).parse(42)
 */
export function wholeNumber(min: number, max: number) {
  const expected = `expected a whole number from ${min} to ${max}`;
  return z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

function distinct<T>(items: readonly T[]): boolean {
  return new Set(items).size === items.length;
}

const providerId = z.enum(PROVIDER_IDS, { error: `expected a provider: ${PROVIDER_IDS.join(' or ')}` });

/** The same schema for each provider, every provider optional. */
function perProvider<T extends z.ZodType>(schema: T) {
  return z.strictObject(Object.fromEntries(PROVIDER_IDS.map((p) => [p, schema.optional()])) as Record<(typeof PROVIDER_IDS)[number], z.ZodOptional<T>>);
}

/**
 * `limits`: per provider, tokens per daily window and sessions at once (0 switches the provider off).
 *
 * @example limitsSchema.parse({ claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } })
 */
export const limitsSchema = perProvider(
  z.strictObject({
    dailyLimit: wholeNumber(0, Math.floor(Number.MAX_SAFE_INTEGER / 4)).optional().meta({ description: 'Tokens per daily window; 0 disables the provider. Default: claude 1000000, openai 500000.' }),
    maxConcurrent: wholeNumber(0, 1_000_000).optional().meta({ description: 'Sessions at once; 0 disables the provider. Default: claude 10, openai 8.' }),
  }),
).meta({ description: 'Per provider: dailyLimit and maxConcurrent. Missing fields keep their default.' });

/**
 * `fallbackChain`: the provider order for admission and fallback.
 *
 * @example fallbackChainSchema.parse(['openai', 'claude'])
 */
export const fallbackChainSchema = z
  .array(providerId)
  .min(1, { error: 'expected at least one provider' })
  .refine(distinct, { error: 'expected each provider at most once' })
  .meta({ description: "Provider order for admission and fallback. Default: ['claude', 'openai'].", uniqueItems: true });

/**
 * `providerPriority`: which provider a session that names none starts on.
 *
 * @example providerPrioritySchema.parse('prefer-openai')
 */
export const providerPrioritySchema = z
  .union([z.enum(PROVIDER_PRIORITIES, { error: `expected one of ${PROVIDER_PRIORITIES.join(', ')} or a list of providers` }), z.array(providerId).min(1, { error: 'expected at least one provider' }).refine(distinct, { error: 'expected each provider at most once' }).meta({ uniqueItems: true })])
  .meta({ description: "'subscription', 'prefer-claude', 'prefer-openai' or a list of providers. Default: 'subscription', or the fallbackChain order when a chain is given." });

/**
 * `providers`: operator switches per provider.
 *
 * @example providerSwitchesSchema.parse({ openai: { rolloutPercent: 10 } })
 */
export const providerSwitchesSchema = perProvider(
  z.strictObject({
    enabled: z.boolean({ error: 'expected true or false' }).optional().meta({ description: 'false takes the provider out of admission and every fallback chain.' }),
    rolloutPercent: wholeNumber(0, 100).optional().meta({ description: 'The share of new sessions (by a stable hash of the agent id) that may use the provider.' }),
  }),
).meta({ description: 'Operator switches per provider. AGENTVISOR_DISABLE_PROVIDERS switches providers off as well.' });

const retrySettings = {
  maxRetries: wholeNumber(0, 10).optional().meta({ description: 'Retries on the same provider after the first attempt. Default 2.' }),
  baseDelayMs: wholeNumber(0, MAX_TIMER_MS).optional().meta({ description: 'Backoff ceiling of the first retry; doubles per retry. Default 250.' }),
  maxDelayMs: wholeNumber(0, MAX_TIMER_MS).optional().meta({ description: 'Backoff ceiling. Default 10000.' }),
  maxRetryAfterMs: wholeNumber(0, MAX_TIMER_MS).optional().meta({ description: 'The longest Retry-After worth sleeping for. Default 30000.' }),
};

const kindPolicy = z.strictObject({ action: z.enum(FAILURE_ACTIONS, { error: `expected one of ${FAILURE_ACTIONS.join(', ')}` }).optional(), ...retrySettings });
const invalidRequestPolicy = z.strictObject({ action: z.literal('fail', { error: "expected 'fail' (a request at fault fails on every provider)" }).optional(), ...retrySettings });

/**
 * `failurePolicy`: what `reportFailure` does per failure kind (docs/failures.md).
 *
 * @example failurePolicySchema.parse({ maxRetries: 3, kinds: { auth: { action: 'fail' } } })
 */
export const failurePolicySchema = z
  .strictObject({
    ...retrySettings,
    kinds: z
      .strictObject(
        Object.fromEntries(
          // A request at fault fails everywhere: retrying it or moving it only repeats the failure.
          PROVIDER_FAILURE_KINDS.map((kind) => [kind, (kind === 'invalid-request' ? invalidRequestPolicy : kindPolicy).optional()]),
        ) as unknown as { [K in (typeof PROVIDER_FAILURE_KINDS)[number]]: z.ZodOptional<K extends 'invalid-request' ? typeof invalidRequestPolicy : typeof kindPolicy> },
      )
      .optional()
      .meta({ description: 'Per failure kind: action (retry, fallback, fail) and any retry setting.' }),
  })
  .superRefine((policy, ctx) => {
    // A kind inherits the settings it leaves out: compare what it ends up with, as resolveFailurePolicy does.
    const base = policy.baseDelayMs ?? DEFAULT_FAILURE_POLICY.server.baseDelayMs;
    const max = policy.maxDelayMs ?? DEFAULT_FAILURE_POLICY.server.maxDelayMs;
    if (base > max) {
      const [message, field] = policy.baseDelayMs === undefined ? [`expected at least baseDelayMs (${base}, the default), got ${max}`, 'maxDelayMs'] : [`expected at most maxDelayMs (${max}), got ${base}`, 'baseDelayMs'];
      ctx.addIssue({ code: 'custom', message, path: [field] });
    }
    for (const [kind, given] of Object.entries(policy.kinds ?? {})) {
      const kindBase = given?.baseDelayMs ?? base;
      const kindMax = given?.maxDelayMs ?? max;
      if (kindBase > kindMax) ctx.addIssue({ code: 'custom', message: `baseDelayMs (${kindBase}) must not exceed maxDelayMs (${kindMax})`, path: ['kinds', kind] });
    }
  })
  .meta({ description: 'What reportFailure does per failure kind; see docs/failures.md.' });

const timerMs = wholeNumber(1, MAX_TIMER_MS);

/**
 * The object form of `ledger`: a file (path) or a Redis server (URL), with the sharing settings.
 *
 * @example sharedLedgerSchema.parse({ redis: 'redis://cache:6379', keyPrefix: 'team-a' })
 */
export const sharedLedgerSchema = z
  .strictObject({
    file: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional().meta({ description: 'The ledger file; a relative path is taken from the config file\'s folder.' }),
    redis: z.string({ error: 'expected a redis:// or rediss:// URL' }).regex(/^rediss?:\/\/\S+$/, { error: 'expected a redis:// or rediss:// URL' }).optional().meta({ description: 'A Redis server shared by every host.' }),
    keyPrefix: z.string({ error: 'expected a string' }).optional().meta({ description: 'With redis: the prefix of every key.' }),
    leaseMs: timerMs.optional().meta({ description: 'Lease of each reservation, renewed while the session lives. Default 60000.' }),
    syncIntervalMs: timerMs.optional().meta({ description: 'How often the ledger is read for what other hosts hold. Default 1000.' }),
    whenUnavailable: z
      .union([z.literal('fail-closed', { error: "expected 'fail-closed' or { localShareOf: N }" }), z.strictObject({ localShareOf: wholeNumber(1, 1_000_000) })])
      .optional()
      .meta({ description: "While the ledger is unreachable: 'fail-closed', or { localShareOf: N } to admit up to limit / N locally." }),
  })
  .meta({ oneOf: [{ required: ['file'] }, { required: ['redis'] }], dependentRequired: { keyPrefix: ['redis'] } })
  .superRefine((value, ctx) => {
    if ((value.file === undefined) === (value.redis === undefined)) ctx.addIssue({ code: 'custom', message: 'expected exactly one of file, redis', path: [] });
    if (value.keyPrefix !== undefined && value.redis === undefined) ctx.addIssue({ code: 'custom', message: 'keyPrefix goes with redis', path: ['keyPrefix'] });
  });

/**
 * `ledger`: where the budget of record lives (docs/ledger.md).
 *
 * @example ledgerSchema.parse('file')
 */
export const ledgerSchema = z
  .union([z.enum(['memory', 'file'], { error: "expected 'memory', 'file', { file } or { redis }" }), sharedLedgerSchema])
  .meta({ description: "'memory', 'file' (<home>/agentvisor/ledger.json), { file } or { redis }, with leaseMs, syncIntervalMs and whenUnavailable. " + "The CLI's default is 'file'; the library's 'memory'." });

/**
 * The whole file: every group optional, nothing else allowed.
 *
 * @example configFileSchema.safeParse(JSON.parse(text)).success
 */
export const configFileSchema = z
  .strictObject({
    $schema: z.string({ error: 'expected a string' }).optional().meta({ description: 'The JSON Schema this file follows, for editors; ignored by agentvisor.' }),
    limits: limitsSchema.optional(),
    fallbackChain: fallbackChainSchema.optional(),
    providerPriority: providerPrioritySchema.optional(),
    providers: providerSwitchesSchema.optional(),
    failurePolicy: failurePolicySchema.optional(),
    ledger: ledgerSchema.optional(),
  })
  .meta({ title: 'agentvisor config file', description: 'Settings every agentvisor command and createOrchestrator({ configFile }) read: <home>/agentvisor/config.json. ' + 'Flags and options given in code override it.' });

/** What the schema accepts; it must stay assignable to the option types it mirrors. */
export type ConfigFileInput = z.infer<typeof configFileSchema>;
/**
 * The validated file as option settings. Fails to compile when the schema and the option types it
 * mirrors drift apart; only `ledger` is narrowed by hand, as its refinement allows exactly one of
 * `file` and `redis`.
 *
 * @example const settings = asSettings(configFileSchema.parse(JSON.parse(text)));
 */
export function asSettings(value: ConfigFileInput): ConfigFileSettings {
  const { ledger, ...rest } = value;
  return ledger === undefined ? rest : { ...rest, ledger: ledger as ConfigFileSettings['ledger'] };
}
