import { claudeUsage, codexUsage } from '../providers';
import type { TokenUsage } from '../providers';
import type { AgentCliId } from './agentCli';

/**
 * Reads an agent CLI's stdout as it streams and tells what it spent as it spends it. `push` takes
 * any piece of the output (lines may be split across pieces) and returns the usage increments the
 * complete lines in it revealed; `counted` is everything returned so far.
 */
export interface LiveUsageReader {
  push(text: string): TokenUsage[];
  readonly counted: TokenUsage;
}

/** A line longer than this is no usage event: it is skipped without being held whole in memory. */
const MAX_LINE_CHARS = 1 << 20;

/** What one line tells: the usage known so far of one API message (key), possibly only some of its fields. */
interface LineUsage {
  readonly key: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

type LineRule = (event: Record<string, unknown>, state: Map<string, string>) => LineUsage | null;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Claude Code `-p --verbose --output-format stream-json --include-partial-messages`. Each API
 * message shows its usage three ways, all keyed by its id: `stream_event` message_start (input, with
 * a placeholder output of 1), the `assistant` line per content block (the same), and `stream_event`
 * message_delta (the final output count; it names no id, so it belongs to the last message started
 * by the same parent tool call). Only the growth of each figure counts.
 */
const claudeLine: LineRule = (event, current) => {
  const parent = typeof event.parent_tool_use_id === 'string' ? event.parent_tool_use_id : '';
  if (event.type === 'assistant' && isRecord(event.message) && typeof event.message.id === 'string') {
    const usage = claudeUsage(event.message.usage);
    return usage === null ? null : { key: event.message.id, ...usage };
  }
  if (event.type !== 'stream_event' || !isRecord(event.event)) return null;
  const inner = event.event;
  if (inner.type === 'message_start' && isRecord(inner.message) && typeof inner.message.id === 'string') {
    current.set(parent, inner.message.id);
    const usage = claudeUsage(inner.message.usage);
    return usage === null ? null : { key: inner.message.id, ...usage };
  }
  const key = current.get(parent);
  if (inner.type !== 'message_delta' || key === undefined || !isRecord(inner.usage)) return null;
  const output = inner.usage.output_tokens;
  const full = claudeUsage(inner.usage);
  if (full !== null) return { key, ...full };
  return typeof output === 'number' && Number.isSafeInteger(output) && output >= 0
    ? { key, outputTokens: output }
    : null;
};

/**
 * Codex's rollout file (`$CODEX_HOME/sessions/…/rollout-*.jsonl`; its stdout reports usage only once,
 * at the end): after each model response an `event_msg` `token_count` line carries the session's
 * running total (`info.total_token_usage`), so only its growth counts.
 */
const codexLine: LineRule = (event) => {
  if (
    event.type !== 'event_msg' ||
    !isRecord(event.payload) ||
    event.payload.type !== 'token_count' ||
    !isRecord(event.payload.info)
  )
    return null;
  const usage = codexUsage(event.payload.info.total_token_usage);
  return usage === null ? null : { key: 'total', ...usage };
};

/**
 * A reader for what a CLI writes as it works: Claude Code's stdout (`-p --verbose --output-format
 * stream-json --include-partial-messages`) or one Codex rollout file. Usage is counted as the budget
 * counts it (Claude's cache-read and cache-write tokens are input; Codex's input includes cached
 * input). The run's final total (read when the run ends) can still be larger than what streamed (a
 * run stopped mid-message); `remainder` gives what is left to count then.
 *
 * @example
 * const reader = createLiveUsageReader('claude-code');
 * startProcess({ …, onStdout: (text) => reader.push(text).forEach((u) => agent.reportUsage(u)) });
 */
export function createLiveUsageReader(cli: AgentCliId): LiveUsageReader {
  const rule = cli === 'claude-code' ? claudeLine : codexLine;
  const seen = new Map<string, TokenUsage>();
  const current = new Map<string, string>();
  let counted: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let partial = '';
  let skipping = false;

  const readLine = (line: string): TokenUsage | null => {
    const text = line.trim();
    // Most lines are text deltas and tool output: only a line that mentions usage is parsed.
    if (!text.startsWith('{') || !text.includes('_tokens')) return null;
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isRecord(event)) return null;
    const found = rule(event, current);
    if (found === null) return null;
    const before = seen.get(found.key) ?? { inputTokens: 0, outputTokens: 0 };
    const after = {
      inputTokens: Math.max(before.inputTokens, found.inputTokens ?? 0),
      outputTokens: Math.max(before.outputTokens, found.outputTokens ?? 0),
    };
    seen.set(found.key, after);
    const increment = {
      inputTokens: after.inputTokens - before.inputTokens,
      outputTokens: after.outputTokens - before.outputTokens,
    };
    return increment.inputTokens + increment.outputTokens === 0 ? null : increment;
  };

  return {
    get counted() {
      return counted;
    },
    push(text: string): TokenUsage[] {
      const out: TokenUsage[] = [];
      const pieces = (partial + text).split('\n');
      partial = pieces.pop() ?? '';
      for (const line of pieces) {
        if (skipping) {
          skipping = false;
          continue;
        }
        const increment = readLine(line);
        if (increment !== null) out.push(increment);
      }
      if (partial.length > MAX_LINE_CHARS) {
        partial = '';
        skipping = true;
      }
      for (const u of out)
        counted = {
          inputTokens: counted.inputTokens + u.inputTokens,
          outputTokens: counted.outputTokens + u.outputTokens,
        };
      return out;
    },
  };
}

/**
 * What a run's final usage adds to what was counted while it streamed (never negative).
 *
 * @example remainder({ inputTokens: 100, outputTokens: 40 }, { inputTokens: 100, outputTokens: 1 }) // { inputTokens: 0, outputTokens: 39 }
 */
export function remainder(total: TokenUsage | undefined, counted: TokenUsage): TokenUsage | undefined {
  if (total === undefined) return undefined;
  return {
    inputTokens: Math.max(0, total.inputTokens - counted.inputTokens),
    outputTokens: Math.max(0, total.outputTokens - counted.outputTokens),
  };
}
