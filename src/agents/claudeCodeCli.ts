import { ANTHROPIC_AUTH_TOKEN_ENV, CLAUDE_OAUTH_ENV } from '../credentials';
import { AgentvisorError } from '../errors';
import { classifyClaudeCodeResult, safeFailureMessage } from '../providers';
import type { AgentHome } from './agentHome';
import { DEFAULT_SANDBOX_MODE, sandboxArgs } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import { agentProcessEnv } from './agentProcessEnv';
import { describeExit, inLocalZone, stderrExcerpt } from './agentRunReading';
import type { AgentRunReading, PermissionDenial } from './agentRunReading';
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
  /** What the agent may do in its working directory (docs/agents.md). @default 'workspace-write' */
  readonly sandbox?: SandboxMode;
}

/**
 * A Claude login reaches a session twice: CLAUDE_CODE_OAUTH_TOKEN for Claude Code and
 * ANTHROPIC_AUTH_TOKEN for the SDK. Given both, Claude Code uses ANTHROPIC_AUTH_TOKEN as a plain
 * Bearer without the oauth beta, which the API refuses, so the CLI gets only its own variable.
 */
function claudeCodeSessionEnv(agentEnv: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (agentEnv[CLAUDE_OAUTH_ENV] === undefined || agentEnv[ANTHROPIC_AUTH_TOKEN_ENV] === undefined) return agentEnv;
  const { [ANTHROPIC_AUTH_TOKEN_ENV]: _sdkToken, ...rest } = agentEnv;
  return rest;
}

/**
 * The argv and env of a headless Claude Code run: `claude -p --verbose --output-format stream-json
 * --include-partial-messages <permission flags> -- <task>` (one JSON line per event, so usage is
 * read as it streams: the partial messages carry each message's final output count) with the
 * session's env (less ANTHROPIC_AUTH_TOKEN beside a login), the agent's own HOME and CLAUDE_CONFIG_DIR, and a bounded
 * `CLAUDE_CODE_MAX_RETRIES`. The task is one argv element after `--`, so text starting with `-`
 * is never read as an option.
 *
 * @example
 * const { args, env } = claudeCodeInvocation({ task: 'fix the test', agentEnv: agent.env, home });
 * // args: ['-p', '--verbose', '--output-format', 'stream-json', '--include-partial-messages',
 * //        '--permission-mode', 'acceptEdits', '--settings', '{"sandbox":…}', '--', 'fix the test']
 */
export function claudeCodeInvocation(input: ClaudeCodeInvocationInput): AgentInvocation {
  const maxRetries = input.maxRetries ?? DEFAULT_CLAUDE_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_CLAUDE_MAX_RETRIES) {
    throw new AgentvisorError(
      'invalid-option',
      `claudeMaxRetries must be a whole number from 0 to ${MAX_CLAUDE_MAX_RETRIES}, got ${JSON.stringify(maxRetries)}`,
      {
        details: { field: 'claudeMaxRetries' },
      },
    );
  }
  const env = agentProcessEnv(
    claudeCodeSessionEnv(input.agentEnv),
    {
      HOME: input.home.home,
      CLAUDE_CONFIG_DIR: input.home.claudeConfigDir,
      TMPDIR: input.home.tmpDir,
      CLAUDE_CODE_MAX_RETRIES: String(maxRetries),
    },
    input.hostEnv,
  );
  const sandbox = sandboxArgs('claude-code', input.sandbox ?? DEFAULT_SANDBOX_MODE);
  return {
    args: [
      '-p',
      '--verbose',
      '--output-format',
      'stream-json',
      '--include-partial-messages',
      ...sandbox,
      '--',
      input.task,
    ],
    env,
  };
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

/** Where a refused tool call was aimed, by the input fields Claude Code's tools use. */
const TARGET_FIELDS = ['file_path', 'notebook_path', 'path', 'command', 'url', 'pattern'] as const;

/**
 * The result's `permission_denials` (`[{ tool_name, tool_use_id, tool_input }]`) as `{ tool, target }`:
 * never the content the agent meant to write, targets masked and cut short.
 *
 * @example permissionDenials([{ tool_name: 'Write', tool_input: { file_path: '/w/a.txt', content: '…' } }]) // [{ tool: 'Write', target: '/w/a.txt' }]
 */
export function permissionDenials(value: unknown): PermissionDenial[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((entry) => {
    const input = isRecord(entry.tool_input) ? entry.tool_input : {};
    const field = TARGET_FIELDS.find((name) => typeof input[name] === 'string');
    const raw = field === undefined ? null : (input[field] as string);
    const target = raw === null ? null : safeFailureMessage(raw.length > 200 ? `${raw.slice(0, 199)}…` : raw);
    return { tool: typeof entry.tool_name === 'string' ? entry.tool_name.slice(0, 64) : 'unknown', target };
  });
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
export function readClaudeCodeRun(result: ProcessResult, now: number, timeZone?: string): AgentRunReading {
  const object = resultObject(result.stdout);
  if (object === null) {
    const excerpt = stderrExcerpt(result.stderr);
    return {
      type: 'agent-failure',
      message: `Claude Code ${describeExit(result)} without printing a result${excerpt === '' ? '' : `: ${excerpt}`}`,
    };
  }
  const outcome = inLocalZone((zone) => classifyClaudeCodeResult(object, { now, timeZone: zone }), timeZone);
  if (!outcome.ok) return { type: 'provider-failure', failure: outcome };
  if (result.exitCode !== 0)
    return {
      type: 'agent-failure',
      message: `Claude Code reported success but ${describeExit(result)}`,
      usage: outcome.usage,
    };
  return {
    type: 'success',
    usage: outcome.usage,
    result: typeof object.result === 'string' ? object.result : '',
    permissionDenials: permissionDenials(object.permission_denials),
  };
}
