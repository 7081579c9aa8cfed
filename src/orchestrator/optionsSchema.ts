/**
 * The options of `createOrchestrator`, every one of them: a strict object, so a misspelt option is
 * refused with a "did you mean" hint. Built on first use (lazySchema).
 */
import type { Logger } from 'pino';
import type { CircuitConfig } from '../../machines/providerHealth';
import { CREDENTIAL_SOURCES } from '../credentials/credentialResolver';
import type { Authenticate, EnvSource } from '../credentials';
import type { SecretMasker } from '../observability/secretMasker';
import type { Clock } from './clock';
import { MAX_REQUEST_TOKENS } from '../quota/ledgerInput';
import { learnedBounds } from './learnedEstimates';
import type { LearnedEstimatesOptions } from './learnedEstimates';
import { auditOptionSchema } from '../observability/auditOptionsSchema';
import type { OrchestratorOptions } from './options';
import { dailyResetSchema } from '../quota/dailyResetSchema';
import { failurePolicySchema } from '../options/failurePolicyOptions';
import { lazySchema } from '../schema/lazySchema';
import { ledgerOptionSchema } from '../options/ledgerOptions';
import {
  fallbackChainSchema,
  limitsSchema,
  providerPrioritySchema,
  providerSwitchesSchema,
} from '../options/providerOptions';
import {
  MAX_TIMER_MS,
  distinct,
  functionSchema,
  nonEmptyString,
  perProvider,
  wholeNumber,
  withMethods,
} from '../schema/schemaParts';

const HOUR_MS = 60 * 60 * 1000;

/** Variables that carry credentials: an allowlist can never pass them through. */
export const CREDENTIAL_VARIABLES: ReadonlySet<string> = new Set([
  'ANTHROPIC_API_KEY',
  'CLAUDE_API_KEY',
  'OPENAI_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'ANTHROPIC_AUTH_TOKEN',
  // A ChatGPT login's tokens (CHATGPT_ENV), set in the host when agentvisor runs inside such a session.
  'AGENTVISOR_CHATGPT_ACCESS_TOKEN',
  'AGENTVISOR_CHATGPT_ID_TOKEN',
]);

const circuitSchema = lazySchema((z) =>
  z.strictObject({
    windowMs: wholeNumber(1, MAX_TIMER_MS).optional(),
    allowedFailures: wholeNumber(0, 1_000_000).optional(),
    minRequests: wholeNumber(1, 1_000_000).optional(),
    cooldownMs: wholeNumber(1, MAX_TIMER_MS).optional(),
    halfOpenProbes: wholeNumber(1, 1000).optional(),
  } satisfies Record<keyof CircuitConfig, unknown>),
);

const oauthSchema = lazySchema((z) => {
  const url = z
    .string({ error: 'expected an http(s) URL' })
    .regex(/^https?:\/\/\S+$/, { error: 'expected an http(s) URL' });
  return z.strictObject({
    tokenEndpoint: url.optional(),
    clientId: nonEmptyString('a non-empty string').optional(),
    refreshClaudeCode: z.boolean({ error: 'expected true or false' }).optional(),
    refreshCodex: z.boolean({ error: 'expected true or false' }).optional(),
    openai: z
      .strictObject({
        tokenEndpoint: url.optional(),
        clientId: nonEmptyString('a non-empty string').optional(),
        scope: z.string({ error: 'expected a string' }).optional(),
      })
      .optional(),
    skewMs: wholeNumber(0, 24 * HOUR_MS).optional(),
    timeoutMs: wholeNumber(1, MAX_TIMER_MS).optional(),
    fetch: functionSchema<typeof fetch>('a fetch function').optional(),
  });
});

const envPassthroughSchema = lazySchema((z) =>
  z
    .array(
      z
        .string({ error: 'expected a variable name such as PATH' })
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a variable name such as PATH' }),
    )
    .superRefine((names, ctx) => {
      const refused = names.filter((n) => CREDENTIAL_VARIABLES.has(n));
      if (refused.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `cannot pass credential variables (${refused.join(', ')}): agentvisor gives each agent its own provider's credentials`,
          path: [],
        });
      }
    }),
);

const adaptiveSchema = lazySchema((z) =>
  z.union(
    [
      z.boolean({ error: 'expected true, false or { initial?, growAfter?, decreaseIntervalMs? }' }),
      z.strictObject({
        initial: perProvider(wholeNumber(1, 1_000_000)).optional(),
        growAfter: wholeNumber(1, 1_000_000).optional(),
        decreaseIntervalMs: wholeNumber(0, MAX_TIMER_MS).optional(),
      }),
    ],
    { error: 'expected true, false or { initial?, growAfter?, decreaseIntervalMs? }' },
  ),
);

const FILE_EXPECTED = 'expected a path, or false to keep samples in memory';

