import type { FakeUsage } from './fakeScript';
import type { ReplyContent, SseEvent, StreamPlan } from './fakeWire';
import { callInputText, textDeltas, wireId } from './fakeWire';

function chatUsage(usage: FakeUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

function chatToolCall(reply: ReplyContent, callId: string): Record<string, unknown> | undefined {
  const call = reply.toolCall;
  return call === undefined
    ? undefined
    : { id: callId, type: 'function', function: { name: call.name, arguments: callInputText(call) } };
}

/**
 * OpenAI `POST /v1/chat/completions` without `stream`: one `chat.completion` object (with
 * `tool_calls` and `finish_reason: tool_calls` for a tool call; `content` is then null unless the
 * step has text).
 *
 * @example
 * chatCompletion({ model: 'gpt-5', text: 'pong', usage: { inputTokens: 10, outputTokens: 5 } }).choices;
 */
export function chatCompletion(reply: ReplyContent): Record<string, unknown> {
  const call = chatToolCall(reply, wireId('call_fake'));
  const content = call !== undefined && reply.text === '' ? null : reply.text;
  return {
    id: wireId('chatcmpl-fake'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(call === undefined ? {} : { tool_calls: [call] }) },
        logprobs: null,
        finish_reason: call === undefined ? 'stop' : 'tool_calls',
      },
    ],
    usage: chatUsage(reply.usage),
  };
}

/**
 * OpenAI `POST /v1/chat/completions` with `stream: true`: `chat.completion.chunk`s (role, content
 * deltas, tool call argument deltas, finish_reason), a usage chunk with empty `choices` when
 * `stream_options.include_usage` was asked for, then `data: [DONE]`.
 *
 * @example
 * chatCompletionStream({ model: 'gpt-5', text: 'pong', usage: { inputTokens: 10, outputTokens: 5 } }, true).events.at(-1); // → { data: '[DONE]' }
 */
export function chatCompletionStream(reply: ReplyContent, includeUsage: boolean): StreamPlan {
  const base = {
    id: wireId('chatcmpl-fake'),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
  };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null): SseEvent => ({
    data: JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    }),
  });
  const call = chatToolCall(reply, wireId('call_fake'));
  const textChunks =
    call === undefined || reply.text !== '' ? textDeltas(reply.text).map((content) => chunk({ content }, null)) : [];
  const callChunks =
    call === undefined || reply.toolCall === undefined
      ? []
      : [
          chunk(
            {
              tool_calls: [
                { index: 0, id: call.id, type: 'function', function: { name: reply.toolCall.name, arguments: '' } },
              ],
            },
            null,
          ),
          ...textDeltas(callInputText(reply.toolCall)).map((args) =>
            chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }, null),
          ),
        ];
  const events: SseEvent[] = [
    chunk({ role: 'assistant', content: call === undefined ? '' : null, refusal: null }, null),
    ...textChunks,
    ...callChunks,
    chunk({}, call === undefined ? 'stop' : 'tool_calls'),
    ...(includeUsage ? [{ data: JSON.stringify({ ...base, choices: [], usage: chatUsage(reply.usage) }) }] : []),
    { data: '[DONE]' },
  ];
  return { events, truncatedLength: 2 };
}
