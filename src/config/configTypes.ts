import type { ProviderId } from '../../machines/providers';
import type { ProviderPriority } from '../credentials/providerPriority';
import type { LedgerSharing } from '../orchestrator/ledgerOption';
import type { ProviderLimits } from '../orchestrator/options';
import type { ProviderSwitchOptions } from '../orchestrator/providerSwitches';
import type { FailurePolicyOptions } from '../providers/failurePolicy';

/** A ledger a JSON file can name: no `{ instance }`, and Redis by URL only. */
export type ConfigLedger =
  | 'memory'
  | 'file'
  | (LedgerSharing & ({ readonly file: string } | { readonly redis: string; readonly keyPrefix?: string }));

/**
 * What a config file may set: the `createOrchestrator` options of the same names, in JSON.
 *
 * @example
 * const settings: ConfigFileSettings = { limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } }, ledger: 'file' };
 */
export interface ConfigFileSettings {
  /** The JSON Schema the file follows, for editors; agentvisor ignores it. */
  readonly $schema?: string;
  readonly limits?: Partial<Record<ProviderId, ProviderLimits>>;
  readonly fallbackChain?: readonly ProviderId[];
  readonly providerPriority?: ProviderPriority;
  readonly providers?: Partial<Record<ProviderId, ProviderSwitchOptions>>;
  readonly failurePolicy?: FailurePolicyOptions;
  readonly ledger?: ConfigLedger;
}

/** The option groups a config file may set, in the order the docs list them. */
export const CONFIG_GROUPS = [
  'limits',
  'fallbackChain',
  'providerPriority',
  'providers',
  'failurePolicy',
  'ledger',
] as const;
export type ConfigGroup = (typeof CONFIG_GROUPS)[number];

/**
 * A config file that was read and validated.
 *
 * @example const loaded: LoadedConfig = { file: '/home/me/.codex/agentvisor/config.json', settings: { fallbackChain: ['openai', 'claude'] } };
 */
export interface LoadedConfig {
  /** The file's path as given, made absolute. */
  readonly file: string;
  readonly settings: ConfigFileSettings;
}

/** One thing wrong in a config file: the field's path (`limits.claude.dailyLimit`, `fallbackChain[1]`) and what is expected there. */
export interface ConfigProblem {
  readonly field: string;
  readonly message: string;
}

/** What validating a parsed config file gave. */
export type ConfigValidation =
  | { readonly ok: true; readonly settings: ConfigFileSettings }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };
