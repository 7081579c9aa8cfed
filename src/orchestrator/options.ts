import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Budgets, ProviderBudget } from '../../machines/budget';
import { DEFAULT_CIRCUIT } from '../../machines/providerHealth';
import type { AdaptiveConfig, CircuitConfig } from '../../machines/providerHealth';
import { PROVIDER_IDS, isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { CREDENTIAL_SOURCES, checkProviderPriority } from '../credentials';
import { defaultClaudeHome } from '../credentials/sources/claudeCodeCredentials';
import type { Authenticate, CredentialSourceId, EnvSource, OAuthRefreshOptions, ProviderPriority } from '../credentials';
import { AgentvisorError } from '../errors';
import { DEFAULT_DAILY_RESET, checkDailyReset } from '../quota/dailyWindow';
import type { DailyReset } from '../quota/dailyWindow';
import type { FailurePolicyOptions } from '../providers';
import { DEFAULT_MAX_PROVIDER_RESET_MS } from '../providers/resetCap';
import { resolveAuditOptions } from '../observability/auditTrail';
import type { AuditOptions, ResolvedAuditOptions } from '../observability/auditTrail';
import type { InspectTarget } from '../observability/inspectionSanitizer';
import type { SecretMasker } from '../observability/secretMasker';
import type { Clock } from './clock';
import { resolveAgentFailurePolicy } from './failureHandling';
import { resolveLedger } from './ledgerOption';
import { resolveLearnedEstimates } from './learnedEstimates';
import type { LearnedEstimatesOptions, ResolvedLearnedEstimates } from './learnedEstimates';
import { resolveProviderSwitches } from './providerSwitches';
import type { ProviderSwitchOptions, ProviderSwitches } from './providerSwitches';
import type { LedgerOption, ResolvedLedger } from './ledgerOption';
import type { AgentFailurePolicy } from './failureHandling';
import { systemClock } from './clock';
import { withConfigFile } from '../config/overlayConfig';
import { checkOptions } from '../options/checkOptions';
import { failurePolicySchema } from '../options/failurePolicyOptions';

export interface ProviderLimits {
  /** Tokens per daily window; 0 disables the provider. */
  readonly dailyLimit?: number;
  /** Sessions at once; 0 disables the provider. */
  readonly maxConcurrent?: number;
}

/** The limits that apply when none are given (the seed's figures). */
export const DEFAULT_LIMITS: Readonly<Record<ProviderId, Required<ProviderLimits>>> = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
  openai: { dailyLimit: 500_000, maxConcurrent: 8 },
};

export const HOUR_MS = 60 * 60 * 1000;

/** The most tokens one estimate or one usage report may carry; larger values are taken as a bug. */
export const MAX_TOKENS = 1_000_000_000;

