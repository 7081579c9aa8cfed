import { randomBytes } from 'node:crypto';
import type { FakeUsage } from './fakeScript';
import type { ResolvedToolCall } from './fakeToolCall';

/** One server-sent event. `event` is omitted where the API sends bare `data:` lines (chat completions). */
export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

/**
 * A streamed answer: its events in order, and how many of them a truncated stream keeps (always
 * fewer than all, never the terminal event, so a client sees an answer that never finished).
 */
export interface StreamPlan {
  readonly events: readonly SseEvent[];
  readonly truncatedLength: number;
}

/** What an answer holds: text, and for a `toolCall` step one call (the text may then be empty: no text block). */
export interface ReplyContent {
  readonly model: string;
  readonly text: string;
  readonly usage: FakeUsage;
  readonly toolCall?: ResolvedToolCall;
}

/**
 * A fresh id in the style the APIs use (`msg_…`, `toolu_…`, `call_…`).
 *
 * @example
 * wireId('toolu_fake'); // → 'toolu_fake3f9c…' (24 hex digits)
 */
export function wireId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

/**
 * Text in two or more deltas, as the APIs send it (a one-character text stays one delta).
 *
 * @example
 * textDeltas('pong'); // → ['po', 'ng']
 */
export function textDeltas(text: string): string[] {
  if (text.length < 2) return [text];
  const middle = Math.ceil(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)];
}

function named(event: string, data: Record<string, unknown>): SseEvent {
  return { event, data: JSON.stringify(data) };
}

/**
 * A tool call's input as the wire carries it: freeform text as is, function arguments as JSON text.
 *
 * @example
 * callInputText({ name: 'exec_command', kind: 'function', input: { cmd: 'ls' } }); // → '{"cmd":"ls"}'
 */
export function callInputText(call: ResolvedToolCall): string {
  return typeof call.input === 'string' ? call.input : JSON.stringify(call.input);
}

function hasTextPart(reply: ReplyContent): boolean {
  return reply.toolCall === undefined || reply.text !== '';
}

/** The bytes of one event on the wire. */
export function formatSse(event: SseEvent): string {
  return `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${event.data}\n\n`;
}

function anthropicUsage(usage: FakeUsage, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
    cache_read_input_tokens: usage.cachedInputTokens ?? 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function anthropicBlocks(reply: ReplyContent): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = hasTextPart(reply) ? [{ type: 'text', text: reply.text }] : [];
  const call = reply.toolCall;
  // resolveToolCall gives Anthropic function tools only: the input is an object.
  if (call !== undefined)
    blocks.push({ type: 'tool_use', id: wireId('toolu_fake'), name: call.name, input: call.input });
  return blocks;
}

function anthropicMessageOf(reply: ReplyContent, content: Record<string, unknown>[]): Record<string, unknown> {
  return {
    id: wireId('msg_fake'),
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content,
    stop_reason: reply.toolCall === undefined ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: anthropicUsage(reply.usage, reply.usage.outputTokens),
  };
}

/** Anthropic `POST /v1/messages` without `stream`: one `message` object (text, then a `tool_use` block with `stop_reason: tool_use`). */
export function anthropicMessage(reply: ReplyContent): Record<string, unknown> {
  return anthropicMessageOf(reply, anthropicBlocks(reply));
}

function anthropicBlockEvents(block: Record<string, unknown>, index: number): SseEvent[] {
  const at = (delta: Record<string, unknown>): SseEvent =>
    named('content_block_delta', { type: 'content_block_delta', index, delta });
  const deltas =
    block.type === 'text'
      ? textDeltas(String(block.text)).map((text) => at({ type: 'text_delta', text }))
      : textDeltas(JSON.stringify(block.input)).map((json) => at({ type: 'input_json_delta', partial_json: json }));
  const start = block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} };
  return [
    named('content_block_start', { type: 'content_block_start', index, content_block: start }),
    ...(index === 0 ? [named('ping', { type: 'ping' })] : []),
    ...deltas,
    named('content_block_stop', { type: 'content_block_stop', index }),
  ];
}

/**
 * Anthropic `POST /v1/messages` with `stream: true`: message_start (input usage), each content
 * block (start, `text_delta`s or `input_json_delta`s, stop), message_delta (stop reason, final
 * usage), message_stop.
 */
export function anthropicStream(reply: ReplyContent): StreamPlan {
  const blocks = anthropicBlocks(reply);
  const full = anthropicMessageOf(reply, blocks);
  const message = { ...full, content: [], stop_reason: null, usage: anthropicUsage(reply.usage, 1) };
  const events = [
    named('message_start', { type: 'message_start', message }),
    ...blocks.flatMap(anthropicBlockEvents),
    named('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: full.stop_reason, stop_sequence: null },
      usage: anthropicUsage(reply.usage, reply.usage.outputTokens),
    }),
    named('message_stop', { type: 'message_stop' }),
  ];
  // Cut after the first delta: the block never stops and no final usage arrives.
  return { events, truncatedLength: 4 };
}

