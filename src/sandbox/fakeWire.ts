import { randomBytes } from 'node:crypto';
import type { FakeUsage } from './fakeScript';

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

export interface ReplyContent {
  readonly model: string;
  readonly text: string;
  readonly usage: FakeUsage;
}

function id(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

/** Text in two or more deltas, as the APIs send it (a one-character text stays one delta). */
function textDeltas(text: string): string[] {
  if (text.length < 2) return [text];
  const middle = Math.ceil(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)];
}

function named(event: string, data: Record<string, unknown>): SseEvent {
  return { event, data: JSON.stringify(data) };
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

/** Anthropic `POST /v1/messages` without `stream`: one `message` object. */
export function anthropicMessage(reply: ReplyContent): Record<string, unknown> {
  return {
    id: id('msg_fake'),
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content: [{ type: 'text', text: reply.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(reply.usage, reply.usage.outputTokens),
  };
}

/**
 * Anthropic `POST /v1/messages` with `stream: true`: message_start (input usage), a text block
 * (start, deltas, stop), message_delta (stop reason, final usage), message_stop.
 */
export function anthropicStream(reply: ReplyContent): StreamPlan {
  const message = { ...anthropicMessage(reply), content: [], stop_reason: null, usage: anthropicUsage(reply.usage, 1) };
  const deltas = textDeltas(reply.text).map((text) =>
    named('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
  );
  const events = [
    named('message_start', { type: 'message_start', message }),
    named('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    named('ping', { type: 'ping' }),
    ...deltas,
    named('content_block_stop', { type: 'content_block_stop', index: 0 }),
    named('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: anthropicUsage(reply.usage, reply.usage.outputTokens),
    }),
    named('message_stop', { type: 'message_stop' }),
  ];
  // Cut after the first text delta: the block never stops and no final usage arrives.
  return { events, truncatedLength: 4 };
}

/** Anthropic's in-stream error event (sent after message_start, as the API does when it overloads mid-answer). */
export function anthropicStreamError(reply: ReplyContent, errorType: string, message: string): SseEvent[] {
  const start = anthropicStream(reply).events[0];
  return [...(start === undefined ? [] : [start]), named('error', { type: 'error', error: { type: errorType, message } })];
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
  readonly itemId: string;
  readonly createdAt: number;
}

function responseObject(ids: ResponseIds, model: string, status: string, output: unknown[], extra: Record<string, unknown>): Record<string, unknown> {
  return { id: ids.responseId, object: 'response', created_at: ids.createdAt, status, model, output, ...extra };
}

/**
 * OpenAI `POST /v1/responses` with `stream: true`, as Codex reads it: response.created,
 * response.in_progress, output_item.added, content_part.added, output_text deltas and done,
 * content_part.done, output_item.done, response.completed (with `usage`). Every event carries
 * `sequence_number`.
 */
export function openAiResponseStream(reply: ReplyContent): StreamPlan {
  const ids: ResponseIds = { responseId: id('resp_fake'), itemId: id('msg_fake'), createdAt: Math.floor(Date.now() / 1000) };
  const part = { type: 'output_text', text: reply.text, annotations: [] };
  const doneItem = { id: ids.itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const at = { item_id: ids.itemId, output_index: 0, content_index: 0 };
  const bodies: Record<string, unknown>[] = [
    { type: 'response.created', response: responseObject(ids, reply.model, 'in_progress', [], { usage: null }) },
    { type: 'response.in_progress', response: responseObject(ids, reply.model, 'in_progress', [], { usage: null }) },
    { type: 'response.output_item.added', output_index: 0, item: { ...doneItem, status: 'in_progress', content: [] } },
    { type: 'response.content_part.added', ...at, part: { ...part, text: '' } },
    ...textDeltas(reply.text).map((delta) => ({ type: 'response.output_text.delta', ...at, delta })),
    { type: 'response.output_text.done', ...at, text: reply.text },
    { type: 'response.content_part.done', ...at, part },
    { type: 'response.output_item.done', output_index: 0, item: doneItem },
    { type: 'response.completed', response: responseObject(ids, reply.model, 'completed', [doneItem], { usage: openAiResponseUsage(reply.usage) }) },
  ];
  const events = bodies.map((body, index) => named(String(body.type), { ...body, sequence_number: index }));
  // Cut after the first text delta: no output_item.done, no response.completed.
  return { events, truncatedLength: 5 };
}

/** `response.created` then `response.failed` with the error code, as the Responses API reports a failure mid-stream. */
export function openAiResponseFailed(model: string, code: string, message: string): SseEvent[] {
  const ids: ResponseIds = { responseId: id('resp_fake'), itemId: id('msg_fake'), createdAt: Math.floor(Date.now() / 1000) };
  return [
    named('response.created', { type: 'response.created', sequence_number: 0, response: responseObject(ids, model, 'in_progress', [], { usage: null }) }),
    named('response.failed', {
      type: 'response.failed',
      sequence_number: 1,
      response: responseObject(ids, model, 'failed', [], { usage: null, error: { code, message } }),
    }),
  ];
}

function chatUsage(usage: FakeUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** OpenAI `POST /v1/chat/completions` without `stream`: one `chat.completion` object. */
export function chatCompletion(reply: ReplyContent): Record<string, unknown> {
  return {
    id: id('chatcmpl-fake'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
    choices: [{ index: 0, message: { role: 'assistant', content: reply.text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: chatUsage(reply.usage),
  };
}

/**
 * OpenAI `POST /v1/chat/completions` with `stream: true`: `chat.completion.chunk`s (role, content
 * deltas, finish_reason), a usage chunk with empty `choices` when `stream_options.include_usage`
 * was asked for, then `data: [DONE]`.
 */
export function chatCompletionStream(reply: ReplyContent, includeUsage: boolean): StreamPlan {
  const base = { id: id('chatcmpl-fake'), object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: reply.model };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null): SseEvent => ({
    data: JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...(includeUsage ? { usage: null } : {}) }),
  });
  const events: SseEvent[] = [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...textDeltas(reply.text).map((content) => chunk({ content }, null)),
    chunk({}, 'stop'),
    ...(includeUsage ? [{ data: JSON.stringify({ ...base, choices: [], usage: chatUsage(reply.usage) }) }] : []),
    { data: '[DONE]' },
  ];
  return { events, truncatedLength: 2 };
}
