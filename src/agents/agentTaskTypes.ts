import type { ErrorCode } from '../errors';
import type { ProviderId } from '../providers';
import type { AgentChoice, AgentCliId } from './agentCli';
import type { PermissionDenial } from './agentRunReading';
import type { SandboxMode } from './agentSandbox';

export interface AgentTaskOptions {
  /** What the agent is asked to do (one argv element: never parsed by a shell). */
  readonly task: string;
  /** Tokens the task is expected to use: the admission estimate (1 to 1e9). */
  readonly estimatedTokens: number;
  /** The CLI to start with; the other one still takes over on a fallback. @default 'auto' (the orchestrator's provider priority) */
  readonly agent?: AgentChoice;
  /** @default a generated `task-…` id */
  readonly agentId?: string;
  /** The agent's working directory (the project it works on). With `worktree`, the repository the worktree is made from. @default process.cwd() */
  readonly cwd?: string;
  /**
   * What the agent may do in its working directory: `read-only`, `workspace-write` (edit files
   * under it and run commands there) or `full-access` (no permission checks, no sandbox).
   * docs/agents.md maps each mode to the CLIs' own flags. @default 'workspace-write'
   */
  readonly sandbox?: SandboxMode;
  /**
   * Hard cap on the task's counted usage (every run, fallbacks included): when it is passed, the
   * agent's process group is stopped and the task ends with `token-limit`. @default no cap
   */
  readonly maxTokens?: number;
  /**
   * Run in a new git worktree of `cwd`'s repository, on a new branch `agentvisor/<agentId>` from
   * HEAD; when the task ends its changes are committed on that branch and the worktree is removed.
   * The main checkout must be clean; it is never touched. @default false
   */
  readonly worktree?: boolean;
  /** From admission, the task (every run and retry delay) ends with `agent-failed` after this long. @default 600000 (10 min) */
  readonly timeoutMs?: number;
  /** How long to wait in the admission queue for a slot and budget; 0 refuses at once. @default 0 */
  readonly waitMs?: number;
  /** Aborting stops the task: a waiting admission is dropped, a running CLI's process group is stopped, the session released. */
  readonly signal?: AbortSignal;
  /**
   * Aborting drops the task's admission while it still waits in the queue (it ends `stopped`, never
   * admitted) and does nothing once it runs: how a batch stops dispatching without stopping agents.
   */
  readonly admissionSignal?: AbortSignal;
  /** `CLAUDE_CODE_MAX_RETRIES` for Claude Code runs (0–10): agentvisor retries and falls back itself. @default 0 */
  readonly claudeMaxRetries?: number;
  /** Output kept per stream of each run. @default 16 MiB */
  readonly maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL when a run is stopped. @default 2000 */
  readonly killGraceMs?: number;
  /** Where `AGENTVISOR_CLAUDE_BIN` / `AGENTVISOR_CODEX_BIN` and `PATH` are read (never passed to the agent whole). @default process.env */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /** Where the per-task temp homes are created. @default os.tmpdir() */
  readonly tempDir?: string;
  /** Lifecycle events, for progress displays and tests. */
  readonly onEvent?: (event: AgentTaskEvent) => void;
}

/** What happens during a task, in order. */
export type AgentTaskEvent =
  | {
      readonly type: 'admitted';
      readonly agentId: string;
      readonly sessionId: string;
      readonly provider: ProviderId;
      readonly allocatedTokens: number;
    }
  | {
      readonly type: 'run.started';
      readonly agentId: string;
      readonly agent: AgentCliId;
      readonly provider: ProviderId;
      readonly pid: number | undefined;
      readonly run: number;
    }
  | {
      readonly type: 'run.ended';
      readonly agentId: string;
      readonly agent: AgentCliId;
      readonly provider: ProviderId;
      readonly pid: number | undefined;
      readonly run: number;
      readonly exitCode: number | null;
      readonly durationMs: number;
      /** `success`, a failure kind (`auth`, `overloaded`, …), `agent-failure`, `timeout`, `stopped` or `not-started`. */
      readonly outcome: string;
    }
  | {
      readonly type: 'fallback';
      readonly agentId: string;
      readonly from: ProviderId;
      readonly to: ProviderId;
      readonly reason: string;
    }
  | {
      readonly type: 'retry';
      readonly agentId: string;
      readonly provider: ProviderId;
      readonly delayMs: number;
      readonly reason: string;
    }
  /** Usage counted as the agent streamed it; the totals are the task's so far (every run). */
  | {
      readonly type: 'usage';
      readonly agentId: string;
      readonly provider: ProviderId;
      readonly inputTokens: number;
      readonly outputTokens: number;
      readonly totalTokens: number;
    }
  /** Throttled by the server before doing any work: the session gave its slot back, waited `waitedMs` in the queue and runs again on `provider`. */
  | {
      readonly type: 'requeued';
      readonly agentId: string;
      readonly provider: ProviderId;
      readonly waitedMs: number;
      readonly reason: string;
    };

export interface AgentTaskUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
}

export interface AgentTaskFallback {
  readonly from: ProviderId;
  readonly to: ProviderId;
  /** The failure kind that caused it (`overloaded`, `auth`, `rate-limit`, …). */
  readonly reason: string;
}

/** Why a task did not succeed: a stable code (docs/errors.md) and a message that says what to do. Never a secret. */
export interface AgentTaskError {
  readonly code: ErrorCode;
  readonly message: string;
  /**
   * Set when a usage limit ended the task (no provider was left to take it): when the limited
   * provider resets (epoch ms). The task did no harm and can run again then.
   */
  readonly usageLimit?: { readonly provider: ProviderId; readonly resetAt: number };
}

/**
 * How a task ended (architecture §6): `ok`, the provider and CLI it ended on, the session, the
 * usage reported across every run (failed runs included), the fallbacks taken and the agent's
 * final text.
 */
export interface AgentTaskResult {
  readonly ok: boolean;
  readonly agentId: string;
  /** The provider of the last run; null when the task was never admitted. */
  readonly provider: ProviderId | null;
  /** The CLI of the last run; null when none was chosen. */
  readonly agent: AgentCliId | null;
  readonly sessionId: string | null;
  readonly usage: AgentTaskUsage;
  readonly fallbacks: readonly AgentTaskFallback[];
  /** The agent's final answer; null unless `ok`. */
  readonly result: string | null;
  /** CLI processes started for the task (retries and fallbacks included). */
  readonly runs: number;
  readonly durationMs: number;
  /** The mode the agent ran with. */
  readonly sandbox: SandboxMode;
  /** Tool calls the agent's permissions refused, over every run (empty when none). */
  readonly permissionDenials: readonly PermissionDenial[];
  /** Set for a task run in a worktree: its branch, the commit holding the agent's changes (null when it changed nothing) and the files changed from HEAD. */
  readonly worktree?: TaskWorktreeResult;
  /** Set when `ok` is false. */
  readonly error?: AgentTaskError;
}

export interface TaskWorktreeResult {
  readonly branch: string;
  readonly commit: string | null;
  readonly filesChanged: readonly string[];
  /** Set when the worktree could not be committed and was kept (it holds the agent's work): its path. */
  readonly keptAt?: string;
}
