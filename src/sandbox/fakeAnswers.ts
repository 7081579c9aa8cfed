import type http from 'node:http';
import type { ProviderId } from '../../machines/providers';
import { chatCompletion, chatCompletionStream } from './fakeChatWire';
import { requestId } from './fakeErrors';
import type { FakeRoute } from './fakeRoutes';
import { anthropicMessage, anthropicStream, openAiResponseStream } from './fakeWire';
import type { ReplyContent, StreamPlan } from './fakeWire';

/** How the provider API fake words its successful answers, per route: headers, SSE plans, JSON bodies, model lists. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The request-id headers a provider's successful answer carries.
 *
 * @example
 * successHeaders('openai'); // { 'x-request-id': 'req_…', 'openai-processing-ms': '1' }
 */
export function successHeaders(provider: ProviderId): Record<string, string> {
  return provider === 'claude'
    ? { 'request-id': requestId() }
    : { 'x-request-id': requestId(), 'openai-processing-ms': '1' };
}

/**
 * The SSE events of a streamed model answer on `route` (`body` is the request's JSON).
 *
 * @example
 * const plan = streamPlan('anthropic.messages', { model: 'claude-sonnet-4-5', text: 'pong', usage: DEFAULT_FAKE_USAGE }, {});
 * writeSse(res, plan.events);
 */
export function streamPlan(route: FakeRoute, reply: ReplyContent, body: Record<string, unknown>): StreamPlan {
  if (route === 'anthropic.messages') return anthropicStream(reply);
  if (route === 'openai.responses') return openAiResponseStream(reply);
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  return chatCompletionStream(reply, streamOptions.include_usage === true);
}

/**
 * The JSON body of a model answer on `route` when the client did not ask for a stream.
 *
 * @example
 * sendJson(res, 200, jsonAnswer('openai.chatCompletions', reply), successHeaders('openai'));
 */
export function jsonAnswer(route: FakeRoute, reply: ReplyContent): Record<string, unknown> {
  if (route === 'anthropic.messages') return anthropicMessage(reply);
  if (route === 'openai.chatCompletions') return chatCompletion(reply);
  // A non-streamed Responses answer is the object `response.completed` carries.
  const completed = openAiResponseStream(reply).events.at(-1);
  return completed === undefined ? {} : (JSON.parse(completed.data) as { response: Record<string, unknown> }).response;
}

/**
 * Ends a model answer the way the step asked: normally, by destroying the socket, or not at all ('hang').
 *
 * @example
 * finish(res, step.type === 'truncate' ? (step.ending ?? 'end') : undefined);
 */
export function finish(res: http.ServerResponse, ending: 'end' | 'destroy' | 'hang' | undefined): void {
  if (ending === 'hang') return; // left open: the client times out, or close() destroys the socket
  if (ending === 'destroy') res.destroy();
  else res.end();
}

/**
 * The `GET /v1/models` answer of a provider, in its wire format.
 *
 * @example
 * modelsList('openai'); // { object: 'list', data: [{ id: 'gpt-5', object: 'model', … }, …] }
 */
export function modelsList(provider: ProviderId): Record<string, unknown> {
  const created = '2025-09-29T00:00:00Z';
  if (provider === 'claude') {
    const data = ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'].map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: created,
    }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }
  const data = ['gpt-5', 'gpt-5-codex', 'gpt-4.1'].map((id) => ({
    id,
    object: 'model',
    created: Date.parse(created) / 1000,
    owned_by: 'openai',
  }));
  return { object: 'list', data };
}