export interface OrchestratorOptions {
  /**
   * Where credentials and state live.
   * @default $CODEX_HOME, else ~/.codex
   */
  readonly home?: string;
  /** The environment to read keys and base URLs from. @default process.env */
  readonly env?: EnvSource;
  /** API keys in code; they take precedence over the env. */
  readonly apiKeys?: Partial<Record<ProviderId, string>>;
  /** @default claude 1,000,000 tokens/day and 10 at once; openai 500,000 and 8 */
  readonly limits?: Partial<Record<ProviderId, ProviderLimits>>;
  /**
   * Where the budget of record lives: `'memory'` (this process), `'file'` / `{ file }` (durable, shared
   * by local processes), `{ redis }` (shared by hosts) or `{ instance }`, with `leaseMs`,
   * `syncIntervalMs` and `whenUnavailable` for shared ledgers. See docs/ledger.md. @default 'memory'
   */
  readonly ledger?: LedgerOption;
  /** Provider order for admission and fallback. @default ['claude', 'openai'] */
  readonly fallbackChain?: readonly ProviderId[];
  /**
   * Operator switches per provider: `enabled: false` takes it out of admission and out of every
   * fallback chain (as does naming it in `AGENTVISOR_DISABLE_PROVIDERS` in `env`);
   * `rolloutPercent` admits only that share of new sessions onto it, chosen by a stable hash of
   * the agent id (docs/operations.md). @default every provider enabled at 100%
   */
  readonly providers?: Partial<Record<ProviderId, ProviderSwitchOptions>>;
  /**
   * Estimates learned per task kind for `spawnAgent({ taskKind })` without `estimatedTokens`: the
   * `percentile` (90) of the last `window` (50) settled sessions' usage, within `min` (1000) and
   * `max` (200000), `initial` (20000) before any. Kept beside a durable ledger (docs/operations.md).
   */
  readonly learnedEstimates?: LearnedEstimatesOptions;
  /**
   * Which provider a session starts on when `spawnAgent` names none: `'subscription'` ranks by
   * credential (Claude Max, ChatGPT, Claude Pro, then API keys with OpenAI's first),
   * `'prefer-claude'`, `'prefer-openai'`, or an explicit provider list. Providers with usable
   * credentials always come first. @default 'subscription', or the `fallbackChain` order when a chain is given
   */
  readonly providerPriority?: ProviderPriority;
  /**
   * The circuit breaker each provider gets: within `windowMs`, with at least `minRequests` outcomes,
   * more than `allowedFailures` failures (overloaded, server, network, timeout, truncated, rate-limit)
   * open it for `cooldownMs`; then `halfOpenProbes` sessions at a time probe it.
   * @default { windowMs: 60000, allowedFailures: 4, minRequests: 5, cooldownMs: 30000, halfOpenProbes: 1 }
   */
  readonly circuit?: Partial<CircuitConfig>;
  /**
   * What `reportFailure` does per failure kind (docs/failures.md). By default every kind but
   * `invalid-request` falls back at once while the chain has a provider left; with none left,
   * throttling and server faults are retried (2 times, jittered backoff, Retry-After honoured up to
   * 30 s) before the agent is given up. Set `kinds.<kind>.action: 'retry'` to retry first.
   */
  readonly failurePolicy?: FailurePolicyOptions;
  /**
   * Adaptive concurrency (AIMD) per provider: the effective limit starts at `initial` (default half
   * of maxConcurrent, at least 1), grows by one after `growAfter` (5) successes in a row, and halves
   * (floor 1) on server-side throttling (429 rate limits that are not usage limits, 529/503), at most
   * once per `decreaseIntervalMs` (2000). `true` for the defaults. @default false (maxConcurrent applies as is)
   */
  readonly adaptiveConcurrency?: boolean | { readonly initial?: Partial<Record<ProviderId, number>>; readonly growAfter?: number; readonly decreaseIntervalMs?: number };
  /**
   * A session throttled by the server (429 that is not a usage limit) before it did any work on the
   * provider gives its slot back and waits in the queue for the same provider (Retry-After honoured)
   * instead of failing or falling back, up to `maxRequeues` times. `false` treats it like any failure.
   * @default { maxRequeues: 10 }
   */
  readonly requeueThrottled?: boolean | { readonly maxRequeues?: number };
  /** How long a usage limit pauses a provider when neither its message nor its headers say when it resets. @default 3600000 (1 h) */
  readonly usageLimitPauseMs?: number;
  /**
   * The furthest ahead a provider may say its limit resets (headers, error bodies, usage-limit
   * messages): later resets and longer Retry-After waits are capped to this and logged as
   * suspicious (a reset weeks away is a parsing accident or a broken proxy, not a limit).
   * 60000 to 1814400000 (21 days). @default 604800000 (7 days)
   */
  readonly maxProviderResetMs?: number;
  /** At spawn, when the provider a session would start on is full: admit it further down the chain, or wait for that provider. @default 'fallback' */
  readonly whenPreferredBusy?: 'fallback' | 'wait';
  /** Fallbacks one session may make. @default fallbackChain.length - 1 */
  readonly maxFallbacks?: number;
  /** Allocation lease: an allocation with no activity for this long is expired by the sweep. @default 2 h */
  readonly leaseMs?: number;
  /** How often stale allocations are swept. @default 1 h */
  readonly sweepIntervalMs?: number;
  /** When the daily window starts. @default { at: '00:00', timeZone: 'UTC' } */
  readonly dailyReset?: DailyReset;
  /** Waiting spawns beyond this are refused with `queue-full`. @default 1000 */
  readonly maxQueue?: number;
  /** `quota.low` fires when a provider's available tokens fall below this share of its limit. @default 0.1 */
  readonly lowWatermark?: number;
  /** retryAfterMs given with `concurrency-limit` refusals (a slot has no known release time). @default 1000 */
  readonly retryHintMs?: number;
  /** A pino logger; nothing is logged without one. One from `createLogger` also masks every credential handed out, by value. */
  readonly logger?: Logger;
  /**
   * An XState inspection observer, a function, or a @statelyai/inspect inspector (or its
   * `.inspect`). Everything it receives is sanitized first: no secret reaches it (docs/observability.md).
   */
  readonly inspect?: InspectTarget;
  /**
   * Appends auth events, fallbacks, refusals, daily resets and circuit changes as JSON lines to
   * `$home/audit/audit.jsonl` (0600, folder 0700), rotated by size. `true` takes the defaults.
   * @default false (off)
   */
  readonly audit?: boolean | AuditOptions;
  /** Keeps Prometheus metrics in a registry of this orchestrator; read them with `orch.metrics()`. @default false */
  readonly metrics?: boolean;
  /**
   * Where every credential handed to a session is registered, so logs, audit entries and inspection
   * events mask it by value. @default the logger's (createLogger), else a new one when any observability is on
   */
  readonly secretMasker?: SecretMasker;
  /** Time and timers. @default systemClock */
  readonly clock?: Clock;
  /** Replaces the built-in credential lookup (advanced: tests, custom secret stores). */
  readonly authenticate?: Authenticate;
  /** An authentication that takes longer is refused with `auth-failed`. @default 30000 */
  readonly authTimeoutMs?: number;
  /**
   * Where credentials come from, in order of precedence (first usable wins, per provider).
   * @default ['options', 'env', 'claude-auth-file', 'codex-auth-file', 'claude-code']
   */
  readonly credentialSources?: readonly CredentialSourceId[];
  /** Claude Code's folder (its `.credentials.json`). @default $CLAUDE_CONFIG_DIR, else ~/.claude */
  readonly claudeHome?: string;
  /** Credential files readable by group or others: `'warn'` uses them and logs, `'error'` refuses them. @default 'warn' */
  readonly credentialPermissions?: 'warn' | 'error';
  /** Refresh of Claude logins from files: endpoint, client id, skew; Claude Code's file only when opted in. */
  readonly oauth?: OAuthRefreshOptions;
  /**
   * Names of variables from `env` to pass through to every agent (e.g. PATH, HOME, LANG). Nothing
   * else is inherited. Credential variables cannot be listed. @default []
   */
  readonly envPassthrough?: readonly string[];
  /**
   * A JSON config file (the CLI reads `<home>/agentvisor/config.json`, see `defaultConfigFile`) whose
   * `limits`, `fallbackChain`, `providerPriority`, `providers`, `failurePolicy` and `ledger` apply
   * under the options given here: `limits` and `providers` merge per provider and field, any other
   * option given replaces the file's. Read once, at creation; a missing or bad file throws
   * `invalid-config` naming the field. No file: nothing read (and zod never loaded).
   */
  readonly configFile?: string;
}