const learnedEstimatesSchema = lazySchema((z) =>
  z
    .strictObject(
      {
        percentile: wholeNumber(1, 100).optional(),
        window: wholeNumber(1, 10_000).optional(),
        min: wholeNumber(1, MAX_REQUEST_TOKENS).optional(),
        max: wholeNumber(1, MAX_REQUEST_TOKENS).optional(),
        initial: wholeNumber(1, MAX_REQUEST_TOKENS).optional(),
        file: z
          .union([z.literal(false, { error: FILE_EXPECTED }), nonEmptyString('a path')], { error: FILE_EXPECTED })
          .optional(),
      } satisfies Record<keyof LearnedEstimatesOptions, unknown>,
      { error: 'expected an object such as { percentile: 90, window: 50, min: 1000, max: 200000 }' },
    )
    .superRefine((given, ctx) => {
      const { min, max, initial } = learnedBounds(given);
      if (max < min)
        ctx.addIssue({ code: 'custom', path: ['max'], message: `expected at least min (${min}), got ${max}` });
      else if (initial < min || initial > max)
        ctx.addIssue({
          code: 'custom',
          path: ['initial'],
          message: `expected a number from min (${min}) to max (${max}), got ${initial}`,
        });
    }),
);

/**
 * Every option of `createOrchestrator` (docs/api.md has the table).
 *
 * @example orchestratorOptionsSchema().safeParse({ limits: { claude: { dailyLimit: 2_000_000 } }, clock: systemClock }).success // true
 */
export const orchestratorOptionsSchema = lazySchema((z) => {
  const timerMs = wholeNumber(1, MAX_TIMER_MS).optional();
  return z.strictObject({
    home: nonEmptyString('a folder path').optional(),
    env: z
      .custom<EnvSource>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
        error: 'expected an object of variables such as process.env',
      })
      .optional(),
    apiKeys: perProvider(z.string({ error: 'expected a string' })).optional(),
    limits: limitsSchema().optional(),
    ledger: ledgerOptionSchema().optional(),
    fallbackChain: fallbackChainSchema().optional(),
    providers: providerSwitchesSchema().optional(),
    learnedEstimates: learnedEstimatesSchema().optional(),
    providerPriority: providerPrioritySchema().optional(),
    circuit: circuitSchema().optional(),
    failurePolicy: failurePolicySchema().optional(),
    adaptiveConcurrency: adaptiveSchema().optional(),
    requeueThrottled: z
      .union(
        [
          z.boolean({ error: 'expected true, false or { maxRequeues }' }),
          z.strictObject({ maxRequeues: wholeNumber(0, 1_000_000).optional() }),
        ],
        { error: 'expected true, false or { maxRequeues }' },
      )
      .optional(),
    usageLimitPauseMs: timerMs,
    maxProviderResetMs: wholeNumber(60_000, 21 * 24 * HOUR_MS).optional(),
    whenPreferredBusy: z.enum(['fallback', 'wait'], { error: "expected 'fallback' or 'wait'" }).optional(),
    maxFallbacks: wholeNumber(0, 100).optional(),
    leaseMs: timerMs,
    sweepIntervalMs: timerMs,
    dailyReset: dailyResetSchema().optional(),
    maxQueue: wholeNumber(0, 1_000_000).optional(),
    lowWatermark: z
      .number({ error: 'expected a share from 0 to 1' })
      .min(0, { error: 'expected a share from 0 to 1' })
      .max(1, { error: 'expected a share from 0 to 1' })
      .optional(),
    retryHintMs: wholeNumber(0, MAX_TIMER_MS).optional(),
    logger: withMethods<Logger>('a pino logger', ['info', 'warn', 'error']).optional(),
    inspect: z
      .custom((v) => typeof v === 'function' || (typeof v === 'object' && v !== null), {
        error: 'expected an inspection observer, a function or an inspector',
      })
      .optional(),
    audit: auditOptionSchema().optional(),
    metrics: z.boolean({ error: 'expected true or false' }).optional(),
    secretMasker: withMethods<SecretMasker>('a SecretMasker', ['add', 'mask']).optional(),
    clock: withMethods<Clock>('a clock', ['now', 'setTimeout', 'clearTimeout']).optional(),
    authenticate: functionSchema<Authenticate>('a function (input) => credentials').optional(),
    authTimeoutMs: timerMs,
    credentialSources: z
      .array(z.enum(CREDENTIAL_SOURCES, { error: `expected one of ${CREDENTIAL_SOURCES.join(', ')}` }))
      .refine(distinct, { error: 'expected each source at most once' })
      .optional(),
    claudeHome: nonEmptyString('a folder path').optional(),
    credentialPermissions: z.enum(['warn', 'error'], { error: "expected 'warn' or 'error'" }).optional(),
    oauth: oauthSchema().optional(),
    envPassthrough: envPassthroughSchema().optional(),
    configFile: nonEmptyString('a file path').optional(),
  } satisfies Record<keyof OrchestratorOptions, unknown>);
});
