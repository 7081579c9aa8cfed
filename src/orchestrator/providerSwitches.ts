import { PROVIDER_IDS, isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type { EnvSource } from '../credentials';
import { AgentvisorError } from '../errors';

/** The environment variable that switches providers off: a comma-separated list such as `openai` or `claude,openai`. */
export const DISABLE_PROVIDERS_ENV = 'AGENTVISOR_DISABLE_PROVIDERS';

/** Operator switches for one provider (`providers.<id>` option). */
export interface ProviderSwitchOptions {
  /** `false` takes the provider out of admission and out of every fallback chain. @default true */
  readonly enabled?: boolean;
  /**
   * The canary share: only this percentage (0–100) of new sessions may use the provider, chosen by
   * a stable hash of the agent id, so the same agent always lands the same way. The others go
   * down the chain as if the provider were switched off for them. @default 100
   */
  readonly rolloutPercent?: number;
}

/** One provider's switches after the option and the environment were read. */
export interface ProviderSwitch {
  readonly enabled: boolean;
  /** What switched it off: the `providers.<id>.enabled` option or AGENTVISOR_DISABLE_PROVIDERS; null when enabled. */
  readonly disabledBy: 'option' | 'env' | null;
  readonly rolloutPercent: number;
}

export type ProviderSwitches = Readonly<Record<ProviderId, ProviderSwitch>>;

/** Why a provider is not for a given agent. */
export type Exclusion = {
  readonly provider: ProviderId;
  readonly reason: 'option' | 'env' | 'rollout';
  readonly rolloutPercent: number;
};

const ALL_ON: ProviderSwitch = { enabled: true, disabledBy: null, rolloutPercent: 100 };

function invalid(message: string, option: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { option } });
}

/** The providers named in AGENTVISOR_DISABLE_PROVIDERS (blank items ignored, case and spaces forgiven). */
export function disabledByEnv(env: EnvSource): ReadonlySet<ProviderId> {
  const raw = env[DISABLE_PROVIDERS_ENV];
  if (raw === undefined || raw.trim() === '') return new Set();
  const out = new Set<ProviderId>();
  for (const item of raw.split(',')) {
    const name = item.trim().toLowerCase();
    if (name === '') continue;
    if (!isProviderId(name)) {
      throw invalid(
        `${DISABLE_PROVIDERS_ENV} names an unknown provider ${JSON.stringify(name.slice(0, 40))}: ` +
          `list providers from ${PROVIDER_IDS.join(', ')} separated by commas, or unset it`,
        DISABLE_PROVIDERS_ENV,
      );
    }
    out.add(name);
  }
  return out;
}

/**
 * Reads the `providers` option and AGENTVISOR_DISABLE_PROVIDERS from `env`. Either one switches a
 * provider off; the option is named when both do.
 *
 * @example
 * resolveProviderSwitches({ openai: { rolloutPercent: 10 } }, { AGENTVISOR_DISABLE_PROVIDERS: 'claude' })
 * // { claude: { enabled: false, disabledBy: 'env', rolloutPercent: 100 }, openai: { enabled: true, disabledBy: null, rolloutPercent: 10 } }
 */