/** Anthropic's in-stream error event (sent after message_start, as the API does when it overloads mid-answer). */
export function anthropicStreamError(reply: ReplyContent, errorType: string, message: string): SseEvent[] {
  const start = anthropicStream(reply).events[0];
  return [
    ...(start === undefined ? [] : [start]),
    named('error', { type: 'error', error: { type: errorType, message } }),
  ];
}

function openAiResponseUsage(usage: FakeUsage): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

interface ResponseIds {
  readonly responseId: string;
  readonly createdAt: number;
}

function responseObject(
  ids: ResponseIds,
  model: string,
  status: string,
  output: unknown[],
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return { id: ids.responseId, object: 'response', created_at: ids.createdAt, status, model, output, ...extra };
}

/** One output item's events after `output_item.added` and up to `output_item.done`, and the done item. */
interface ItemEvents {
  readonly item: Record<string, unknown>;
  readonly events: Record<string, unknown>[];
}

function messageItemEvents(text: string, outputIndex: number): ItemEvents {
  const part = { type: 'output_text', text, annotations: [] };
  const item = { id: wireId('msg_fake'), type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const at = { item_id: item.id, output_index: outputIndex, content_index: 0 };
  return {
    item,
    events: [
      {
        type: 'response.output_item.added',
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', content: [] },
      },
      { type: 'response.content_part.added', ...at, part: { ...part, text: '' } },
      ...textDeltas(text).map((delta) => ({ type: 'response.output_text.delta', ...at, delta })),
      { type: 'response.output_text.done', ...at, text },
      { type: 'response.content_part.done', ...at, part },
    ],
  };
}

/** A `custom_tool_call` (freeform input) or a `function_call` (JSON arguments), with their input deltas. */
function callItemEvents(call: ResolvedToolCall, outputIndex: number): ItemEvents {
  const input = callInputText(call);
  const custom = call.kind === 'custom';
  const field = custom ? 'input' : 'arguments';
  const event = custom ? 'response.custom_tool_call_input' : 'response.function_call_arguments';
  const item = {
    id: wireId(custom ? 'ctc_fake' : 'fc_fake'),
    type: custom ? 'custom_tool_call' : 'function_call',
    status: 'completed',
    call_id: wireId('call_fake'),
    name: call.name,
    [field]: input,
  };
  const at = { item_id: item.id, output_index: outputIndex };
  return {
    item,
    events: [
      {
        type: 'response.output_item.added',
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', [field]: '' },
      },
      ...textDeltas(input).map((delta) => ({ type: `${event}.delta`, ...at, delta })),
      { type: `${event}.done`, ...at, [field]: input },
    ],
  };
}

/**
 * OpenAI `POST /v1/responses` with `stream: true`, as Codex reads it: response.created,
 * response.in_progress, then per output item output_item.added, its deltas (message:
 * content_part.added, output_text deltas and done, content_part.done; tool call:
 * custom_tool_call_input / function_call_arguments deltas and done) and output_item.done, then
 * response.completed (with `usage`). Every event carries `sequence_number`.
 */
export function openAiResponseStream(reply: ReplyContent): StreamPlan {
  const ids: ResponseIds = { responseId: wireId('resp_fake'), createdAt: Math.floor(Date.now() / 1000) };
  const items: ItemEvents[] = hasTextPart(reply) ? [messageItemEvents(reply.text, 0)] : [];
  if (reply.toolCall !== undefined) items.push(callItemEvents(reply.toolCall, items.length));
  const bodies: Record<string, unknown>[] = [
    { type: 'response.created', response: responseObject(ids, reply.model, 'in_progress', [], { usage: null }) },
    { type: 'response.in_progress', response: responseObject(ids, reply.model, 'in_progress', [], { usage: null }) },
    ...items.flatMap(({ item, events }, index) => [
      ...events,
      { type: 'response.output_item.done', output_index: index, item },
    ]),
    {
      type: 'response.completed',
      response: responseObject(
        ids,
        reply.model,
        'completed',
        items.map(({ item }) => item),
        { usage: openAiResponseUsage(reply.usage) },
      ),
    },
  ];
  const events = bodies.map((body, index) => named(String(body.type), { ...body, sequence_number: index }));
  // Cut after the first delta: no output_item.done, no response.completed.
  const firstDelta = bodies.findIndex((body) => String(body.type).endsWith('.delta'));
  return { events, truncatedLength: firstDelta + 1 };
}

/** `response.created` then `response.failed` with the error code, as the Responses API reports a failure mid-stream. */
export function openAiResponseFailed(model: string, code: string, message: string): SseEvent[] {
  const ids: ResponseIds = { responseId: wireId('resp_fake'), createdAt: Math.floor(Date.now() / 1000) };
  return [
    named('response.created', {
      type: 'response.created',
      sequence_number: 0,
      response: responseObject(ids, model, 'in_progress', [], { usage: null }),
    }),
    named('response.failed', {
      type: 'response.failed',
      sequence_number: 1,
      response: responseObject(ids, model, 'failed', [], { usage: null, error: { code, message } }),
    }),
  ];
}
