import { offeredTools } from './fakeToolCall';
import type { ModelApi } from './fakeToolCall';

export type { ModelApi };

/** What a script sees of a request body beyond the body itself (the derived part of `FakeModelRequest`). */
export interface RequestView {
  readonly toolResults: number;
  readonly lastToolResult: string | undefined;
  readonly text: string;
  readonly workingDirectory: string | undefined;
  readonly tools: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A string, or the `text` of each part of a content array, joined by newlines. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return list(content)
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n');
}

interface Collected {
  readonly texts: string[];
  readonly results: string[];
}

function anthropicView(body: Record<string, unknown>, out: Collected): void {
  out.texts.push(textOf(body.system));
  for (const message of list(body.messages)) {
    if (!isRecord(message)) continue;
    if (typeof message.content === 'string') {
      out.texts.push(message.content);
      continue;
    }
    for (const block of list(message.content)) {
      if (!isRecord(block)) continue;
      if (block.type === 'text') out.texts.push(textOf([block]));
      if (block.type === 'tool_result' && message.role === 'user') {
        const result = textOf(block.content);
        out.results.push(result);
        out.texts.push(result);
      }
    }
  }
}

const RESPONSES_TOOL_OUTPUTS = new Set(['function_call_output', 'custom_tool_call_output']);

function responsesView(body: Record<string, unknown>, out: Collected): void {
  out.texts.push(textOf(body.instructions));
  if (typeof body.input === 'string') out.texts.push(body.input);
  for (const item of list(body.input)) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' || (item.type === undefined && 'role' in item)) out.texts.push(textOf(item.content));
    if (typeof item.type === 'string' && RESPONSES_TOOL_OUTPUTS.has(item.type)) {
      const result = textOf(item.output);
      out.results.push(result);
      out.texts.push(result);
    }
  }
}

function chatView(body: Record<string, unknown>, out: Collected): void {
  for (const message of list(body.messages)) {
    if (!isRecord(message)) continue;
    const text = textOf(message.content);
    out.texts.push(text);
    if (message.role === 'tool') out.results.push(text);
  }
}

const WORKING_DIRECTORY_PATTERNS = [/Primary working directory: (.+)$/m, /<cwd>([^<\n]+)<\/cwd>/];

/**
 * Reads a model request body the way a test script needs it, whatever the provider: how many tool
 * results came back so far (so a script can tell the first turn from the later ones), the last
 * one's text, every text of the request, the agent's working directory and the names of the tools
 * it offers. Never throws.
 *
 * @example
 * viewRequest('anthropic.messages', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] }] });
 * // → { toolResults: 1, lastToolResult: 'ok', text: 'ok', workingDirectory: undefined, tools: [] }
 */
export function viewRequest(api: ModelApi, body: unknown): RequestView {
  const out: Collected = { texts: [], results: [] };
  if (isRecord(body)) {
    if (api === 'anthropic.messages') anthropicView(body, out);
    else if (api === 'openai.responses') responsesView(body, out);
    else chatView(body, out);
  }
  const text = out.texts.filter((part) => part !== '').join('\n');
  const workingDirectory = WORKING_DIRECTORY_PATTERNS.map((pattern) => pattern.exec(text)?.[1]?.trim()).find(
    (found) => found !== undefined,
  );
  const tools = offeredTools(api, body).map((tool) => tool.name);
  return { toolResults: out.results.length, lastToolResult: out.results.at(-1), text, workingDirectory, tools };
}