export interface ResolvedOptions {
  readonly home: string;
  readonly env: EnvSource;
  readonly apiKeys: Partial<Record<ProviderId, string>>;
  readonly budgets: Budgets;
  readonly fallbackChain: readonly ProviderId[];
  readonly switches: ProviderSwitches;
  readonly learnedEstimates: ResolvedLearnedEstimates;
  /** `null`: sessions start at the head of `fallbackChain` (a chain was given and no priority). */
  readonly providerPriority: ProviderPriority | null;
  readonly maxFallbacks: number;
  readonly circuit: CircuitConfig;
  readonly failurePolicy: AgentFailurePolicy;
  readonly ledger: ResolvedLedger;
  readonly adaptiveConcurrency: AdaptiveConfig | null;
  readonly usageLimitPauseMs: number;
  readonly maxProviderResetMs: number;
  /** Requeues per session for throttling before any work; 0: off. */
  readonly requeue: { readonly maxRequeues: number };
  readonly whenPreferredBusy: 'fallback' | 'wait';
  readonly leaseMs: number;
  readonly sweepIntervalMs: number;
  readonly dailyReset: DailyReset;
  readonly maxQueue: number;
  readonly lowWatermark: number;
  readonly retryHintMs: number;
  readonly clock: Clock;
  readonly logger: Logger | null;
  readonly inspect: InspectTarget | null;
  readonly audit: ResolvedAuditOptions | null;
  readonly metrics: boolean;
  readonly secretMasker: SecretMasker | null;
  readonly authenticate: Authenticate | null;
  readonly authTimeoutMs: number;
  readonly credentialSources: readonly CredentialSourceId[];
  readonly claudeHome: string;
  readonly credentialPermissions: 'warn' | 'error';
  readonly oauth: OAuthRefreshOptions;
  /** The passed-through variables and their values, read once from `env` at creation. */
  readonly passthrough: Readonly<Record<string, string>>;
}

function wholeNumber(name: string, value: unknown, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AgentvisorError('invalid-option', `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`, {
      details: { option: name },
    });
  }
  return value;
}

