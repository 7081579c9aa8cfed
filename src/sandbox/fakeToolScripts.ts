import { AgentvisorError } from '../errors';
import { fakeStep } from './fakeScript';
import type { FakeModelRequest, FakeStep, FakeUsage } from './fakeScript';

/**
 * What requests that offer no tools get: Claude Code's auto-mode safety check (system prompt "You
 * are a security monitor for autonomous AI coding agents", not streamed) reads `<block>no</block>`
 * as "allow" and `<block>yes</block><reason>[Rule] why</reason>` as a denial.
 */
export const SIDE_REQUEST_ALLOW: FakeStep = fakeStep.reply({ text: '<block>no</block>' });

export interface ToolTurnScriptOptions {
  /** The answer to requests that offer no tools (they are not turns of the loop). @default SIDE_REQUEST_ALLOW */
  readonly sideReply?: FakeStep;
}

/**
 * A script that plays one step per turn of an agent's tool loop: a request whose conversation
 * holds N tool results gets `turns[N]` (the last turn again once they run out). Counting tool
 * results, not requests, keeps it right when an agent retries a request. Requests that offer no
 * tools get `sideReply`.
 *
 * @example
 * fake.setScript('claude', toolTurnScript([
 *   fakeStep.toolCall({ kind: 'shell', command: 'true' }, { usage: { inputTokens: 100, outputTokens: 10 } }),
 *   fakeStep.reply({ text: 'done', usage: { inputTokens: 120, outputTokens: 4 } }),
 * ]));
 */
export function toolTurnScript(
  turns: readonly FakeStep[],
  options: ToolTurnScriptOptions = {},
): (request: FakeModelRequest) => FakeStep {
  if (turns.length === 0)
    throw new AgentvisorError('invalid-option', 'toolTurnScript needs at least one turn', {
      details: { field: 'turns' },
    });
  const sideReply = options.sideReply ?? SIDE_REQUEST_ALLOW;
  return (request) =>
    request.tools.length === 0 ? sideReply : (turns[Math.min(request.toolResults, turns.length - 1)] as FakeStep);
}

export interface EditFileScriptOptions extends ToolTurnScriptOptions {
  /** The file to write; a relative path is taken from the agent's working directory. */
  readonly path: string;
  /** Codex's `apply_patch` always ends a file with a newline: end `content` with one to compare bytes. */
  readonly content: string;
  /** The final answer once the tool result came back. @default 'done' */
  readonly doneText?: string;
  /** Usage of each answer (the tool call and the final reply). @default DEFAULT_FAKE_USAGE */
  readonly usagePerTurn?: FakeUsage;
}

/**
 * The smallest editing agent: the first request gets a tool call that writes `content` to `path`
 * (Claude Code's `Write`, Codex's `apply_patch` inside `exec`); once a tool result came back —
 * success or a permission refusal — a final text reply. Whether the file exists afterwards is
 * what the agent's permission flags decided.
 *
 * @example
 * fake.setScript('claude', editFileScript({ path: 'notes.txt', content: 'hello\n' }));
 * // claude -p "…" --permission-mode acceptEdits  → <cwd>/notes.txt holds "hello\n"
 */
export function editFileScript(options: EditFileScriptOptions): (request: FakeModelRequest) => FakeStep {
  const usage = options.usagePerTurn === undefined ? {} : { usage: options.usagePerTurn };
  const write = fakeStep.toolCall({ kind: 'write', path: options.path, content: options.content }, usage);
  return toolTurnScript([write, fakeStep.reply({ text: options.doneText ?? 'done', ...usage })], options);
}

export interface RunawayScriptOptions extends ToolTurnScriptOptions {
  /** Usage of every answer. */
  readonly usagePerTurn: FakeUsage;
  /** The harmless command every answer runs. @default 'true' */
  readonly command?: string;
}

/**
 * An agent that never finishes: every request that offers tools gets another harmless shell tool
 * call with the same usage, so the agent loops until something stops it (a token cap, a timeout, a
 * kill).
 *
 * @example
 * fake.setScript('openai', runawayScript({ usagePerTurn: { inputTokens: 1_000, outputTokens: 50 } }));
 */
export function runawayScript(options: RunawayScriptOptions): (request: FakeModelRequest) => FakeStep {
  return toolTurnScript(
    [fakeStep.toolCall({ kind: 'shell', command: options.command ?? 'true' }, { usage: options.usagePerTurn })],
    options,
  );
}
