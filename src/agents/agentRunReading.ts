import type { ProviderFailure, TokenUsage } from '../providers';
import { safeFailureMessage } from '../providers';
import type { ProcessResult } from './processRunner';

/**
 * What one agent CLI run came to:
 * - `success`: the CLI finished the task; `usage` is what it reported, `result` its final text;
 * - `provider-failure`: the provider refused or failed (classified: auth, rate-limit, overloaded…);
 *   `failure.usage` holds tokens the run spent anyway;
 * - `agent-failure`: the CLI itself failed without output agentvisor can read (a crash, a bad
 *   install): no provider is to blame, so there is no fallback.
 */
/** A tool call the agent's permissions refused: the tool (`Write`, `Edit`, `Bash`, …) and what it was aimed at (a path, a command). */
export interface PermissionDenial {
  readonly tool: string;
  /** The file path, command or URL, masked and cut to 200 characters; null when the call named none. */
  readonly target: string | null;
}

export type AgentRunReading =
  | {
      readonly type: 'success';
      readonly usage: TokenUsage;
      readonly result: string;
      readonly permissionDenials: readonly PermissionDenial[];
    }
  | { readonly type: 'provider-failure'; readonly failure: ProviderFailure }
  | { readonly type: 'agent-failure'; readonly message: string; readonly usage?: TokenUsage };

/**
 * A short, safe excerpt of a CLI's stderr for error messages: its last non-empty lines, key-shaped
 * text and tokens masked, at most 300 characters.
 *
 * @example stderrExcerpt('boom\n') // 'boom'
 */
export function stderrExcerpt(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return safeFailureMessage(lines.slice(-3).join(' | '));
}

/**
 * How a run that printed nothing usable ended.
 *
 * @example describeExit(result) // 'exited with code 1', or 'was ended by SIGKILL'
 */
export function describeExit(result: ProcessResult): string {
  if (result.signal !== null) return `was ended by ${result.signal}`;
  return `exited with code ${result.exitCode ?? 'unknown'}`;
}

/**
 * The zone this process runs in (`TZ`, else the system's): the agent CLIs it starts print reset times
 * without a zone in the same local time (Codex's "try again at 3:39 PM").
 *
 * @example localTimeZone() // 'Europe/Berlin'
 */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * A run's classification, in `timeZone` when given, else in this process's zone, which is looked up
 * only for a failure: a success reads no reset time, and Intl's first use costs the start of every
 * `agentvisor run` a few milliseconds (test/cli/runStartup.int checks that a run makes no Intl call).
 *
 * @example const outcome = inLocalZone((zone) => classifyCodexEvents(lines, { now, timeZone: zone }));
 */
export function inLocalZone<T extends { readonly ok: boolean }>(
  classify: (timeZone: string | undefined) => T,
  timeZone?: string,
): T {
  if (timeZone !== undefined) return classify(timeZone);
  const withoutZone = classify(undefined);
  return withoutZone.ok ? withoutZone : classify(localTimeZone());
}
