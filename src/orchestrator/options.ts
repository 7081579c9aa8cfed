import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Budgets, ProviderBudget } from '../../machines/budget';
import { DEFAULT_CIRCUIT } from '../../machines/providerHealth';
import type { AdaptiveConfig, CircuitConfig } from '../../machines/providerHealth';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { CREDENTIAL_SOURCES } from '../credentials';
import { defaultClaudeHome } from '../credentials/sources/claudeCodeCredentials';
import type {
  Authenticate,
  CredentialSourceId,
  EnvSource,
  OAuthRefreshOptions,
  ProviderPriority,
} from '../credentials';
import { DEFAULT_DAILY_RESET } from '../quota/dailyWindow';
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
import { checkOptions } from '../schema/checkOptions';
import { orchestratorOptionsSchema } from './optionsSchema';

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
  readonly adaptiveConcurrency?:
    | boolean
    | {
        readonly initial?: Partial<Record<ProviderId, number>>;
        readonly growAfter?: number;
        readonly decreaseIntervalMs?: number;
      };
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

/** The home folder: `$CODEX_HOME`, else `~/.codex`. */
export function defaultHome(env: EnvSource): string {
  const codexHome = env.CODEX_HOME;
  return codexHome !== undefined && codexHome.trim() !== '' ? codexHome : path.join(os.homedir(), '.codex');
}

function resolveBudgets(limits: OrchestratorOptions['limits']): Budgets {
  const entries = PROVIDER_IDS.map((id): [ProviderId, ProviderBudget] => {
    const { dailyLimit, maxConcurrent } = { ...DEFAULT_LIMITS[id], ...withoutUndefined(limits?.[id] ?? {}) };
    return [id, { dailyLimit, maxConcurrent, used: 0, reserved: 0, active: 0, overrun: 0, lowAnnounced: false }];
  });
  return Object.fromEntries(entries) as Record<ProviderId, ProviderBudget>;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function resolvePassthrough(
  names: OrchestratorOptions['envPassthrough'],
  env: EnvSource,
): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names ?? []) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return Object.freeze(out);
}

function resolveAdaptive(value: OrchestratorOptions['adaptiveConcurrency'], budgets: Budgets): AdaptiveConfig | null {
  if (value === undefined || value === false) return null;
  const given = value === true ? {} : value;
  // Conservative by default: half the provider's maxConcurrent, at least 1.
  const initial = Object.fromEntries(
    PROVIDER_IDS.map((p) => [p, given.initial?.[p] ?? Math.max(1, Math.floor(budgets[p].maxConcurrent / 2))]),
  ) as Record<ProviderId, number>;
  return { initial, growAfter: given.growAfter ?? 5, decreaseIntervalMs: given.decreaseIntervalMs ?? 2_000 };
}

function resolveRequeue(value: OrchestratorOptions['requeueThrottled']): { maxRequeues: number } {
  if (value === undefined || value === true) return { maxRequeues: 10 };
  return value === false ? { maxRequeues: 0 } : { maxRequeues: value.maxRequeues ?? 10 };
}

const ORCHESTRATOR_OPTIONS_PLACE = {
  call: 'createOrchestrator',
  expected: 'an object such as { limits: { claude: { dailyLimit: 1000000 } } } (or nothing)',
} as const;

/**
 * Checks every option against its schema (src/options) and fills in defaults; throws
 * `invalid-option` naming the option's path and the fix. Options marked `alreadyChecked` (the CLI's)
 * are not checked again, so zod stays unloaded.
 *
 * @example resolveOptions({ limits: { claude: { dailyLimit: 2_000_000 } } }).budgets.claude.dailyLimit // 2000000
 */
export function resolveOptions(given: OrchestratorOptions = {}): ResolvedOptions {
  checkOptions(orchestratorOptionsSchema, given, ORCHESTRATOR_OPTIONS_PLACE);
  const options =
    given.configFile === undefined ? given : withConfigFile(given, given.home ?? defaultHome(given.env ?? process.env));
  const env = options.env ?? process.env;
  const fallbackChain = options.fallbackChain ?? ['claude', 'openai'];
  const budgets = resolveBudgets(options.limits);
  const home = options.home ?? defaultHome(env);
  const ledger = resolveLedger(options.ledger, home);
  return {
    home,
    env,
    apiKeys: options.apiKeys ?? {},
    budgets,
    fallbackChain,
    switches: resolveProviderSwitches(options.providers, env),
    learnedEstimates: resolveLearnedEstimates(options.learnedEstimates, ledger, home),
    providerPriority: options.providerPriority ?? (options.fallbackChain !== undefined ? null : 'subscription'),
    circuit: { ...DEFAULT_CIRCUIT, ...withoutUndefined(options.circuit ?? {}) },
    failurePolicy: resolveAgentFailurePolicy(options.failurePolicy),
    ledger,
    whenPreferredBusy: options.whenPreferredBusy ?? 'fallback',
    adaptiveConcurrency: resolveAdaptive(options.adaptiveConcurrency, budgets),
    requeue: resolveRequeue(options.requeueThrottled),
    usageLimitPauseMs: options.usageLimitPauseMs ?? HOUR_MS,
    maxProviderResetMs: options.maxProviderResetMs ?? DEFAULT_MAX_PROVIDER_RESET_MS,
    maxFallbacks: options.maxFallbacks ?? fallbackChain.length - 1,
    leaseMs: options.leaseMs ?? 2 * HOUR_MS,
    sweepIntervalMs: options.sweepIntervalMs ?? HOUR_MS,
    dailyReset: options.dailyReset ?? DEFAULT_DAILY_RESET,
    maxQueue: options.maxQueue ?? 1000,
    lowWatermark: options.lowWatermark ?? 0.1,
    retryHintMs: options.retryHintMs ?? 1000,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? null,
    inspect: options.inspect ?? null,
    audit: resolveAuditOptions(options.audit, home),
    metrics: options.metrics ?? false,
    secretMasker: options.secretMasker ?? null,
    authenticate: options.authenticate ?? null,
    authTimeoutMs: options.authTimeoutMs ?? 30_000,
    credentialSources: options.credentialSources ?? CREDENTIAL_SOURCES,
    claudeHome: options.claudeHome ?? defaultClaudeHome(env),
    credentialPermissions: options.credentialPermissions ?? 'warn',
    oauth: options.oauth ?? {},
    passthrough: resolvePassthrough(options.envPassthrough, env),
  };
}
