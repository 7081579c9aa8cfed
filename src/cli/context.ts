import type { Command } from 'commander';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { defaultConfigFile, readConfigFile } from '../config/configFile';
import type { LoadedConfig } from '../config/configTypes';
import { overlayConfig } from '../config/overlayConfig';
import { SecretMasker } from '../observability';
import type { LogLevel, ObservabilityFlags } from '../observability';
import { defaultClaudeHome } from '../credentials/sources/claudeCodeCredentials';
import { DEFAULT_LIMITS, defaultHome } from '../orchestrator/options';
import type { OrchestratorOptions, ProviderLimits } from '../orchestrator/options';

/** The global options every command reads (`--home`, `--log-level`, `--json`; observability: `--metrics-port`, `--inspect`, `--audit`). */
export interface GlobalOptions {
  home?: string;
  logLevel: LogLevel;
  json?: boolean;
  metricsPort?: number;
  inspect?: string;
  audit?: boolean;
}

/** What a command needs from the global options and the environment. */
export interface CommandContext extends ObservabilityFlags {
  /** Codex's folder and ours: `--home`, else `$AGENTVISOR_HOME`, else `$CODEX_HOME`, else `~/.codex`. */
  readonly home: string;
  /** Claude Code's folder: `$CLAUDE_CONFIG_DIR`, else `~/.claude`. */
  readonly claudeHome: string;
  readonly json: boolean;
  readonly logLevel: LogLevel;
  /** Where the config file is looked for: `<home>/agentvisor/config.json`. */
  readonly configFile: string;
  /** The config file, read and validated; null when there is none. */
  readonly config: LoadedConfig | null;
}

function nonBlank(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/**
 * The global options, the environment and the config file a command runs with. A config file that
 * cannot be used throws `invalid-config` naming the field (the command exits 2 before doing anything).
 *
 * @example const context = commandContext(command); context.home // '/home/me/.codex'
 */
export function commandContext(command: Command): CommandContext {
  const global = command.optsWithGlobals<GlobalOptions>();
  const home = nonBlank(global.home) ?? nonBlank(process.env.AGENTVISOR_HOME) ?? defaultHome(process.env);
  const configFile = defaultConfigFile(home);
  return {
    home,
    configFile,
    config: readConfigFile(configFile, { home }),
    claudeHome: defaultClaudeHome(process.env),
    json: global.json === true,
    logLevel: global.logLevel,
    metricsPort: global.metricsPort ?? null,
    inspectUrl: global.inspect ?? null,
    audit: global.audit ?? null,
  };
}

/**
 * The CLI process's masker: the logger, the orchestrator and everything printed share it, so a
 * credential handed to an agent is masked by value wherever it would appear.
 */
export const cliSecretMasker = new SecretMasker();

/** Hides registered secrets ([REDACTED]), key-shaped text (its hint) and JWTs in anything the CLI prints. */
export const redactSecrets = (text: string): string => cliSecretMasker.mask(text);

/**
 * Prints a result: for people, the given lines on stdout; with `--json`, the object as the last
 * stdout line. Both go through the masker: a field built from user input (a base URL holding a
 * pasted key) must not print what the text form hides.
 */
export function emit(context: CommandContext, result: unknown, lines: () => readonly string[]): void {
  if (context.json) {
    process.stdout.write(`${redactSecrets(JSON.stringify(result))}\n`);
    return;
  }
  const text = lines().join('\n');
  process.stdout.write(`${redactSecrets(text)}\n`);
}

/** Notes for people (warnings, advice) go to stderr in every mode, so stdout stays the result. */
export function note(line: string): void {
  process.stderr.write(`${redactSecrets(line)}\n`);
}

/**
 * What `run` and `batch` hand the orchestrator besides home and observability: the file ledger
 * under `--home` by default, the config file's settings over it, and flags (`--max-concurrent`,
 * `--daily-limit`) over both, per provider and field.
 *
 * @example createOrchestrator({ home: context.home, ...cliSettings(context, { claude: { maxConcurrent: 3 } }) })
 */
export function cliSettings(
  context: Pick<CommandContext, 'config'>,
  limits: Partial<Record<ProviderId, ProviderLimits>> = {},
): OrchestratorOptions {
  return overlayConfig({ ledger: 'file', ...context.config?.settings }, { limits });
}

/** Where a setting's value came from: the built-in default, the config file, or a flag. */
export type SettingSource = 'default' | 'config' | 'flag';

/** A provider's limits in force, each with where it came from. */
export interface ConfiguredLimits {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
  readonly from: { readonly dailyLimit: SettingSource; readonly maxConcurrent: SettingSource };
}

/**
 * The limits in force per provider: flags over the config file over the defaults.
 *
 * @example configuredLimits(context.config).claude // { dailyLimit: 2000000, maxConcurrent: 10, from: { dailyLimit: 'config', maxConcurrent: 'default' } }
 */
export function configuredLimits(
  config: LoadedConfig | null,
  flags: Partial<Record<ProviderId, ProviderLimits>> = {},
): Record<ProviderId, ConfiguredLimits> {
  const pick = (p: ProviderId, field: keyof ProviderLimits): [number, SettingSource] => {
    const flag = flags[p]?.[field];
    if (flag !== undefined) return [flag, 'flag'];
    const fromFile = config?.settings.limits?.[p]?.[field];
    return fromFile !== undefined ? [fromFile, 'config'] : [DEFAULT_LIMITS[p][field], 'default'];
  };
  const entries = PROVIDER_IDS.map((p): [ProviderId, ConfiguredLimits] => {
    const [dailyLimit, daily] = pick(p, 'dailyLimit');
    const [maxConcurrent, atOnce] = pick(p, 'maxConcurrent');
    return [p, { dailyLimit, maxConcurrent, from: { dailyLimit: daily, maxConcurrent: atOnce } }];
  });
  return Object.fromEntries(entries) as Record<ProviderId, ConfiguredLimits>;
}

/**
 * The "limits from" cell of a provider: one source, or each field's.
 *
 * @example limitSourceCell(limits.claude) // 'config' or 'daily: config, at once: default'
 */
export function limitSourceCell(limits: ConfiguredLimits): string {
  const { dailyLimit, maxConcurrent } = limits.from;
  return dailyLimit === maxConcurrent ? dailyLimit : `daily: ${dailyLimit}, at once: ${maxConcurrent}`;
}

/** The config file looked at, and whether there was one (the `config` field of status, providers and quota under `--json`). */
export interface ConfigSummary {
  readonly file: string;
  readonly loaded: boolean;
}

/**
 * The config file a command looked at, for `--json` results.
 *
 * @example configSummary(context) // { file: '/home/me/.codex/agentvisor/config.json', loaded: false }
 */
export function configSummary(context: Pick<CommandContext, 'config' | 'configFile'>): ConfigSummary {
  return { file: context.config?.file ?? context.configFile, loaded: context.config !== null };
}

/**
 * One line for people saying which config file the limits (and other settings) came from.
 *
 * @example configLine(context) // 'Config file: /home/me/.codex/agentvisor/config.json (limits, fallbackChain)'
 */
export function configLine(context: Pick<CommandContext, 'config' | 'configFile'>): string {
  if (context.config === null) return `Config file: none (${context.configFile} does not exist; the defaults apply)`;
  const groups = Object.keys(context.config.settings).filter((k) => k !== '$schema');
  return `Config file: ${context.config.file} (${groups.length === 0 ? 'sets nothing' : `sets ${groups.join(', ')}`})`;
}