function resolveBudgets(limits: OrchestratorOptions['limits']): Budgets {
  if (limits !== undefined && (typeof limits !== 'object' || limits === null)) {
    throw new AgentvisorError('invalid-option', 'limits must be an object such as { claude: { dailyLimit: 1000000, maxConcurrent: 10 } }');
  }
  for (const key of Object.keys(limits ?? {})) {
    if (!isProviderId(key)) throw new AgentvisorError('invalid-option', `limits.${key}: unknown provider (known: ${PROVIDER_IDS.join(', ')})`);
  }
  const entries = PROVIDER_IDS.map((id): [ProviderId, ProviderBudget] => {
    const given = limits?.[id] ?? {};
    const dailyLimit = wholeNumber(`limits.${id}.dailyLimit`, given.dailyLimit ?? DEFAULT_LIMITS[id].dailyLimit, { max: Number.MAX_SAFE_INTEGER / 4 });
    const maxConcurrent = wholeNumber(`limits.${id}.maxConcurrent`, given.maxConcurrent ?? DEFAULT_LIMITS[id].maxConcurrent, { max: 1_000_000 });
    return [id, { dailyLimit, maxConcurrent, used: 0, reserved: 0, active: 0, overrun: 0, lowAnnounced: false }];
  });
  return Object.fromEntries(entries) as Record<ProviderId, ProviderBudget>;
}

function resolveChain(chain: OrchestratorOptions['fallbackChain']): readonly ProviderId[] {
  if (chain === undefined) return ['claude', 'openai'];
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every(isProviderId) || new Set(chain).size !== chain.length) {
    throw new AgentvisorError('invalid-option', `fallbackChain must list distinct providers from ${PROVIDER_IDS.join(', ')}, got ${JSON.stringify(chain)}`);
  }
  return chain;
}

/** The home folder: `$CODEX_HOME`, else `~/.codex`. */
export function defaultHome(env: EnvSource): string {
  const codexHome = env.CODEX_HOME;
  return codexHome !== undefined && codexHome.trim() !== '' ? codexHome : path.join(os.homedir(), '.codex');
}

function resolveSources(sources: OrchestratorOptions['credentialSources']): readonly CredentialSourceId[] {
  if (sources === undefined) return CREDENTIAL_SOURCES;
  const known = CREDENTIAL_SOURCES as readonly string[];
  if (!Array.isArray(sources) || !sources.every((s) => known.includes(s)) || new Set(sources).size !== sources.length) {
    throw new AgentvisorError('invalid-option', `credentialSources must list distinct sources from ${CREDENTIAL_SOURCES.join(', ')}, got ${JSON.stringify(sources)}`);
  }
  return sources;
}

function resolvePermissions(policy: OrchestratorOptions['credentialPermissions']): 'warn' | 'error' {
  if (policy === undefined) return 'warn';
  if (policy !== 'warn' && policy !== 'error') throw new AgentvisorError('invalid-option', `credentialPermissions must be 'warn' or 'error', got ${JSON.stringify(policy)}`);
  return policy;
}

function resolveOAuth(oauth: OrchestratorOptions['oauth']): OAuthRefreshOptions {
  if (oauth === undefined) return {};
  if (typeof oauth !== 'object' || oauth === null) throw new AgentvisorError('invalid-option', 'oauth must be an object such as { refreshClaudeCode: true }');
  for (const name of ['tokenEndpoint', 'clientId'] as const) {
    const value = oauth[name];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) throw new AgentvisorError('invalid-option', `oauth.${name} must be a non-empty string`);
  }
  if (oauth.tokenEndpoint !== undefined && !/^https?:\/\//.test(oauth.tokenEndpoint)) throw new AgentvisorError('invalid-option', 'oauth.tokenEndpoint must be an http(s) URL');
  if (oauth.skewMs !== undefined) wholeNumber('oauth.skewMs', oauth.skewMs, { max: 24 * HOUR_MS });
  if (oauth.timeoutMs !== undefined) wholeNumber('oauth.timeoutMs', oauth.timeoutMs, { min: 1, max: 2 ** 31 - 1 });
  return oauth;
}

/** Variables that carry credentials: an allowlist can never pass them through. */
const CREDENTIAL_VARIABLES = new Set(['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY', 'OPENAI_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN']);

