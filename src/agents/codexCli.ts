import { classifyCodexEvents } from '../providers';
import type { AgentHome } from './agentHome';
import { DEFAULT_SANDBOX_MODE, sandboxArgs } from './agentSandbox';
import type { SandboxMode } from './agentSandbox';
import type { AgentInvocation } from './agentInvocation';
import { agentProcessEnv } from './agentProcessEnv';
import { describeExit, inLocalZone, stderrExcerpt } from './agentRunReading';
import type { AgentRunReading } from './agentRunReading';
import { chatGptLoginFromEnv, writeCodexChatGptAuth } from './codexChatGptAuth';
import type { ProcessResult } from './processRunner';

/** The model provider name agentvisor defines for Codex with `-c model_providers.<name>=…`. */
export const CODEX_PROVIDER_NAME = 'agentvisor';
/** Where Codex sends Responses API requests when the session has no `OPENAI_BASE_URL`. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** How the provider Codex is pointed at authenticates: a key from an env variable, or Codex's own login (auth.json). */
export type CodexProviderAuth = { readonly envKey: string } | { readonly requiresOpenAiAuth: true };

/**
 * The `-c` overrides that send Codex to `baseUrl` (Codex ignores `OPENAI_BASE_URL`): a provider
 * named `agentvisor` speaking the Responses API, with Codex's own retries off (agentvisor retries
 * and falls back itself). Values are TOML strings (JSON string escaping is valid TOML).
 *
 * @example
 * codexProviderOverrides('http://127.0.0.1:4000/v1', { envKey: 'OPENAI_API_KEY' })
 * // ['-c', 'model_provider=agentvisor', '-c',
 * //  'model_providers.agentvisor={name="agentvisor",base_url="http://127.0.0.1:4000/v1",env_key="OPENAI_API_KEY",
 * //  wire_api="responses",request_max_retries=0,stream_max_retries=0}'] (the second value on one line)
 */
export function codexProviderOverrides(baseUrl: string, auth: CodexProviderAuth): string[] {
  const credential = 'envKey' in auth ? `env_key=${JSON.stringify(auth.envKey)}` : 'requires_openai_auth=true';
  const name = JSON.stringify(CODEX_PROVIDER_NAME);
  return [
    '-c',
    `model_provider=${CODEX_PROVIDER_NAME}`,
    '-c',
    `model_providers.${CODEX_PROVIDER_NAME}={name=${name},base_url=${JSON.stringify(baseUrl)},${credential},` +
      `wire_api="responses",request_max_retries=0,stream_max_retries=0}`,
  ];
}

export interface CodexInvocationInput {
  readonly task: string;
  /** The session's env (`agent.env`). */
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly home: AgentHome;
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /** What the agent may do in its working directory (docs/agents.md). @default 'workspace-write' */
  readonly sandbox?: SandboxMode;
  /** For auth.json's `last_refresh`. @default Date.now() */
  readonly now?: number;
}

/**
 * The argv and env of a headless Codex run: `codex exec --skip-git-repo-check --json <sandbox
 * flags> <overrides> -- <task>` (run it with stdin closed) with the session's env, the agent's own HOME and
 * CODEX_HOME.
 * - API key sessions: a provider at `OPENAI_BASE_URL` (default api.openai.com/v1) reading the key
 *   from `OPENAI_API_KEY`.
 * - ChatGPT sessions (`AGENTVISOR_CHATGPT_*`, no key): the login is written to `CODEX_HOME/auth.json`
 *   (0600, no refresh token); with a base URL, a provider with `requires_openai_auth=true` and
 *   `features.apps=false` (no connection to chatgpt.com); without one, Codex's built-in ChatGPT backend.
 *
 * @example
 * const { args, env } = codexInvocation({ task: 'fix the test', agentEnv: agent.env, home });
 */
export function codexInvocation(input: CodexInvocationInput): AgentInvocation {
  const env = agentProcessEnv(
    input.agentEnv,
    { HOME: input.home.home, CODEX_HOME: input.home.codexHome, TMPDIR: input.home.tmpDir },
    input.hostEnv,
  );
  const baseUrl = input.agentEnv.OPENAI_BASE_URL;
  const hasBaseUrl = baseUrl !== undefined && baseUrl.trim() !== '';
  const login = chatGptLoginFromEnv(input.agentEnv);
  let overrides: string[];
  if (login !== null) {
    writeCodexChatGptAuth(input.home.codexHome, login, input.now ?? Date.now());
    overrides = hasBaseUrl
      ? ['-c', 'features.apps=false', ...codexProviderOverrides(baseUrl.trim(), { requiresOpenAiAuth: true })]
      : [];
  } else {
    overrides = codexProviderOverrides(hasBaseUrl ? baseUrl.trim() : OPENAI_DEFAULT_BASE_URL, {
      envKey: 'OPENAI_API_KEY',
    });
  }
  const sandbox = sandboxArgs('codex', input.sandbox ?? DEFAULT_SANDBOX_MODE);
  return { args: ['exec', '--skip-git-repo-check', '--json', ...sandbox, ...overrides, '--', input.task], env };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function events(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(text);
      if (isRecord(value) && typeof value.type === 'string') out.push(value);
    } catch {
      // not an event line
    }
  }
  return out;
}

/** The last agent message Codex printed: its answer. */
function lastAgentMessage(lines: readonly Record<string, unknown>[]): string {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const item = lines[i]?.item;
    if (
      lines[i]?.type === 'item.completed' &&
      isRecord(item) &&
      item.type === 'agent_message' &&
      typeof item.text === 'string'
    )
      return item.text;
  }
  return '';
}

/**
 * Reads a finished Codex run: its JSON lines through `classifyCodexEvents` (usage summed over
 * turns, or a classified provider failure). A run that printed no JSON event at all is an
 * `agent-failure` (with its exit and a masked stderr excerpt): Codex failed before it started.
 *
 * @example
 * readCodexRun(await runProcess({ command, ...codexInvocation(input), timeoutMs, maxOutputBytes }), Date.now())
 */
export function readCodexRun(result: ProcessResult, now: number, timeZone?: string): AgentRunReading {
  const lines = events(result.stdout);
  if (lines.length === 0) {
    const excerpt = stderrExcerpt(result.stderr);
    return {
      type: 'agent-failure',
      message: `Codex ${describeExit(result)} without printing any event${excerpt === '' ? '' : `: ${excerpt}`}`,
    };
  }
  const outcome = inLocalZone((zone) => classifyCodexEvents(lines, { now, timeZone: zone }), timeZone);
  if (!outcome.ok) return { type: 'provider-failure', failure: outcome };
  if (result.exitCode !== 0)
    return {
      type: 'agent-failure',
      message: `Codex reported success but ${describeExit(result)}`,
      usage: outcome.usage,
    };
  return { type: 'success', usage: outcome.usage, result: lastAgentMessage(lines), permissionDenials: [] };
}
