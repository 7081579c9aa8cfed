import { createLiveUsageReader, remainder } from '../../src/agents';
import type { TokenUsage } from '../../src/providers';

const assistant = (id: string, usage: Record<string, number>, block = 'text'): string =>
  JSON.stringify({
    type: 'assistant',
    message: { id, type: 'message', role: 'assistant', content: [{ type: block }], usage },
    session_id: 's',
  });

function sum(increments: readonly TokenUsage[]): TokenUsage {
  return increments.reduce(
    (a, u) => ({ inputTokens: a.inputTokens + u.inputTokens, outputTokens: a.outputTokens + u.outputTokens }),
    { inputTokens: 0, outputTokens: 0 },
  );
}

describe('createLiveUsageReader', () => {
  it('should count each Claude message once, however many lines repeat it, with cache tokens as input', () => {
    const reader = createLiveUsageReader('claude-code');
    const lines = [
      JSON.stringify({ type: 'system', subtype: 'init', session_id: 's' }),
      assistant(
        'msg_1',
        { input_tokens: 100, cache_read_input_tokens: 50, cache_creation_input_tokens: 25, output_tokens: 10 },
        'text',
      ),
      assistant(
        'msg_1',
        { input_tokens: 100, cache_read_input_tokens: 50, cache_creation_input_tokens: 25, output_tokens: 10 },
        'tool_use',
      ),
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', content: 'ok' }] } }),
      assistant('msg_2', { input_tokens: 300, output_tokens: 1 }),
      // The same message again with its final output count: only the growth is new.
      assistant('msg_2', { input_tokens: 300, output_tokens: 40 }),
    ];
    const increments = reader.push(`${lines.join('\n')}\n`);
    expect(increments).toEqual([
      { inputTokens: 175, outputTokens: 10 },
      { inputTokens: 300, outputTokens: 1 },
      { inputTokens: 0, outputTokens: 39 },
    ]);
    expect(reader.counted).toEqual({ inputTokens: 475, outputTokens: 50 });
  });

  it('should read lines split anywhere across pieces, and only complete lines', () => {
    const text = `${assistant('msg_a', { input_tokens: 7, output_tokens: 3 })}\n${assistant('msg_b', { input_tokens: 11, output_tokens: 2 })}\n`;
    for (const size of [1, 2, 5, 17, 64]) {
      const reader = createLiveUsageReader('claude-code');
      const increments: TokenUsage[] = [];
      for (let i = 0; i < text.length; i += size) increments.push(...reader.push(text.slice(i, i + size)));
      expect(sum(increments)).toEqual({ inputTokens: 18, outputTokens: 5 });
    }
    const unfinished = createLiveUsageReader('claude-code');
    expect(unfinished.push(assistant('msg_c', { input_tokens: 5, output_tokens: 5 }))).toEqual([]);
    expect(unfinished.push('\n')).toEqual([{ inputTokens: 5, outputTokens: 5 }]);
  });

  it("should take a message's final output count from its message_delta, which names no id, by the parent that started it", () => {
    const event = (inner: Record<string, unknown>, parent: string | null = null): string =>
      JSON.stringify({ type: 'stream_event', event: inner, parent_tool_use_id: parent, session_id: 's' });
    const start = (id: string, input: number): Record<string, unknown> => ({
      type: 'message_start',
      message: {
        id,
        usage: { input_tokens: input, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 1 },
      },
    });
    const delta = (output: number): Record<string, unknown> => ({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: output },
    });
    const reader = createLiveUsageReader('claude-code');
    const lines = [
      event(start('msg_main', 100)),
      event({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: 'input_tokens are not counted from text' },
      }),
      // A subagent's message interleaves with the main one: its delta belongs to its own message.
      event(start('msg_sub', 40), 'toolu_task'),
      event(delta(7), 'toolu_task'),
      assistant('msg_main', { input_tokens: 100, output_tokens: 1 }),
      event(delta(30)),
    ];
    expect(reader.push(`${lines.join('\n')}\n`)).toEqual([
      { inputTokens: 100, outputTokens: 1 },
      { inputTokens: 40, outputTokens: 1 },
      { inputTokens: 0, outputTokens: 6 },
      { inputTokens: 0, outputTokens: 29 },
    ]);
    expect(reader.counted).toEqual({ inputTokens: 140, outputTokens: 37 });
  });

  it("should count the growth of Codex's running total in its rollout file, ignoring everything else", () => {
    const tokenCount = (input: number, output: number): string =>
      JSON.stringify({
        timestamp: 't',
        type: 'event_msg',
        payload: {
          type: 'token_count',
          info: {
            total_token_usage: {
              input_tokens: input,
              cached_input_tokens: 0,
              output_tokens: output,
              total_tokens: input + output,
            },
            last_token_usage: {},
          },
        },
      });
    const reader = createLiveUsageReader('codex');
    const lines = [
      '{"timestamp":"t","type":"session_meta","payload":{"id":"s"}}',
      'not json at all',
      tokenCount(120, 30),
      '{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":80,',
      tokenCount(200, 35),
      // Stdout's summary line is not read from here: only the rollout's running total counts.
      '{"type":"turn.completed","usage":{"input_tokens":200,"output_tokens":35}}',
      tokenCount(200, 35),
    ];
    expect(reader.push(`${lines.join('\n')}\n`)).toEqual([
      { inputTokens: 120, outputTokens: 30 },
      { inputTokens: 80, outputTokens: 5 },
    ]);
  });

  it('should skip a line too long to be an event without holding it whole', () => {
    const reader = createLiveUsageReader('codex');
    const huge = `{"type":"response_item","text":"${'x'.repeat(1 << 20)}`;
    const count = JSON.stringify({
      type: 'event_msg',
      payload: { type: 'token_count', info: { total_token_usage: { input_tokens: 3, output_tokens: 4 } } },
    });
    expect(reader.push(huge)).toEqual([]);
    expect(reader.push(`${'y'.repeat(1000)}"}\n${count}\n`)).toEqual([{ inputTokens: 3, outputTokens: 4 }]);
  });
});

describe('remainder', () => {
  it('should give what the final figures add to what streamed, never a negative count', () => {
    expect(remainder({ inputTokens: 100, outputTokens: 40 }, { inputTokens: 100, outputTokens: 1 })).toEqual({
      inputTokens: 0,
      outputTokens: 39,
    });
    expect(remainder({ inputTokens: 10, outputTokens: 5 }, { inputTokens: 30, outputTokens: 9 })).toEqual({
      inputTokens: 0,
      outputTokens: 0,
    });
    expect(remainder(undefined, { inputTokens: 1, outputTokens: 1 })).toBeUndefined();
  });
});
