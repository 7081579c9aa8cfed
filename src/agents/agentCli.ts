import type { ProviderId } from '../providers';

/** The agent CLIs agentvisor can run: Claude Code (for the `claude` provider) and Codex (for `openai`). */
export const AGENT_CLI_IDS = ['claude-code', 'codex'] as const;
export type AgentCliId = (typeof AGENT_CLI_IDS)[number];

/** Which CLI a task starts with: a named one, or `auto` (the provider the orchestrator picks). */
export type AgentChoice = AgentCliId | 'auto';

export interface AgentCliSpec {
  readonly id: AgentCliId;
  /** The provider whose sessions this CLI runs. */
  readonly provider: ProviderId;
  /** The command name looked up on PATH and in node_modules/.bin. */
  readonly bin: string;
  /** The variable that overrides where the binary is. */
  readonly binEnv: string;
  /** The npm package that installs it. */
  readonly npmPackage: string;
}

/**
 * The two agent CLIs and how to find them.
 *
 * @example AGENT_CLIS['claude-code'].binEnv // 'AGENTVISOR_CLAUDE_BIN'
 */
export const AGENT_CLIS: Readonly<Record<AgentCliId, AgentCliSpec>> = {
  'claude-code': {
    id: 'claude-code',
    provider: 'claude',
    bin: 'claude',
    binEnv: 'AGENTVISOR_CLAUDE_BIN',
    npmPackage: '@anthropic-ai/claude-code',
  },
  codex: { id: 'codex', provider: 'openai', bin: 'codex', binEnv: 'AGENTVISOR_CODEX_BIN', npmPackage: '@openai/codex' },
};

/**
 * The CLI that runs a session on the given provider.
 *
 * @example cliForProvider('openai') // 'codex'
 */
export function cliForProvider(provider: ProviderId): AgentCliId {
  return provider === 'claude' ? 'claude-code' : 'codex';
}

/**
 * Reads an agent name as users type it: `claude` and `claude-code` are Claude Code, `codex` is
 * Codex, `auto` lets the orchestrator pick. Returns `null` for anything else.
 *
 * @example parseAgentChoice('claude') // 'claude-code'
 */
export function parseAgentChoice(value: unknown): AgentChoice | null {
  if (value === 'auto') return 'auto';
  if (value === 'claude' || value === 'claude-code') return 'claude-code';
  if (value === 'codex') return 'codex';
  return null;
}