function resolvePassthrough(names: OrchestratorOptions['envPassthrough'], env: EnvSource): Readonly<Record<string, string>> {
  if (names === undefined) return Object.freeze({});
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) {
    throw new AgentvisorError('invalid-option', 'envPassthrough must list variable names such as ["PATH", "HOME"]');
  }
  const refused = names.filter((n) => CREDENTIAL_VARIABLES.has(n));
  if (refused.length > 0) {
    throw new AgentvisorError('invalid-option', `envPassthrough cannot pass credential variables (${refused.join(', ')}): agentvisor gives each agent its own provider's credentials`);
  }
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return Object.freeze(out);
}

function resolveAdaptive(value: OrchestratorOptions['adaptiveConcurrency'], budgets: Budgets): AdaptiveConfig | null {
  if (value === undefined || value === false) return null;
  const given = value === true ? {} : value;
  if (typeof given !== 'object' || given === null) throw new AgentvisorError('invalid-option', 'adaptiveConcurrency must be true, false or { initial?, growAfter?, decreaseIntervalMs? }');
  const initial = Object.fromEntries(
    PROVIDER_IDS.map((p) => {
      const n = given.initial?.[p];
      // Conservative by default: half the provider's maxConcurrent, at least 1.
      return [p, n === undefined ? Math.max(1, Math.floor(budgets[p].maxConcurrent / 2)) : wholeNumber(`adaptiveConcurrency.initial.${p}`, n, { min: 1, max: 1_000_000 })];
    }),
  ) as Record<ProviderId, number>;
  for (const key of Object.keys(given.initial ?? {})) {
    if (!isProviderId(key)) throw new AgentvisorError('invalid-option', `adaptiveConcurrency.initial.${key}: unknown provider (known: ${PROVIDER_IDS.join(', ')})`);
  }
  return {
    initial,
    growAfter: wholeNumber('adaptiveConcurrency.growAfter', given.growAfter ?? 5, { min: 1, max: 1_000_000 }),
    decreaseIntervalMs: wholeNumber('adaptiveConcurrency.decreaseIntervalMs', given.decreaseIntervalMs ?? 2_000, { max: 2 ** 31 - 1 }),
  };
}

function resolveRequeue(value: OrchestratorOptions['requeueThrottled']): { maxRequeues: number } {
  if (value === undefined || value === true) return { maxRequeues: 10 };
  if (value === false) return { maxRequeues: 0 };
  if (typeof value !== 'object' || value === null) throw new AgentvisorError('invalid-option', 'requeueThrottled must be true, false or { maxRequeues }');
  return { maxRequeues: wholeNumber('requeueThrottled.maxRequeues', value.maxRequeues ?? 10, { max: 1_000_000 }) };
}

function resolveWhenBusy(value: unknown): 'fallback' | 'wait' {
  if (value === undefined || value === 'fallback' || value === 'wait') return value ?? 'fallback';
  throw new AgentvisorError('invalid-option', `whenPreferredBusy must be 'fallback' or 'wait', got ${JSON.stringify(value)?.slice(0, 60)}`);
}

function resolveCircuit(circuit: OrchestratorOptions['circuit']): CircuitConfig {
  if (circuit === undefined) return DEFAULT_CIRCUIT;
  if (typeof circuit !== 'object' || circuit === null) throw new AgentvisorError('invalid-option', 'circuit must be an object such as { allowedFailures: 4, cooldownMs: 30000 }');
  const known = Object.keys(DEFAULT_CIRCUIT);
  for (const key of Object.keys(circuit)) {
    if (!known.includes(key)) throw new AgentvisorError('invalid-option', `circuit.${key} is not a circuit setting (known: ${known.join(', ')})`);
  }
  const c = { ...DEFAULT_CIRCUIT, ...circuit };
  return {
    windowMs: wholeNumber('circuit.windowMs', c.windowMs, { min: 1, max: 2 ** 31 - 1 }),
    allowedFailures: wholeNumber('circuit.allowedFailures', c.allowedFailures, { max: 1_000_000 }),
    minRequests: wholeNumber('circuit.minRequests', c.minRequests, { min: 1, max: 1_000_000 }),
    cooldownMs: wholeNumber('circuit.cooldownMs', c.cooldownMs, { min: 1, max: 2 ** 31 - 1 }),
    halfOpenProbes: wholeNumber('circuit.halfOpenProbes', c.halfOpenProbes, { min: 1, max: 1000 }),
  };
}

function checkedFailurePolicy(policy: FailurePolicyOptions | undefined): FailurePolicyOptions | undefined {
  if (policy !== undefined) checkOptions(failurePolicySchema, policy, { call: 'createOrchestrator', path: 'failurePolicy', expected: 'an object such as { maxRetries: 2 }' });
  return policy;
}

