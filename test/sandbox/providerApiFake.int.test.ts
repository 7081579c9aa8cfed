import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import { FAKE_FAULTS, fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { FakeFault, ProviderApiFake } from '../../src/sandbox';

// Test credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'FakeTestKey'}${'k'.repeat(60)}Ab12`;
const OAUTH_TOKEN = `sk-ant-oat01-${'FakeTestToken'}${'t'.repeat(50)}Cd34`;
const OPENAI_KEY = `sk-proj-${'FakeTestKey'}${'o'.repeat(40)}Ef56`;

let fake: ProviderApiFake;
let logged: string[];

beforeEach(async () => {
  logged = [];
  fake = await startProviderApiFake({
    keys: { claude: [CLAUDE_KEY, OAUTH_TOKEN], openai: OPENAI_KEY },
    log: (line) => logged.push(line),
  });
});

afterEach(async () => {
  await fake.close();
});

const anthropicHeaders = {
  'x-api-key': CLAUDE_KEY,
  'anthropic-version': '2023-06-01',
  'content-type': 'application/json',
};
const openaiHeaders = { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' };

function messages(
  body: Record<string, unknown>,
  headers: Record<string, string> = anthropicHeaders,
): Promise<Response> {
  return fetch(`${fake.anthropicBaseUrl}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      model: 'claude-test',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });
}

function responses(
  body: Record<string, unknown> = {},
  headers: Record<string, string> = openaiHeaders,
): Promise<Response> {
  return fetch(`${fake.openaiBaseUrl}/responses`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'gpt-test', stream: true, input: 'hi', ...body }),
  });
}

interface ParsedEvent {
  event: string | undefined;
  data: string;
}

/** Splits an SSE body into events (blank-line separated `event:` / `data:` lines). */
function parseSse(text: string): ParsedEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      return {
        event: lines.find((line) => line.startsWith('event: '))?.slice(7),
        data: lines.find((line) => line.startsWith('data: '))?.slice(6) ?? '',
      };
    });
}

function json(event: ParsedEvent | undefined): Record<string, unknown> {
  return JSON.parse(event?.data ?? 'null') as Record<string, unknown>;
}

describe('startProviderApiFake', () => {
  describe('Anthropic messages', () => {
    it('should answer a non-streamed request with a message object and the scripted usage', async () => {
      fake.enqueue(
        'claude',
        fakeStep.reply({
          text: 'hello there',
          usage: { inputTokens: 123, outputTokens: 45, cachedInputTokens: 6, cacheCreationInputTokens: 7 },
        }),
      );
      const res = await messages({});
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('request-id')).toMatch(/^req_fake[0-9a-f]{20}$/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({
        id: expect.stringMatching(/^msg_fake/),
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [{ type: 'text', text: 'hello there' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: 123,
          cache_creation_input_tokens: 7,
          cache_read_input_tokens: 6,
          output_tokens: 45,
          service_tier: 'standard',
        },
      });
    });

    it('should stream the events Claude Code reads, in order, with usage in message_start and message_delta', async () => {
      fake.enqueue('claude', fakeStep.reply({ text: 'pong!', usage: { inputTokens: 20, outputTokens: 3 } }));
      const res = await messages({ stream: true });
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const events = parseSse(await res.text());
      expect(events.map((e) => e.event)).toEqual([
        'message_start',
        'content_block_start',
        'ping',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      for (const event of events) expect(json(event).type).toBe(event.event);
      const start = json(events[0]).message as Record<string, unknown>;
      expect(start).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [],
        stop_reason: null,
      });
      expect(start.usage).toMatchObject({ input_tokens: 20, output_tokens: 1 });
      const text = events
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => (json(e).delta as { text: string }).text)
        .join('');
      expect(text).toBe('pong!');
      expect(json(events[6])).toEqual({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: {
          input_tokens: 20,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 3,
          service_tier: 'standard',
        },
      });
    });

    it('should accept an OAuth bearer with the oauth beta and record which scheme each request used', async () => {
      const oauth = {
        authorization: `Bearer ${OAUTH_TOKEN}`,
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'claude-code-20250219,oauth-2025-04-20',
      };
      expect((await messages({}, oauth)).status).toBe(200);
      expect((await messages({})).status).toBe(200);
      expect(fake.requests.map((r) => [r.route, r.auth.scheme, r.auth.hint])).toEqual([
        ['anthropic.messages', 'bearer', 'sk-ant-oat01-…Cd34'],
        ['anthropic.messages', 'x-api-key', 'sk-ant-api03-…Ab12'],
      ]);
      expect(fake.requests[0]?.auth.credential?.reveal()).toBe(OAUTH_TOKEN);
      expect(fake.requests[0]?.headers['anthropic-beta']).toBe('claude-code-20250219,oauth-2025-04-20');
      expect(fake.requests[0]?.headers.authorization).toBeUndefined();
      expect(fake.requests[1]?.headers['x-api-key']).toBeUndefined();
    });

    it('should refuse credentials as the real API does', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ 'anthropic-version': '2023-06-01' }, 'x-api-key header is required'],
        [{ 'x-api-key': `${CLAUDE_KEY}x`, 'anthropic-version': '2023-06-01' }, 'invalid x-api-key'],
        [
          { authorization: `Bearer ${OAUTH_TOKEN}`, 'anthropic-version': '2023-06-01' },
          'OAuth authentication is currently not supported.',
        ],
        [
          {
            authorization: `Bearer ${OAUTH_TOKEN}x`,
            'anthropic-version': '2023-06-01',
            'anthropic-beta': 'oauth-2025-04-20',
          },
          'Invalid bearer token',
        ],
      ];
      for (const [headers, message] of cases) {
        const res = await messages({}, headers);
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message } });
      }
      expect(fake.requests.map((r) => r.answer)).toEqual(cases.map(() => ({ status: 401, step: 'auth' })));
    });

    it(
      'should tell an API key from a login by its prefix, not its header: ' +
        'a Bearer API key (the SDK 1.x way) needs no oauth beta and is limited as a key',
      async () => {
        const bearerKey = { authorization: `Bearer ${CLAUDE_KEY}`, 'anthropic-version': '2023-06-01' };
        expect((await messages({}, bearerKey)).status).toBe(200);
        fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 5 }));
        const limited = await messages({}, bearerKey);
        expect(limited.status).toBe(429);
        expect(limited.headers.get('anthropic-ratelimit-tokens-remaining')).toBe('0');
        expect(limited.headers.get('anthropic-ratelimit-unified-status')).toBeNull();
        const wrong = await messages({}, { authorization: `Bearer ${CLAUDE_KEY}x`, 'anthropic-version': '2023-06-01' });
        expect(wrong.status).toBe(401);
        expect(await wrong.json()).toEqual({
          type: 'error',
          error: { type: 'authentication_error', message: 'Invalid bearer token' },
        });
        // Anything else in a Bearer is still taken for a login token.
        expect(
          (await messages({}, { authorization: 'Bearer not-an-anthropic-key', 'anthropic-version': '2023-06-01' }))
            .status,
        ).toBe(401);
        expect(fake.requests.map((r) => [r.auth.scheme, r.auth.hint, r.answer?.status])).toEqual([
          ['bearer', 'sk-ant-api03-…Ab12', 200],
          ['bearer', 'sk-ant-api03-…Ab12', 429],
          ['bearer', 'sk-ant-api03-…b12x', 401],
          ['bearer', expect.any(String), 401],
        ]);
      },
    );

    it('should list models and count tokens', async () => {
      const models = await fetch(`${fake.anthropicBaseUrl}/v1/models`, { headers: anthropicHeaders });
      expect(models.status).toBe(200);
      const list = (await models.json()) as { data: { type: string; id: string }[]; has_more: boolean };
      expect(list.has_more).toBe(false);
      expect(list.data.map((m) => m.type)).toEqual(['model', 'model', 'model']);
      const body = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(396) }] });
      const count = await fetch(`${fake.anthropicBaseUrl}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: anthropicHeaders,
        body,
      });
      expect(body.length).toBe(439);
      expect(await count.json()).toEqual({ input_tokens: 110 }); // a rough 4 bytes a token, rounded up
      expect(fake.requests.map((r) => r.route)).toEqual(['anthropic.models', 'anthropic.countTokens']);
    });
  });

  describe('OpenAI', () => {
    it('should stream a Responses answer the way Codex reads it, ending in response.completed with usage', async () => {
      fake.enqueue(
        'openai',
        fakeStep.reply({
          text: 'pong',
          usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 2, reasoningTokens: 1 },
        }),
      );
      const res = await responses();
      expect(res.headers.get('x-request-id')).toMatch(/^req_fake/);
      const events = parseSse(await res.text());
      expect(events.map((e) => e.event)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(events.map((e) => json(e).sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(json(events[8]).item).toMatchObject({
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'pong', annotations: [] }],
      });
      const completed = json(events[9]).response as Record<string, unknown>;
      expect(completed).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-test' });
      expect(completed.usage).toEqual({
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 2 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 1 },
        total_tokens: 15,
      });
      expect(fake.requests[0]).toMatchObject({
        route: 'openai.responses',
        provider: 'openai',
        stream: true,
        model: 'gpt-test',
        auth: { scheme: 'bearer', hint: 'sk-proj-…Ef56' },
      });
    });

    it('should answer a non-streamed Responses request with the completed response object', async () => {
      const res = await responses({ stream: false });
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        object: 'response',
        status: 'completed',
        usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      });
    });

    it('should answer chat completions as JSON and as a stream with a usage chunk and [DONE]', async () => {
      const post = (body: Record<string, unknown>): Promise<Response> =>
        fetch(`${fake.openaiBaseUrl}/chat/completions`, {
          method: 'POST',
          headers: openaiHeaders,
          body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...body }),
        });
      const plain = (await (await post({})).json()) as Record<string, unknown>;
      expect(plain).toMatchObject({
        object: 'chat.completion',
        model: 'gpt-test',
        choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
      const streamed = parseSse(await (await post({ stream: true, stream_options: { include_usage: true } })).text());
      expect(streamed.at(-1)).toEqual({ event: undefined, data: '[DONE]' });
      const chunks = streamed.slice(0, -1).map(json);
      expect(chunks.map((c) => c.object)).toEqual(Array(chunks.length).fill('chat.completion.chunk'));
      const text = chunks
        .flatMap((c) => (c.choices as { delta: { content?: string } }[]).map((choice) => choice.delta.content ?? ''))
        .join('');
      expect(text).toBe('pong');
      expect(chunks.at(-1)).toMatchObject({
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
    });

    it('should refuse a wrong or missing key with the real 401 bodies, showing the key only as a hint', async () => {
      const wrong = await responses({}, { authorization: 'Bearer sk-proj-WrongKeyWrongKeyWrong9876' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({
        error: {
          message:
            'Incorrect API key provided: sk-proj-…9876. You can find your API key at https://platform.openai.com/account/api-keys.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      const missing = await responses({}, { 'content-type': 'application/json' });
      expect(missing.status).toBe(401);
      expect(((await missing.json()) as { error: { message: string; code: unknown } }).error).toMatchObject({
        code: 'invalid_api_key',
        message: expect.stringMatching(/^You didn't provide an API key/),
      });
    });

    it('should list models in the OpenAI shape when no Anthropic header is sent', async () => {
      const list = (await (await fetch(`${fake.openaiBaseUrl}/models`, { headers: openaiHeaders })).json()) as {
        object: string;
        data: { object: string }[];
      };
      expect(list.object).toBe('list');
      expect(list.data.every((m) => m.object === 'model')).toBe(true);
    });

    it('should read a gzip-compressed request body', async () => {
      const body = gzipSync(JSON.stringify({ model: 'gpt-gzip', stream: true, input: 'hi' }));
      const res = await fetch(`${fake.openaiBaseUrl}/responses`, {
        method: 'POST',
        headers: { ...openaiHeaders, 'content-encoding': 'gzip' },
        body,
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(fake.requests[0]).toMatchObject({ model: 'gpt-gzip', stream: true, bodyProblem: undefined });
    });
  });

  describe('faults', () => {
    const expected: Record<FakeFault, { claude: [number, string]; openai: [number, string] }> = {
      unauthorized: { claude: [401, 'authentication_error'], openai: [401, 'invalid_api_key'] },
      forbidden: { claude: [403, 'permission_error'], openai: [403, 'unsupported_country_region_territory'] },
      rateLimited: { claude: [429, 'rate_limit_error'], openai: [429, 'rate_limit_exceeded'] },
      insufficientQuota: { claude: [400, 'invalid_request_error'], openai: [429, 'insufficient_quota'] },
      overloaded: { claude: [529, 'overloaded_error'], openai: [503, 'server_error'] },
      serverError: { claude: [500, 'api_error'], openai: [500, 'server_error'] },
      unavailable: { claude: [503, 'api_error'], openai: [503, 'server_error'] },
      notFound: { claude: [404, 'not_found_error'], openai: [404, 'model_not_found'] },
      invalidRequest: { claude: [400, 'invalid_request_error'], openai: [400, 'invalid_request_error'] },
    };

    it.each(FAKE_FAULTS)("should send %s with each provider's real status and error body", async (fault) => {
      fake.enqueue('claude', fakeStep.error(fault));
      fake.enqueue('openai', fakeStep.error(fault));
      const claude = await messages({ stream: true });
      const [claudeStatus, claudeType] = expected[fault].claude;
      expect(claude.status).toBe(claudeStatus);
      const claudeBody = (await claude.json()) as { type: string; error: { type: string; message: string } };
      expect(claudeBody.type).toBe('error');
      expect(claudeBody.error.type).toBe(claudeType);
      expect(claudeBody.error.message.length).toBeGreaterThan(0);
      expect(claude.headers.get('request-id')).toMatch(/^req_fake/);

      const openai = await responses();
      const [openaiStatus, openaiCode] = expected[fault].openai;
      expect(openai.status).toBe(openaiStatus);
      const openaiBody = (await openai.json()) as {
        error: { type: string; code: string | null; param: unknown; message: string };
      };
      expect(openaiBody.error.param).toBeNull();
      expect(openaiBody.error.code ?? openaiBody.error.type).toBe(openaiCode);
      expect(fake.requests.map((r) => r.answer)).toEqual([
        { status: claudeStatus, step: 'error' },
        { status: openaiStatus, step: 'error' },
      ]);
    });

    it('should send retry-after and the rate-limit headers with a 429', async () => {
      const before = Date.now();
      fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 7 }));
      fake.enqueue(
        'openai',
        fakeStep.error('rateLimited', { retryAfterSeconds: 7 }),
        fakeStep.error('insufficientQuota'),
      );
      const claude = await messages({});
      expect(claude.headers.get('retry-after')).toBe('7');
      expect(claude.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
      expect(claude.headers.get('anthropic-ratelimit-tokens-remaining')).toBe('0');
      const reset = Date.parse(claude.headers.get('anthropic-ratelimit-tokens-reset') ?? '');
      expect(reset).toBeGreaterThanOrEqual(before + 7000);
      expect(reset).toBeLessThan(Date.now() + 8000);
      const openai = await responses();
      expect(openai.headers.get('retry-after')).toBe('7');
      expect(openai.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
      expect(openai.headers.get('x-ratelimit-reset-tokens')).toBe('7s');
      const quota = await responses();
      expect(quota.status).toBe(429);
      expect(quota.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    });

    it('should send the unified subscription limit headers on a 429 to an OAuth bearer', async () => {
      fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 60 }));
      const res = await messages(
        {},
        {
          authorization: `Bearer ${OAUTH_TOKEN}`,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'oauth-2025-04-20',
        },
      );
      expect(res.status).toBe(429);
      expect(res.headers.get('anthropic-ratelimit-unified-status')).toBe('rejected');
      expect(Number(res.headers.get('anthropic-ratelimit-unified-reset'))).toBeGreaterThan(Date.now() / 1000 + 59);
      expect(res.headers.get('anthropic-ratelimit-tokens-remaining')).toBeNull();
    });

    it('should use queued steps first, then the script, then the default reply', async () => {
      fake.setScript('claude', (request) => (request.stream ? fakeStep.error('overloaded') : undefined));
      fake.enqueue('claude', fakeStep.error('serverError'));
      expect((await messages({ stream: true })).status).toBe(500);
      expect((await messages({ stream: true })).status).toBe(529);
      expect((await messages({})).status).toBe(200);
      fake.setScript('claude', fakeStep.error('forbidden'));
      expect((await messages({})).status).toBe(403);
      fake.setScript('claude', undefined);
      expect((await messages({})).status).toBe(200);
      // OpenAI's queue is its own.
      expect((await responses()).status).toBe(200);
    });

    it('should cut the connection without an answer', async () => {
      fake.enqueue('openai', fakeStep.cut());
      await expect(responses()).rejects.toThrow('fetch failed');
      expect(fake.requests[0]?.answer).toEqual({ status: 0, step: 'cut' });
    });

    it('should end a truncated stream before its terminal event', async () => {
      fake.enqueue('claude', fakeStep.truncate());
      fake.enqueue('openai', fakeStep.truncate());
      const claude = parseSse(await (await messages({ stream: true })).text());
      expect(claude.map((e) => e.event)).toEqual([
        'message_start',
        'content_block_start',
        'ping',
        'content_block_delta',
      ]);
      const openai = parseSse(await (await responses()).text());
      expect(openai.map((e) => e.event)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
      ]);
    });

    it('should cut a non-streamed body in half', async () => {
      fake.enqueue('claude', fakeStep.truncate());
      const text = await (await messages({})).text();
      expect(text.startsWith('{"id":"msg_fake')).toBe(true);
      expect(() => JSON.parse(text) as unknown).toThrow();
    });

    it('should reset the socket mid-stream with ending destroy, and hold it open with hang', async () => {
      fake.enqueue('openai', fakeStep.truncate({ ending: 'destroy' }), fakeStep.truncate({ ending: 'hang' }));
      const destroyed = await responses();
      expect(destroyed.status).toBe(200);
      await expect(destroyed.text()).rejects.toThrow();
      const hanging = await responses({}, openaiHeaders);
      const reader = hanging.body?.getReader();
      const first = await reader?.read();
      expect(new TextDecoder().decode(first?.value)).toContain('response.created');
      const drain = async (): Promise<string> => {
        for (;;) if ((await reader!.read()).done) return 'ended';
      };
      // Whatever of the five kept events is still buffered is read; then the stream stays open.
      const ending = drain();
      const outcome = await Promise.race([
        ending,
        new Promise((resolve) => setTimeout(() => resolve('still open'), 300)),
      ]);
      expect(outcome).toBe('still open');
      await fake.close(); // destroys the hanging stream, and resolves
      await expect(ending).rejects.toThrow('terminated');
    });

    it('should report an error inside a stream: Anthropic event error, OpenAI response.failed', async () => {
      fake.enqueue('claude', fakeStep.streamError('overloaded'));
      fake.enqueue('openai', fakeStep.streamError('insufficientQuota'));
      const claude = await messages({ stream: true });
      expect(claude.status).toBe(200);
      const claudeEvents = parseSse(await claude.text());
      expect(claudeEvents.map((e) => e.event)).toEqual(['message_start', 'error']);
      expect(json(claudeEvents[1])).toEqual({
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
      });
      const openaiEvents = parseSse(await (await responses()).text());
      expect(openaiEvents.map((e) => e.event)).toEqual(['response.created', 'response.failed']);
      expect((json(openaiEvents[1]).response as { status: string; error: { code: string } }).error.code).toBe(
        'insufficient_quota',
      );
      fake.enqueue('claude', fakeStep.streamError('overloaded'));
      expect((await messages({})).status).toBe(529); // not streamed: the fault as an HTTP error
    });

    it('should wait delayMs before answering', async () => {
      fake.enqueue('claude', fakeStep.reply({ delayMs: 300 }));
      const started = performance.now();
      await (await messages({})).json();
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    });
  });

  describe('unknown routes and records', () => {
    it("should answer unknown paths with each API's 404, record and log them", async () => {
      const anthropic = await fetch(`${fake.url}/api/oauth/profile`, { headers: anthropicHeaders });
      expect(anthropic.status).toBe(404);
      expect(await anthropic.json()).toEqual({
        type: 'error',
        error: { type: 'not_found_error', message: 'Not Found' },
      });
      const openai = await fetch(`${fake.url}/backend-api/wham/usage?x=1`, { headers: openaiHeaders });
      expect(openai.status).toBe(404);
      expect(await openai.json()).toEqual({
        error: {
          message: 'Invalid URL (GET /backend-api/wham/usage?x=1)',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
      expect(fake.unknownRequests().map((r) => [r.method, r.path, r.provider])).toEqual([
        ['GET', '/api/oauth/profile', 'claude'],
        ['GET', '/backend-api/wham/usage?x=1', 'openai'],
      ]);
      expect(logged).toEqual([
        'provider API fake: no route for GET /api/oauth/profile (looks like claude); answered 404',
        'provider API fake: no route for GET /backend-api/wham/usage?x=1 (looks like openai); answered 404',
      ]);
    });

    it("should answer Claude Code's HEAD / probe without credentials", async () => {
      const res = await fetch(`${fake.url}/`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(fake.requests[0]?.route).toBe('probe');
    });

    it('should never show a credential when its records are printed', async () => {
      await messages({});
      await messages(
        {},
        {
          authorization: `Bearer ${OAUTH_TOKEN}`,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'oauth-2025-04-20',
        },
      );
      await (await responses()).text();
      const printed = [JSON.stringify(fake.requests), inspect(fake.requests, { depth: 10 }), ...logged].join('\n');
      for (const secret of [CLAUDE_KEY, OAUTH_TOKEN, OPENAI_KEY]) expect(printed).not.toContain(secret.slice(12, 40));
      expect(fake.requests.map((r) => r.auth.credential?.reveal())).toEqual([CLAUDE_KEY, OAUTH_TOKEN, OPENAI_KEY]);
      fake.clearRequests();
      expect(fake.requests).toHaveLength(0);
    });

    it('should tell onRequest of each request as it is recorded, before it is answered', async () => {
      await fake.close();
      const told: { route: string; answered: boolean; recorded: number }[] = [];
      fake = await startProviderApiFake({
        keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY },
        onRequest: (request) =>
          told.push({ route: request.route, answered: request.answer !== undefined, recorded: fake.requests.length }),
      });
      await fetch(`${fake.url}/`, { method: 'HEAD' });
      await messages({});
      await (await responses()).text();
      expect(told).toEqual([
        { route: 'probe', answered: false, recorded: 1 },
        { route: 'anthropic.messages', answered: false, recorded: 2 },
        { route: 'openai.responses', answered: false, recorded: 3 },
      ]);
    });

    it('should accept any non-empty credential for a provider without configured keys', async () => {
      await fake.close();
      fake = await startProviderApiFake();
      expect((await responses({}, { authorization: 'Bearer anything-goes' })).status).toBe(200);
      expect((await messages({}, { 'x-api-key': 'whatever', 'anthropic-version': '2023-06-01' })).status).toBe(200);
      expect((await responses({}, {})).status).toBe(401);
    });
  });
});