export function resolveProviderSwitches(option: unknown, env: EnvSource): ProviderSwitches {
  if (option !== undefined && (typeof option !== 'object' || option === null || Array.isArray(option))) {
    throw invalid(
      'providers must be an object such as { openai: { enabled: false } } or { claude: { rolloutPercent: 10 } }',
      'providers',
    );
  }
  const given = (option ?? {}) as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) {
    if (!isProviderId(key))
      throw invalid(`providers.${key}: unknown provider (known: ${PROVIDER_IDS.join(', ')})`, `providers.${key}`);
  }
  const fromEnv = disabledByEnv(env);
  const entries = PROVIDER_IDS.map((p): [ProviderId, ProviderSwitch] => {
    const raw = given[p];
    if (raw === undefined) return [p, fromEnv.has(p) ? { ...ALL_ON, enabled: false, disabledBy: 'env' } : ALL_ON];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw invalid(
        `providers.${p} must be an object such as { enabled: false } or { rolloutPercent: 10 }`,
        `providers.${p}`,
      );
    const { enabled = true, rolloutPercent = 100, ...rest } = raw as ProviderSwitchOptions & Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
      throw invalid(
        `providers.${p}.${unknown[0]} is not a provider switch (known: enabled, rolloutPercent)`,
        `providers.${p}`,
      );
    if (typeof enabled !== 'boolean')
      throw invalid(
        `providers.${p}.enabled must be true or false, got ${JSON.stringify(enabled)?.slice(0, 40)}`,
        `providers.${p}.enabled`,
      );
    if (
      typeof rolloutPercent !== 'number' ||
      !Number.isInteger(rolloutPercent) ||
      rolloutPercent < 0 ||
      rolloutPercent > 100
    ) {
      throw invalid(
        `providers.${p}.rolloutPercent must be a whole number from 0 to 100, got ${JSON.stringify(rolloutPercent)?.slice(0, 40)}`,
        `providers.${p}.rolloutPercent`,
      );
    }
    const disabledBy = !enabled ? 'option' : fromEnv.has(p) ? 'env' : null;
    return [p, { enabled: disabledBy === null, disabledBy, rolloutPercent }];
  });
  return Object.fromEntries(entries) as Record<ProviderId, ProviderSwitch>;
}

/** Whether any switch can exclude a provider for some agent (when none can, admission skips the check). */
export function hasActiveSwitch(switches: ProviderSwitches): boolean {
  return PROVIDER_IDS.some((p) => !switches[p].enabled || switches[p].rolloutPercent < 100);
}

/**
 * The canary bucket (0–99) of an agent for a provider: FNV-1a over `provider:agentId` with a
 * murmur3 finaliser, so nearby ids (`agent-1`, `agent-2`) spread evenly. Stable across processes,
 * versions of Node and restarts; salted by provider so two canaries pick independent agents.
 *
 * @example rolloutBucket('openai', 'agent-42') // always the same number from 0 to 99
 */
export function rolloutBucket(provider: ProviderId, agentId: string): number {
  let h = 0x811c9dc5;
  const text = `${provider}:${agentId}`;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

/**
 * Which providers the switches keep from this agent, and why. An agent is in a provider's canary
 * when its bucket is below `rolloutPercent`.
 *
 * @example excludedFor(resolveProviderSwitches({ openai: { rolloutPercent: 0 } }, {}), 'a1') // [{ provider: 'openai', reason: 'rollout', rolloutPercent: 0 }]
 */
export function excludedFor(switches: ProviderSwitches, agentId: string): readonly Exclusion[] {
  const out: Exclusion[] = [];
  for (const p of PROVIDER_IDS) {
    const s = switches[p];
    if (s.disabledBy !== null) out.push({ provider: p, reason: s.disabledBy, rolloutPercent: s.rolloutPercent });
    else if (s.rolloutPercent < 100 && rolloutBucket(p, agentId) >= s.rolloutPercent)
      out.push({ provider: p, reason: 'rollout', rolloutPercent: s.rolloutPercent });
  }
  return out;
}

/** Says, for a `no-provider` refusal, which switches kept providers from the agent and how to change that. */
export function describeExclusions(excluded: readonly Exclusion[]): string {
  return excluded
    .map((e) =>
      e.reason === 'option'
        ? `${e.provider} is switched off (providers.${e.provider}.enabled: false)`
        : e.reason === 'env'
          ? `${e.provider} is switched off (${DISABLE_PROVIDERS_ENV})`
          : `${e.provider} admits ${e.rolloutPercent}% of agents and this one is outside that share (providers.${e.provider}.rolloutPercent)`,
    )
    .join('; ');
}
