import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  CLAUDE_OAUTH_ENV,
  CREDENTIAL_SOURCES,
  createCredentialResolver,
  credentialFiles,
  rankProviders,
} from '../credentials';
import type { CredentialClass, CredentialSourceId, SourceProblem } from '../credentials';
import type { ProviderPriority } from '../credentials';
import { DEFAULT_LIMITS, resolveOptions } from '../orchestrator/options';
import { DISABLE_PROVIDERS_ENV, resolveProviderSwitches } from '../orchestrator/providerSwitches';
import type { ProviderSwitch } from '../orchestrator/providerSwitches';
import { PROVIDERS, PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { pausesFileFor, readPauses } from '../quota/pauseRecord';
import { commandContext, configLine, configSummary, configuredLimits, emit, limitSourceCell } from './context';
import type { CommandContext, ConfigSummary, SettingSource } from './context';
import { maskUrl } from './displayUrl';
import { configuredLedger } from './quotaCommand';
import { renderTable } from './table';

export interface ProviderStatus {
  readonly provider: ProviderId;
  readonly displayName: string;
  /** The credential the orchestrator would use now, without its secret; null when there is none. */
  readonly credential: {
    readonly source: string;
    readonly kind: 'api-key' | 'oauth';
    readonly hint: string;
    readonly tier: string | null;
    /** What the provider priority policy ranks it as (claude-max, chatgpt, claude-pro, openai-api-key, claude-api-key). */
    readonly credentialClass: CredentialClass;
    /** RFC 3339, or null when the credential does not expire. */
    readonly expiresAt: string | null;
    /** Past its expiry (a login from a refreshable file is renewed before use). */
    readonly expired: boolean;
  } | null;
  /** The limits in force: the config file's over the defaults (`limitsFrom` says which). */
  readonly limits: { readonly dailyLimit: number; readonly maxConcurrent: number };
  /** Whether sessions may use it: the config file's `providers` and AGENTVISOR_DISABLE_PROVIDERS switch it off or narrow its rollout. */
  readonly switch: ProviderSwitch;
  /** A usage limit pauses it until then (RFC 3339), as recorded beside the file ledger under --home; null when not paused. */
  readonly pausedUntil: string | null;
}

/** Per provider, where each limit came from. */
export type LimitSources = Readonly<
  Record<ProviderId, { readonly dailyLimit: SettingSource; readonly maxConcurrent: SettingSource }>
>;

/** The config file and the settings `status`, `providers` and `quota` read from the command's context. */
export type ConfiguredContext = Pick<CommandContext, 'home' | 'claudeHome' | 'config' | 'configFile'>;

export interface StatusResult {
  readonly ok: true;
  readonly home: string;
  readonly claudeHome: string;
  readonly providers: readonly ProviderStatus[];
  readonly config: ConfigSummary;
  readonly limitsFrom: LimitSources;
  /** The provider priority policy in force; null: sessions start at the head of the config file's fallbackChain. */
  readonly providerPriority: ProviderPriority | null;
  /** The order sessions that name no provider start in under that policy; switched-off providers left out. */
  readonly startOrder: readonly ProviderId[];
  /** The sources in order of precedence, with the file each file source reads. */
  readonly sources: readonly {
    readonly source: CredentialSourceId;
    readonly file: string | null;
    readonly exists: boolean | null;
  }[];
  readonly problems: readonly SourceProblem[];
  readonly warnings: readonly string[];
}

export interface ProviderInfo {
  readonly id: ProviderId;
  readonly displayName: string;
  /** Variables read for an API key, in precedence order. */
  readonly apiKeyEnv: readonly string[];
  /** The variable read for a subscription (OAuth) login, or null. */
  readonly oauthEnv: string | null;
  readonly baseUrlEnv: string;
  /** The base URL variable's current value (user info, query and fragment masked: `http://***@h/v1?***`), or null when unset. */
  readonly baseUrl: string | null;
  readonly defaultLimits: { readonly dailyLimit: number; readonly maxConcurrent: number };
  readonly switch: ProviderSwitch;
}

export interface ProvidersResult {
  readonly ok: true;
  readonly providers: readonly ProviderInfo[];
  readonly fallbackOrder: readonly ProviderId[];
  readonly config: ConfigSummary;
}

/** The config file's provider order and priority policy (the orchestrator's rule: a chain given without a policy starts sessions at its head). */
function orderSettings(context: Pick<CommandContext, 'config'>): {
  chain: readonly ProviderId[];
  policy: ProviderPriority | null;
} {
  const settings = context.config?.settings ?? {};
  const chain = resolveOptions({
    env: {},
    ...(settings.fallbackChain === undefined ? {} : { fallbackChain: settings.fallbackChain }),
  }).fallbackChain;
  return { chain, policy: settings.providerPriority ?? (settings.fallbackChain === undefined ? 'subscription' : null) };
}

/**
 * What `status` shows: credentials per provider (never a secret), the limits and switches in force
 * (config file over defaults, AGENTVISOR_DISABLE_PROVIDERS on top), the start order, pauses, problems.
 *
 * @example const status = await collectStatus(commandContext(command));
 */
export async function collectStatus(context: ConfiguredContext, now: number = Date.now()): Promise<StatusResult> {
  const { home, claudeHome } = context;
  const resolver = createCredentialResolver({ env: process.env, home, claudeHome });
  const report = await resolver.load();
  const files = credentialFiles(home, claudeHome);
  const switches = resolveProviderSwitches(context.config?.settings.providers, process.env);
  const limits = configuredLimits(context.config);
  const ledgerFile = configuredLedger(context).file;
  const pauses = ledgerFile === null ? {} : await readPauses(pausesFileFor(ledgerFile), now);
  const providers = PROVIDER_IDS.map((provider): ProviderStatus => {
    const found = resolver.describe(provider);
    const pause = pauses[provider];
    return {
      provider,
      displayName: PROVIDERS[provider].displayName,
      credential: found && {
        source: found.source,
        kind: found.kind,
        hint: found.hint,
        tier: found.tier,
        credentialClass: found.credentialClass,
        expiresAt: found.expiresAt === null ? null : new Date(found.expiresAt).toISOString(),
        expired: found.expiresAt !== null && found.expiresAt <= now,
      },
      limits: { dailyLimit: limits[provider].dailyLimit, maxConcurrent: limits[provider].maxConcurrent },
      switch: switches[provider],
      pausedUntil: pause ? new Date(pause.until).toISOString() : null,
    };
  });
  const sources = CREDENTIAL_SOURCES.map((source) => {
    const file = source === 'options' || source === 'env' ? null : files[source];
    return { source, file, exists: file === null ? null : existsSync(file) };
  });
  const { chain, policy } = orderSettings(context);
  const ranked = policy === null ? [...chain] : rankProviders(policy, resolver.credentialClasses(), chain);
  const startOrder = ranked.filter((p) => switches[p].enabled);
  const limitsFrom = Object.fromEntries(PROVIDER_IDS.map((p) => [p, limits[p].from])) as LimitSources;
  return {
    ok: true,
    home,
    claudeHome,
    providers,
    config: configSummary(context),
    limitsFrom,
    providerPriority: policy,
    startOrder,
    sources,
    problems: report.problems,
    warnings: [...report.warnings, ...PROVIDER_IDS.flatMap((p) => resolver.passedOver(p))],
  };
}

/**
 * What `providers` shows: the variables read, base URLs (masked), default limits, switches in
 * force and the fallback order (the config file's, when it sets one).
 *
 * @example const result = collectProviders(commandContext(command));
 */
export function collectProviders(context: Pick<CommandContext, 'config' | 'configFile'>): ProvidersResult {
  const switches = resolveProviderSwitches(context.config?.settings.providers, process.env);
  return {
    ok: true,
    providers: PROVIDER_IDS.map((id) => {
      const spec = PROVIDERS[id];
      const baseUrl = (process.env[spec.baseUrlEnv] ?? '').trim();
      return {
        id,
        displayName: spec.displayName,
        apiKeyEnv: [...spec.apiKeyEnv],
        oauthEnv: id === 'claude' ? CLAUDE_OAUTH_ENV : null,
        baseUrlEnv: spec.baseUrlEnv,
        baseUrl: baseUrl === '' ? null : maskUrl(baseUrl),
        defaultLimits: { ...DEFAULT_LIMITS[id] },
        switch: switches[id],
      };
    }),
    fallbackOrder: [...orderSettings(context).chain],
    config: configSummary(context),
  };
}

/**
 * `on`, or `off (AGENTVISOR_DISABLE_PROVIDERS)` / `off (config file)`, with a canary share below 100%.
 *
 * @example describeSwitch({ enabled: true, disabledBy: null, rolloutPercent: 10 }) // 'on, 10% of agents'
 */
export function describeSwitch(s: ProviderSwitch): string {
  if (!s.enabled) return `off (${s.disabledBy === 'env' ? DISABLE_PROVIDERS_ENV : 'config file'})`;
  return s.rolloutPercent < 100 ? `on, ${s.rolloutPercent}% of agents` : 'on';
}

function describePriority(policy: ProviderPriority | null): string {
  if (policy === null) return "the config file's fallbackChain order";
  if (policy === 'subscription') return "priority: Claude Max, ChatGPT, Claude Pro, then API keys with OpenAI's first";
  return `priority: ${typeof policy === 'string' ? policy : policy.join(', ')}`;
}

function describeExpiry(c: NonNullable<ProviderStatus['credential']>): string {
  if (c.expiresAt === null) return '-';
  return c.expired ? `${c.expiresAt} (expired)` : c.expiresAt;
}

/**
 * `agentvisor status` and `agentvisor providers`.
 *
 * @example addStatusCommands(program);
 */
export function addStatusCommands(program: Command): void {
  program
    .command('status')
    .description(
      'the credential each provider would use, the limits in force, the files looked at and any problems (never a secret)',
    )
    .action(async (_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const status = await collectStatus(context);
      const limits = configuredLimits(context.config);
      emit(context, status, () => [
        renderTable(
          [
            'provider',
            'enabled',
            'source',
            'kind',
            'key',
            'tier',
            'class',
            'expires',
            'daily limit',
            'at once',
            'limits from',
          ],
          status.providers.map((p) => {
            const c = p.credential;
            return [
              p.provider,
              describeSwitch(p.switch),
              c?.source ?? 'none',
              c?.kind ?? '-',
              c?.hint ?? '-',
              c?.tier ?? '-',
              c?.credentialClass ?? '-',
              c ? describeExpiry(c) : '-',
              p.limits.dailyLimit,
              p.limits.maxConcurrent,
              limitSourceCell(limits[p.provider]),
            ];
          }),
        ),
        '',
        configLine(context),
        `Sessions start on: ${status.startOrder.length === 0 ? 'none (every provider is switched off)' : status.startOrder.join(', then ')} ` +
          `(${describePriority(status.providerPriority)})`,
        `Looked at, in order: ${status.sources.map((s) => (s.file === null ? s.source : `${s.file}${s.exists ? '' : ' (missing)'}`)).join(', ')}`,
        ...status.problems.map((p) => `problem (${p.source}, ${p.code}): ${p.message}`),
        ...status.warnings.map((w) => `warning: ${w}`),
        ...status.providers
          .filter((p) => p.pausedUntil !== null)
          .map((p) => `${p.provider}: paused until ${p.pausedUntil} (a usage limit; it resumes by itself)`),
        ...status.providers
          .filter((p) => p.credential === null)
          .map(
            (p) =>
              `${p.provider}: no credentials; run \`agentvisor login ${p.provider} --api-key -\` or set ${PROVIDERS[p.provider].apiKeyEnv[0]}.`,
          ),
      ]);
    });

  program
    .command('providers')
    .description('the providers agentvisor knows: variables read, base URLs, default limits and fallback order')
    .action((_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const result = collectProviders(context);
      emit(context, result, () => [
        renderTable(
          ['provider', 'name', 'enabled', 'key variables', 'base URL', 'daily limit', 'at once'],
          result.providers.map((p) => [
            p.id,
            p.displayName,
            describeSwitch(p.switch),
            [...p.apiKeyEnv, ...(p.oauthEnv ? [p.oauthEnv] : [])].join(', '),
            `${p.baseUrlEnv}${p.baseUrl ? `=${p.baseUrl}` : ' (unset)'}`,
            p.defaultLimits.dailyLimit,
            p.defaultLimits.maxConcurrent,
          ]),
        ),
        '',
        configLine(context),
        `Fallback order: ${result.fallbackOrder.join(' → ')}${
          result.providers.some((p) => !p.switch.enabled)
            ? ` (switched off: ${result.providers
                .filter((p) => !p.switch.enabled)
                .map((p) => p.id)
                .join(', ')})`
            : ''
        }`,
      ]);
    });
}
