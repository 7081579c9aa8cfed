import type { Command } from 'commander';
import type { LogLevel } from '../observability';
import { maskKeyLike } from '../providers';
import { defaultClaudeHome, defaultHome } from '../orchestrator/options';

/** The global options every command reads (`--home`, `--log-level`, `--json`). */
export interface GlobalOptions {
  home?: string;
  logLevel: LogLevel;
  json?: boolean;
}

/** What a command needs from the global options and the environment. */
export interface CommandContext {
  /** Codex's folder and ours: `--home`, else `$CODEX_HOME`, else `~/.codex`. */
  readonly home: string;
  /** Claude Code's folder: `$CLAUDE_CONFIG_DIR`, else `~/.claude`. */
  readonly claudeHome: string;
  readonly json: boolean;
  readonly logLevel: LogLevel;
}

export function commandContext(command: Command): CommandContext {
  const global = command.optsWithGlobals<GlobalOptions>();
  return {
    home: global.home !== undefined && global.home.trim() !== '' ? global.home : defaultHome(process.env),
    claudeHome: defaultClaudeHome(process.env),
    json: global.json === true,
    logLevel: global.logLevel,
  };
}

/** Hides key-shaped text in anything the CLI prints (see maskKeyLike). */
export const redactSecrets = maskKeyLike;

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
