/**
 * The provider API fake's tool calls on the wire, spoken to over loopback HTTP: each API's tool
 * call shape (streamed and not), the tool it picks from the request, and what a script sees of a
 * request (tool results, text, working directory, tools).
 */
import { fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { FakeModelRequest, ProviderApiFake } from '../../src/sandbox';

let fake: ProviderApiFake;
const seen: FakeModelRequest[] = [];
const logs: string[] = [];
const usage = { inputTokens: 40, outputTokens: 7 };

beforeEach(async () => {
  seen.length = 0;
  logs.length = 0;
  fake = await startProviderApiFake({ log: (line) => logs.push(line) });
});
afterEach(() => fake.close());

async function post(
  path: string,
  body: Record<string, unknown>,
): Promise<{ status: number; json: Record<string, unknown>; events: Record<string, unknown>[] }> {
  const headers: Record<string, string> = path.startsWith('/v1/messages')
    ? { 'x-api-key': 'sk-ant-api03-wire', 'anthropic-version': '2023-06-01' }
    : { authorization: 'Bearer sk-proj-wire' };
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (body.stream !== true)
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, events: [] };
  const events = text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
  return { status: res.status, json: {}, events };
}

function script(step: ReturnType<typeof fakeStep.toolCall>): void {
  for (const provider of ['claude', 'openai'] as const) {
    fake.setScript(provider, (request) => {
      seen.push(request);
      return step;
    });
  }
}

const anthropicBody = {
  model: 'claude-test',
  system: [{ type: 'text', text: 'Env:\n - Primary working directory: /work/project\n' }],
  tools: [
    { name: 'Write', input_schema: {} },
    { name: 'Bash', input_schema: {} },
  ],
  messages: [
    { role: 'user', content: 'Do the task.' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'true' } }] },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'first result' }] },
        { type: 'tool_result', tool_use_id: 't2', content: 'second result' },
      ],
    },
  ],
};
const execTool = { type: 'custom', name: 'exec', format: { type: 'grammar' } };
const responsesBody = (tools: unknown[]): Record<string, unknown> => ({
  model: 'gpt-test',
  input: [
    { type: 'additional_tools', role: 'developer', tools: [{ type: 'namespace', name: 'functions', tools }] },
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '`sandbox_mode` is `read-only`' }] },
    {
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/w/codex</cwd>\n</environment_context>' }],
    },
    { type: 'custom_tool_call', call_id: 'c1', name: 'exec', input: 'text(1)' },
    { type: 'custom_tool_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'Script completed' }] },
  ],
});