/** Checks every option and fills in defaults; throws `invalid-option` naming the option and the fix. */
export function resolveOptions(given: OrchestratorOptions = {}): ResolvedOptions {
  const options = given.configFile === undefined ? given : withConfigFile(given, given.home ?? defaultHome(given.env ?? process.env));
  const env = options.env ?? process.env;
  const fallbackChain = resolveChain(options.fallbackChain);
  const budgets = resolveBudgets(options.limits);
  const dailyReset = options.dailyReset ?? DEFAULT_DAILY_RESET;
  checkDailyReset(dailyReset);
  const lowWatermark = options.lowWatermark ?? 0.1;
  if (typeof lowWatermark !== 'number' || !(lowWatermark >= 0 && lowWatermark <= 1)) {
    throw new AgentvisorError('invalid-option', `lowWatermark must be a share from 0 to 1, got ${JSON.stringify(lowWatermark)}`);
  }
  for (const [provider, key] of Object.entries(options.apiKeys ?? {})) {
    if (!isProviderId(provider)) throw new AgentvisorError('invalid-option', `apiKeys.${provider}: unknown provider (known: ${PROVIDER_IDS.join(', ')})`);
    if (key !== undefined && typeof key !== 'string') throw new AgentvisorError('invalid-option', `apiKeys.${provider} must be a string`);
  }
  const home = options.home ?? defaultHome(env);
  const ledger = resolveLedger(options.ledger, home);
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') throw new AgentvisorError('invalid-option', `metrics must be true or false, got ${JSON.stringify(options.metrics)?.slice(0, 40)}`);
  return {
    home,
    env,
    apiKeys: options.apiKeys ?? {},
    budgets,
    fallbackChain,
    switches: resolveProviderSwitches(options.providers, env),
    learnedEstimates: resolveLearnedEstimates(options.learnedEstimates, ledger, home),
    providerPriority: options.providerPriority !== undefined ? checkProviderPriority(options.providerPriority) : options.fallbackChain !== undefined ? null : 'subscription',
    circuit: resolveCircuit(options.circuit),
    failurePolicy: resolveAgentFailurePolicy(checkedFailurePolicy(options.failurePolicy)),
    ledger,
    whenPreferredBusy: resolveWhenBusy(options.whenPreferredBusy),
    adaptiveConcurrency: resolveAdaptive(options.adaptiveConcurrency, budgets),
    requeue: resolveRequeue(options.requeueThrottled),
    usageLimitPauseMs: wholeNumber('usageLimitPauseMs', options.usageLimitPauseMs ?? HOUR_MS, { min: 1, max: 2 ** 31 - 1 }),
    maxProviderResetMs: wholeNumber('maxProviderResetMs', options.maxProviderResetMs ?? DEFAULT_MAX_PROVIDER_RESET_MS, { min: 60_000, max: 21 * 24 * HOUR_MS }),
    maxFallbacks: wholeNumber('maxFallbacks', options.maxFallbacks ?? fallbackChain.length - 1, { max: 100 }),
    leaseMs: wholeNumber('leaseMs', options.leaseMs ?? 2 * HOUR_MS, { min: 1, max: 2 ** 31 - 1 }),
    sweepIntervalMs: wholeNumber('sweepIntervalMs', options.sweepIntervalMs ?? HOUR_MS, { min: 1, max: 2 ** 31 - 1 }),
    dailyReset,
    maxQueue: wholeNumber('maxQueue', options.maxQueue ?? 1000, { max: 1_000_000 }),
    lowWatermark,
    retryHintMs: wholeNumber('retryHintMs', options.retryHintMs ?? 1000, { max: 2 ** 31 - 1 }),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? null,
    inspect: options.inspect ?? null,
    audit: resolveAuditOptions(options.audit, home),
    metrics: options.metrics ?? false,
    secretMasker: options.secretMasker ?? null,
    authenticate: options.authenticate ?? null,
    authTimeoutMs: wholeNumber('authTimeoutMs', options.authTimeoutMs ?? 30_000, { min: 1, max: 2 ** 31 - 1 }),
    credentialSources: resolveSources(options.credentialSources),
    claudeHome: options.claudeHome ?? defaultClaudeHome(env),
    credentialPermissions: resolvePermissions(options.credentialPermissions),
    oauth: resolveOAuth(options.oauth),
    passthrough: resolvePassthrough(options.envPassthrough, env),
  };
}
