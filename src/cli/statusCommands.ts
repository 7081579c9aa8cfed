import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CLAUDE_OAUTH_ENV, CREDENTIAL_SOURCES, createCredentialResolver, credentialFiles, rankProviders } from '../credentials';
import type { CredentialClass, CredentialSourceId, SourceProblem } from '../credentials';
import { DEFAULT_LIMITS, resolveOptions } from '../orchestrator/options';
import { DISABLE_PROVIDERS_ENV, resolveProviderSwitches } from '../orchestrator/providerSwitches';
import type { ProviderSwitch } from '../orchestrator/providerSwitches';
import { PROVIDERS, PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { defaultLedgerFile } from '../orchestrator/ledgerOption';
import { pausesFileFor, readPauses } from '../quota/pauseRecord';
import { commandContext, emit } from './context';
import { maskUrl } from './displayUrl';
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
  readonly limits: { readonly dailyLimit: number; readonly maxConcurrent: number };
  /** Whether sessions may use it: AGENTVISOR_DISABLE_PROVIDERS switches it off (`rolloutPercent` is an orchestrator option, 100 here). */
  readonly switch: ProviderSwitch;
  /** A usage limit pauses it until then (RFC 3339), as recorded beside the file ledger under --home; null when not paused. */
  readonly pausedUntil: string | null;
}

export interface StatusResult {
  readonly ok: true;
  readonly home: string;
  readonly claudeHome: string;
  readonly providers: readonly ProviderStatus[];
  /** The order sessions that name no provider start in, under the default policy ('subscription'); switched-off providers left out. */
  readonly startOrder: readonly ProviderId[];
  /** The sources in order of precedence, with the file each file source reads. */
  readonly sources: readonly { readonly source: CredentialSourceId; readonly file: string | null; readonly exists: boolean | null }[];
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
}

export async function collectStatus(home: string, claudeHome: string, now: number = Date.now()): Promise<StatusResult> {
  const resolver = createCredentialResolver({ env: process.env, home, claudeHome });
  const report = await resolver.load();
  const files = credentialFiles(home, claudeHome);
  const switches = resolveProviderSwitches(undefined, process.env);
  const pauses = await readPauses(pausesFileFor(defaultLedgerFile(home)), now);
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
      limits: { ...DEFAULT_LIMITS[provider] },
      switch: switches[provider],
      pausedUntil: pause ? new Date(pause.until).toISOString() : null,
    };
  });
  const sources = CREDENTIAL_SOURCES.map((source) => {
    const file = source === 'options' || source === 'env' ? null : files[source];
    return { source, file, exists: file === null ? null : existsSync(file) };
  });
  const classes = resolver.credentialClasses();
  const startOrder = rankProviders('subscription', classes, resolveOptions({ env: {} }).fallbackChain).filter((p) => switches[p].enabled);
  return { ok: true, home, claudeHome, providers, startOrder, sources, problems: report.problems, warnings: report.warnings };
}

export function collectProviders(): ProvidersResult {
  const switches = resolveProviderSwitches(undefined, process.env);
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
    fallbackOrder: [...resolveOptions({ env: {} }).fallbackChain],
  };
}

/** `on`, or `off (AGENTVISOR_DISABLE_PROVIDERS)` / `off (option)`, with a canary share below 100%. */
export function describeSwitch(s: ProviderSwitch): string {
  if (!s.enabled) return `off (${s.disabledBy === 'env' ? DISABLE_PROVIDERS_ENV : `providers option`})`;
  return s.rolloutPercent < 100 ? `on, ${s.rolloutPercent}% of agents` : 'on';
}

function describeExpiry(c: NonNullable<ProviderStatus['credential']>): string {
  if (c.expiresAt === null) return '-';
  return c.expired ? `${c.expiresAt} (expired)` : c.expiresAt;
}

export function addStatusCommands(program: Command): void {
  program
    .command('status')
    .description('the credential each provider would use, the limits in force, the files looked at and any problems (never a secret)')
    .action(async (_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const status = await collectStatus(context.home, context.claudeHome);
      emit(context, status, () => [
        renderTable(
          ['provider', 'enabled', 'source', 'kind', 'key', 'tier', 'class', 'expires', 'daily limit', 'at once'],
          status.providers.map((p) => {
            const c = p.credential;
            return [p.provider, describeSwitch(p.switch), c?.source ?? 'none', c?.kind ?? '-', c?.hint ?? '-', c?.tier ?? '-', c?.credentialClass ?? '-', c ? describeExpiry(c) : '-', p.limits.dailyLimit, p.limits.maxConcurrent];
          }),
        ),
        '',
        `Sessions start on: ${status.startOrder.length === 0 ? `none (every provider is switched off by ${DISABLE_PROVIDERS_ENV})` : status.startOrder.join(', then ')} (priority: Claude Max, ChatGPT, Claude Pro, then API keys with OpenAI's first)`,
        `Looked at, in order: ${status.sources.map((s) => (s.file === null ? s.source : `${s.file}${s.exists ? '' : ' (missing)'}`)).join(', ')}`,
        ...status.problems.map((p) => `problem (${p.source}, ${p.code}): ${p.message}`),
        ...status.warnings.map((w) => `warning: ${w}`),
        ...status.providers.filter((p) => p.pausedUntil !== null).map((p) => `${p.provider}: paused until ${p.pausedUntil} (a usage limit; it resumes by itself)`),
        ...status.providers.filter((p) => p.credential === null).map((p) => `${p.provider}: no credentials; run \`agentvisor login ${p.provider} --api-key -\` or set ${PROVIDERS[p.provider].apiKeyEnv[0]}.`),
      ]);
    });

  program
    .command('providers')
    .description('the providers agentvisor knows: variables read, base URLs, default limits and fallback order')
    .action((_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const result = collectProviders();
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
        `Fallback order: ${result.fallbackOrder.join(' → ')}${result.providers.some((p) => !p.switch.enabled) ? ` (switched off: ${result.providers.filter((p) => !p.switch.enabled).map((p) => p.id).join(', ')})` : ''}`,
      ]);
    });
}