describe('provider API fake tool calls', () => {
  it('should answer an Anthropic request with a tool_use block after the text, taking the path from the working directory', async () => {
    script(fakeStep.toolCall({ kind: 'write', path: 'a.txt', content: 'hi\n' }, { text: 'Writing.', usage }));
    const { status, json } = await post('/v1/messages?beta=true', anthropicBody);
    expect(status).toBe(200);
    expect(json).toMatchObject({
      type: 'message',
      stop_reason: 'tool_use',
      usage: { input_tokens: 40, output_tokens: 7 },
    });
    expect(json.content).toEqual([
      { type: 'text', text: 'Writing.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_fake/),
        name: 'Write',
        input: { file_path: '/work/project/a.txt', content: 'hi\n' },
      },
    ]);
    expect(seen[0]).toMatchObject({
      toolResults: 2,
      lastToolResult: 'second result',
      workingDirectory: '/work/project',
      tools: ['Write', 'Bash'],
      body: anthropicBody,
    });
    expect(seen[0]?.text.split('\n')).toEqual(
      expect.arrayContaining([
        'Do the task.',
        'first result',
        'second result',
        ' - Primary working directory: /work/project',
      ]),
    );
  });

  it('should stream an Anthropic tool call as input_json_delta events ending with stop_reason tool_use', async () => {
    script(fakeStep.toolCall({ kind: 'shell', command: 'npm test' }, { usage }));
    const { events } = await post('/v1/messages', { ...anthropicBody, stream: true });
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]).toMatchObject({ index: 0, content_block: { type: 'tool_use', name: 'Bash', input: {} } });
    const json = events.flatMap((e) => (e.delta as { partial_json?: string } | undefined)?.partial_json ?? []).join('');
    expect(JSON.parse(json)).toEqual({ command: 'npm test', description: 'Run a command' });
    expect(events[6]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } });
  });

  it('should answer Codex with a custom_tool_call of its exec tool, running apply_patch or exec_command', async () => {
    script(fakeStep.toolCall({ kind: 'write', path: 'b.txt', content: 'one\ntwo' }));
    const written = await post('/v1/responses', responsesBody([execTool]));
    const [call] = written.json.output as Record<string, unknown>[];
    expect(call).toMatchObject({
      type: 'custom_tool_call',
      status: 'completed',
      name: 'exec',
      call_id: expect.stringMatching(/^call_fake/),
    });
    expect(call?.input).toBe(
      `const result = await tools.apply_patch(${JSON.stringify('*** Begin Patch\n*** Add File: /w/codex/b.txt\n+one\n+two\n*** End Patch')});\ntext(result);\n`,
    );
    expect(seen[0]).toMatchObject({
      toolResults: 1,
      lastToolResult: 'Script completed',
      workingDirectory: '/w/codex',
      tools: ['exec'],
    });
    expect(seen[0]?.text).toContain('`sandbox_mode` is `read-only`');

    script(fakeStep.toolCall({ kind: 'shell', command: 'ls -la' }, { usage }));
    const { events } = await post('/v1/responses', { ...responsesBody([execTool]), stream: true });
    const done = events.find((e) => e.type === 'response.output_item.done')?.item as Record<string, unknown>;
    expect(done.input).toBe('const result = await tools.exec_command({ cmd: "ls -la" });\ntext(result);\n');
    const deltas = events.filter((e) => e.type === 'response.custom_tool_call_input.delta').map((e) => e.delta);
    expect(deltas.join('')).toBe(done.input);
    expect(events.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { output: [done], usage: { input_tokens: 40, output_tokens: 7 } },
    });
  });

  it('should use a function tool when the request offers exec_command directly, and name any tool with kind tool', async () => {
    script(fakeStep.toolCall({ kind: 'shell', command: 'ls' }, { text: 'Listing.' }));
    const { events } = await post('/v1/responses', {
      ...responsesBody([{ type: 'function', name: 'exec_command', parameters: {} }]),
      stream: true,
    });
    const items = events
      .filter((e) => e.type === 'response.output_item.done')
      .map((e) => e.item as Record<string, unknown>);
    expect(items.map((item) => item.type)).toEqual(['message', 'function_call']);
    expect(items[1]).toMatchObject({ name: 'exec_command', arguments: '{"cmd":"ls"}' });

    script(fakeStep.toolCall({ kind: 'tool', name: 'lookup', input: { q: 'x' } }));
    const chat = await post('/v1/chat/completions', {
      model: 'gpt-test',
      tools: [{ type: 'function', function: { name: 'lookup' } }],
      messages: [
        { role: 'user', content: 'go' },
        { role: 'tool', tool_call_id: 'k', content: 'found' },
      ],
    });
    expect(chat.json.choices).toEqual([
      expect.objectContaining({
        finish_reason: 'tool_calls',
        message: expect.objectContaining({
          content: null,
          tool_calls: [
            { id: expect.any(String), type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
          ],
        }),
      }),
    ]);
    expect(seen.at(-1)).toMatchObject({ toolResults: 1, lastToolResult: 'found', tools: ['lookup'] });
  });

  it('should answer 500 and log when the request offers no tool for the action', async () => {
    script(fakeStep.toolCall({ kind: 'write', path: 'c.txt', content: '' }));
    const { status, json } = await post('/v1/responses', { model: 'gpt-test', input: 'hi' });
    expect(status).toBe(500);
    expect(json).toMatchObject({
      error: { message: expect.stringContaining('offers no exec or apply_patch tool (it offers: none)') },
    });
    expect(fake.requests.at(-1)?.answer).toEqual({ status: 500, step: 'toolCall' });
    expect(logs).toEqual([
      expect.stringContaining('toolCall write: the openai.responses request offers no exec or apply_patch tool'),
    ]);
  });
});
