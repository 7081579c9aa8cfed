import type { Command } from 'commander';
import type { LogLevel } from '../observability';
import { keyHint } from '../providers';
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

/** Anything that looks like a provider key: `sk-` and 20 or more key characters, outside a word (format examples such as `sk-ant-api03-…` stay). */
const KEY_LIKE = /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/g;

/**
 * Replaces key-shaped text with its hint. A safety net for text the CLI did not compose itself
 * (commander's usage errors quote mistyped options such as `--apikey=sk-…`).
 */
export function redactSecrets(text: string): string {
  return text.replace(KEY_LIKE, (key) => keyHint(key, key.startsWith('sk-ant-') ? 'sk-ant-' : 'sk-'));
}

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
