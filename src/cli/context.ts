import type { Command } from 'commander';
import { SecretMasker } from '../observability';
import type { LogLevel, ObservabilityFlags } from '../observability';
import { defaultClaudeHome, defaultHome } from '../orchestrator/options';

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
}

function nonBlank(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/**
 * The global options and environment a command runs with.
 *
 * @example const context = commandContext(command); context.home // '/home/me/.codex'
 */
export function commandContext(command: Command): CommandContext {
  const global = command.optsWithGlobals<GlobalOptions>();
  return {
    home: nonBlank(global.home) ?? nonBlank(process.env.AGENTVISOR_HOME) ?? defaultHome(process.env),
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

/** Prints a result: for people, the given lines on stdout; with `--json`, the object as the last stdout line. */
export function emit(context: CommandContext, result: unknown, lines: () => readonly string[]): void {
  if (context.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const text = lines().join('\n');
  process.stdout.write(`${redactSecrets(text)}\n`);
}

/** Notes for people (warnings, advice) go to stderr in every mode, so stdout stays the result. */
export function note(line: string): void {
  process.stderr.write(`${redactSecrets(line)}\n`);
}
