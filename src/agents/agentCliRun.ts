import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ProviderId, TokenUsage } from '../providers';
import { DEFAULT_SANDBOX_MODE } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import { watchCodexRollout } from './codexRollout';
import { createLiveUsageReader } from './liveUsage';
import { resolveAgentBinary } from './agentBinary';
import type { AgentCliId } from './agentCli';
import type { AgentHome } from './agentHome';
import type { AgentRunReading } from './agentRunReading';
import { claudeCodeInvocation, readClaudeCodeRun } from './claudeCodeCli';
import { codexInvocation, readCodexRun } from './codexCli';
import { startProcess } from './processRunner';

export interface AgentCliRunInput {
  readonly cli: AgentCliId;
  readonly provider: ProviderId;
  readonly task: string;
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly home: AgentHome;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly killGraceMs: number;
  readonly claudeMaxRetries: number;
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** What the agent may do in its working directory. @default 'workspace-write' */
  readonly sandbox?: SandboxMode;
  /** Called once the process is started (its pid, undefined when it could not start). */
  readonly onStart?: (pid: number | undefined) => void;
  /** Each usage increment as the CLI streams it (a Claude message, a Codex turn), before the run ends. */
  readonly onUsage?: (usage: TokenUsage) => void;
}

/**
 * One CLI run's end: what it printed (read), or why it could not run or finish. `streamed` is the
 * usage already handed to `onUsage`; the rest of the reading's usage (`remainder`) is still to count.
 */
export type AgentCliRunEnd =
  | {
      readonly type: 'read';
      readonly reading: AgentRunReading;
      readonly exitCode: number | null;
      readonly durationMs: number;
      readonly streamed: TokenUsage;
    }
  | {
      readonly type: 'error';
      readonly error: AgentvisorError;
      readonly outcome: 'not-started' | 'timeout' | 'stopped';
      readonly durationMs: number;
      readonly streamed: TokenUsage;
    };

const NOTHING: TokenUsage = { inputTokens: 0, outputTokens: 0 };

/**
 * Runs one agent CLI to its end: finds the binary, builds its argv and env for the session, starts
 * it in its own process group (stdin closed, a timeout, output capped) and reads its output.
 * A missing binary is `agent-not-found`; a timeout `agent-failed`; an abort `stopped`.
 *
 * @example
 * const end = await runAgentCli({
 *   cli: 'claude-code', provider: 'claude', task, agentEnv: agent.env, home, cwd,
 *   timeoutMs: 600_000, maxOutputBytes: 1 << 24, killGraceMs: 2000, claudeMaxRetries: 0, hostEnv: process.env,
 * });
 */
export async function runAgentCli(input: AgentCliRunInput): Promise<AgentCliRunEnd> {
  let command: string;
  try {
    command = resolveAgentBinary(input.cli, { env: input.hostEnv, cwd: input.cwd });
  } catch (error) {
    input.onStart?.(undefined);
    if (isAgentvisorError(error))
      return { type: 'error', error, outcome: 'not-started', durationMs: 0, streamed: NOTHING };
    throw error;
  }
  const sandbox = input.sandbox ?? DEFAULT_SANDBOX_MODE;
  const invocation =
    input.cli === 'claude-code'
      ? claudeCodeInvocation({
          task: input.task,
          agentEnv: input.agentEnv,
          home: input.home,
          maxRetries: input.claudeMaxRetries,
          hostEnv: input.hostEnv,
          sandbox,
        })
      : codexInvocation({
          task: input.task,
          agentEnv: input.agentEnv,
          home: input.home,
          hostEnv: input.hostEnv,
          sandbox,
        });
  const onUsage = input.onUsage ?? (() => undefined);
  // Claude Code streams usage on stdout; Codex only in its rollout file (its stdout has one total at the end).
  const reader = input.cli === 'claude-code' ? createLiveUsageReader('claude-code') : null;
  const rollout = input.cli === 'codex' ? watchCodexRollout(input.home.codexHome, onUsage) : null;
  const running = startProcess({
    command,
    args: invocation.args,
    env: invocation.env,
    cwd: input.cwd,
    stdin: 'ignore',
    timeoutMs: input.timeoutMs,
    maxOutputBytes: input.maxOutputBytes,
    killGraceMs: input.killGraceMs,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    dieWithParent: true,
    ...(reader === null
      ? {}
      : {
          onStdout: (text: string) => {
            for (const usage of reader.push(text)) onUsage(usage);
          },
        }),
  });
  input.onStart?.(running.pid);
  const result = await running.result;
  rollout?.stop();
  const { durationMs } = result;
  if (result.spawnError !== undefined) {
    const missing = result.spawnError.code === 'ENOENT' || result.spawnError.code === 'EACCES';
    const error = new AgentvisorError(
      missing ? 'agent-not-found' : 'agent-failed',
      `${input.cli} could not be started: ${result.spawnError.message}`,
      {
        details: { cli: input.cli, command, reason: result.spawnError.code },
      },
    );
    return { type: 'error', error, outcome: 'not-started', durationMs, streamed: NOTHING };
  }
  const streamed = reader?.counted ?? rollout?.counted ?? NOTHING;
  if (result.aborted)
    return {
      type: 'error',
      error: new AgentvisorError(
        'stopped',
        `${input.cli} was stopped before it finished; its reservation was released`,
      ),
      outcome: 'stopped',
      durationMs,
      streamed,
    };
  if (result.timedOut) {
    const error = new AgentvisorError(
      'agent-failed',
      `${input.cli} did not finish within the task's time limit (${Math.round(input.timeoutMs / 1000)} s left) ` +
        `and was stopped: raise the timeout for long tasks`,
      {
        details: { cli: input.cli, exitCode: result.exitCode, signal: result.signal, timedOut: true },
      },
    );
    return { type: 'error', error, outcome: 'timeout', durationMs, streamed };
  }
  const now = Date.now();
  const read = input.cli === 'claude-code' ? readClaudeCodeRun(result, now) : readCodexRun(result, now);
  const reading =
    read.type === 'success' && rollout !== null
      ? { ...read, permissionDenials: [...read.permissionDenials, ...rollout.denials] }
      : read;
  return { type: 'read', reading, exitCode: result.exitCode, durationMs, streamed };
}
