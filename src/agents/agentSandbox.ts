import { AgentvisorError } from '../errors';
import type { AgentCliId } from './agentCli';

/**
 * What an agent may do in its working directory, in one vocabulary for both CLIs:
 * - `read-only`: read files; edits and commands are refused (and reported as denials);
 * - `workspace-write`: edit files under the working directory and run commands there;
 * - `full-access`: no permission checks and no sandbox at all.
 */
export const SANDBOX_MODES = ['read-only', 'workspace-write', 'full-access'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** The mode `run`, `batch` and `runAgentTask` use when none is given: agents that can do their work. */
export const DEFAULT_SANDBOX_MODE: SandboxMode = 'workspace-write';

/**
 * Checks a sandbox mode from options or a tasks file.
 *
 * @example parseSandboxMode('workspace-write') // 'workspace-write'
 */
export function parseSandboxMode(value: unknown, field = 'sandbox'): SandboxMode {
  if (typeof value === 'string' && (SANDBOX_MODES as readonly string[]).includes(value)) return value as SandboxMode;
  throw new AgentvisorError(
    'invalid-option',
    `${field} must be one of ${SANDBOX_MODES.join(', ')}, got ${JSON.stringify(value)}`,
    { details: { field } },
  );
}

/**
 * Claude Code's sandbox settings for workspace-write: commands run without asking inside its
 * sandbox (bubblewrap on Linux), where they can write only under the working directory. Without
 * bubblewrap and socat Claude Code runs no sandbox and refuses those commands (reported as denials).
 */
export const CLAUDE_WORKSPACE_SETTINGS = JSON.stringify({ sandbox: { enabled: true, autoAllowBashIfSandboxed: true } });

/**
 * Claude Code's own mechanism per mode (docs/agents.md has the table; observed with 2.1.197):
 * - read-only: `--permission-mode default`, which in print mode refuses every edit and every command
 *   that is not read-only (Claude Code lists each refusal in the result's `permission_denials`);
 * - workspace-write: `--permission-mode acceptEdits` (edits and file commands under the working
 *   directory are accepted, outside it refused) and the sandbox settings above for other commands.
 *   Not `--allowedTools Bash`: that runs any command anywhere;
 * - full-access: `--permission-mode bypassPermissions` (Claude Code refuses it as root unless
 *   `IS_SANDBOX=1` is passed through).
 */
const CLAUDE_ARGS: Readonly<Record<SandboxMode, readonly string[]>> = {
  'read-only': ['--permission-mode', 'default'],
  'workspace-write': ['--permission-mode', 'acceptEdits', '--settings', CLAUDE_WORKSPACE_SETTINGS],
  'full-access': ['--permission-mode', 'bypassPermissions'],
};

/**
 * Codex's own sandbox per mode: `--sandbox read-only`; `--sandbox workspace-write` with /tmp left
 * out (the agent keeps its private `TMPDIR`), so it writes only under the working directory; or no
 * sandbox and no approvals.
 */
const CODEX_ARGS: Readonly<Record<SandboxMode, readonly string[]>> = {
  'read-only': ['--sandbox', 'read-only'],
  'workspace-write': ['--sandbox', 'workspace-write', '-c', 'sandbox_workspace_write.exclude_slash_tmp=true'],
  'full-access': ['--dangerously-bypass-approvals-and-sandbox'],
};

/**
 * The CLI flags that give an agent the mode's permissions.
 *
 * @example sandboxArgs('codex', 'workspace-write') // ['--sandbox', 'workspace-write']
 */
export function sandboxArgs(cli: AgentCliId, mode: SandboxMode): readonly string[] {
  return cli === 'claude-code' ? CLAUDE_ARGS[mode] : CODEX_ARGS[mode];
}

/**
 * For the run's first progress line.
 *
 * @example describeSandbox('read-only', '/repo') // 'read-only: the agent may read /repo but not edit files or run commands'
 */
export function describeSandbox(mode: SandboxMode, cwd: string): string {
  if (mode === 'read-only') return `read-only: the agent may read ${cwd} but not edit files or run commands`;
  if (mode === 'workspace-write')
    return `workspace-write: the agent may edit files under ${cwd} and run commands there`;
  return 'full-access: WARNING: no permission checks and no sandbox; the agent may change any file this user can and run anything';
}
