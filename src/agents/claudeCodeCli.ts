import { AgentvisorError } from '../errors';
import { classifyClaudeCodeResult } from '../providers';
import type { AgentHome } from './agentHome';
import { agentProcessEnv } from './agentProcessEnv';
import { describeExit, stderrExcerpt } from './agentRunReading';
import type { AgentRunReading } from './agentRunReading';
import type { AgentInvocation } from './agentInvocation';
import type { ProcessResult } from './processRunner';

/** agentvisor decides about retries and fallback itself, so Claude Code's own retries are off by default. */
export const DEFAULT_CLAUDE_MAX_RETRIES = 0;
export const MAX_CLAUDE_MAX_RETRIES = 10;

export interface ClaudeCodeInvocationInput {
  readonly task: string;
  /** The session's env (`agent.env`). */
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly home: AgentHome;
  /** `CLAUDE_CODE_MAX_RETRIES`, 0 to 10. @default 0 */
  readonly maxRetries?: number;
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * The argv and env of a headless Claude Code run: `claude -p --output-format json -- <task>` with
 * the session's env, the agent's own HOME and CLAUDE_CONFIG_DIR, and a bounded
 * `CLAUDE_CODE_MAX_RETRIES`. The task is one argv element after `--`, so text starting with `-`
 * is never read as an option.
 *
 * @example
 * const { args, env } = claudeCodeInvocation({ task: 'fix the test', agentEnv: agent.env, home });
 * // args: ['-p', '--output-format', 'json', '--', 'fix the test']
 */
export function claudeCodeInvocation(input: ClaudeCodeInvocationInput): AgentInvocation {
  const maxRetries = input.maxRetries ?? DEFAULT_CLAUDE_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_CLAUDE_MAX_RETRIES) {
    throw new AgentvisorError('invalid-option', `claudeMaxRetries must be a whole number from 0 to ${MAX_CLAUDE_MAX_RETRIES}, got ${JSON.stringify(maxRetries)}`, {
      details: { field: 'claudeMaxRetries' },
    });
  }
  const env = agentProcessEnv(
    input.agentEnv,
    { HOME: input.home.home, CLAUDE_CONFIG_DIR: input.home.claudeConfigDir, CLAUDE_CODE_MAX_RETRIES: String(maxRetries) },
    input.hostEnv,
  );
  return { args: ['-p', '--output-format', 'json', '--', input.task], env };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `{"type":"result",…}` object: the whole stdout, or the last line that is one. */
function resultObject(stdout: string): Record<string, unknown> | null {
  const candidates = [stdout.trim(), ...stdout.trim().split(/\r?\n/).reverse()];
  for (const text of candidates) {
    if (!text.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(text);
      if (isRecord(value) && value.type === 'result') return value;
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * Reads a finished Claude Code run: its JSON result through `classifyClaudeCodeResult` (usage, or
 * a classified provider failure with any usage it reported). A run that printed no result object
 * is an `agent-failure` (with its exit and a masked stderr excerpt): Claude Code crashed or was
 * misconfigured, no provider answered.
 *
 * @example
 * readClaudeCodeRun(await runProcess({ command, ...claudeCodeInvocation(input), timeoutMs, maxOutputBytes }), Date.now())
 */
export function readClaudeCodeRun(result: ProcessResult, now: number): AgentRunReading {
  const object = resultObject(result.stdout);
  if (object === null) {
    const excerpt = stderrExcerpt(result.stderr);
    return { type: 'agent-failure', message: `Claude Code ${describeExit(result)} without printing a result${excerpt === '' ? '' : `: ${excerpt}`}` };
  }
  const outcome = classifyClaudeCodeResult(object, { now });
  if (!outcome.ok) return { type: 'provider-failure', failure: outcome };
  if (result.exitCode !== 0) return { type: 'agent-failure', message: `Claude Code reported success but ${describeExit(result)}`, usage: outcome.usage };
  return { type: 'success', usage: outcome.usage, result: typeof object.result === 'string' ? object.result : '' };
}
