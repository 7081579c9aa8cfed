import { AgentvisorError } from '../errors';
import type { OrchestratorOptions } from '../orchestrator/options';
import { readConfigFile } from './configFile';
import type { ConfigFileSettings } from './configTypes';

type PerProvider<T> = Partial<Record<string, T>>;

/** Two per-provider groups merged provider by provider and field by field, `over` winning; undefined when neither has one. */
function mergePerProvider<T extends object>(
  under: PerProvider<T> | undefined,
  over: PerProvider<T> | undefined,
): PerProvider<T> | undefined {
  if (under === undefined || over === undefined) return over ?? under;
  // Not an object: left for the option's own check to refuse with its message.
  if (typeof over !== 'object' || over === null) return over;
  const out: Record<string, T | undefined> = { ...under };
  for (const [provider, given] of Object.entries(over)) {
    const base = under[provider];
    out[provider] = base !== undefined && typeof given === 'object' && given !== null ? { ...base, ...given } : given;
  }
  return out;
}

/**
 * Options given in code (or flags) over a config file's settings: `limits` and `providers` merge
 * per provider and per field, so `{ limits: { claude: { maxConcurrent: 2 } } }` keeps the file's
 * `dailyLimit` for claude; any other option given replaces the file's value whole.
 *
 * @example
 * overlayConfig({ limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } }, ledger: 'file' }, { limits: { claude: { maxConcurrent: 2 } } })
 * // { limits: { claude: { dailyLimit: 2000000, maxConcurrent: 2 } }, ledger: 'file' }
 */
export function overlayConfig(settings: ConfigFileSettings, options: OrchestratorOptions): OrchestratorOptions {
  const { $schema: _schema, limits, providers, ...rest } = settings;
  const out: OrchestratorOptions = { ...rest, ...withoutUndefined(options) };
  const mergedLimits = mergePerProvider(limits, options.limits);
  const mergedProviders = mergePerProvider(providers, options.providers);
  return {
    ...out,
    ...(mergedLimits === undefined ? {} : { limits: mergedLimits }),
    ...(mergedProviders === undefined ? {} : { providers: mergedProviders }),
  };
}

/** An option set to `undefined` is an option left out: it must not hide the file's value. */
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * The `configFile` option: the file's settings under the options given. The file must exist;
 * `home` is where a symlinked path must lead.
 *
 * @example withConfigFile({ configFile: '/etc/agentvisor.json', limits: { openai: { maxConcurrent: 2 } } }, '/home/me/.codex')
 */
export function withConfigFile(options: OrchestratorOptions, home: string): OrchestratorOptions {
  const { configFile, ...given } = options;
  if (configFile === undefined) return options;
  if (typeof configFile !== 'string' || configFile.trim() === '') {
    throw new AgentvisorError(
      'invalid-option',
      `configFile must be the path of a JSON config file, got ${JSON.stringify(configFile)?.slice(0, 60)}`,
      { details: { option: 'configFile' } },
    );
  }
  const loaded = readConfigFile(configFile, { home, required: true });
  return loaded === null ? given : overlayConfig(loaded.settings, given);
}
