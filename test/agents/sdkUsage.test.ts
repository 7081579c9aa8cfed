/**
 * The SDK helpers with plain objects shaped as the official SDKs build them (the integration test,
 * test/agents/sdkAgents.int.test.ts, runs the SDKs themselves): usage with cache tokens, and
 * failure reports the orchestrator classifies as it would the raw answer.
 */
import { classifyFailure } from '../../src/orchestrator';
import { isAgentvisorError } from '../../src/errors';
import { reportFailureFrom, usageFromAnthropic, usageFromOpenAI } from '../../src';

const SECRET_TEXT = 'sk-proj-UnitTestSecretThatMustNotBeEchoed1234';

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** An error shaped as both SDKs' `APIError`: own `status`, `headers` and `error`, set even when undefined. */
function apiError(
  name: string,
  message: string,
  fields: { status?: number; headers?: Headers; error?: unknown; cause?: unknown },
): Error {
  const error = Object.assign(new Error(message), {
    status: fields.status,
    headers: fields.headers,
    error: fields.error,
  });
  error.name = name;
  if (fields.cause !== undefined) Object.assign(error, { cause: fields.cause });
  return error;
}

describe('usageFromAnthropic', () => {
  it('should count fresh, cache-write and cache-read input tokens, from a message or its usage', () => {
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'pong' }],
      usage: {
        input_tokens: 3,
        cache_creation_input_tokens: 20,
        cache_read_input_tokens: 100,
        output_tokens: 7,
        service_tier: 'standard',
      },
    };
    expect(usageFromAnthropic(message)).toEqual({ inputTokens: 123, outputTokens: 7 });
    expect(usageFromAnthropic(message.usage)).toEqual({ inputTokens: 123, outputTokens: 7 });
    expect(
      usageFromAnthropic({
        type: 'message',
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: null },
      }),
    ).toEqual({ inputTokens: 10, outputTokens: 5 });
  });

  it('should refuse cache token counts that are not whole numbers >= 0 instead of counting them as 0', () => {
    for (const bad of [-3, '100', 1.5, Number.NaN]) {
      for (const field of ['cache_creation_input_tokens', 'cache_read_input_tokens']) {
        const error = thrown(() => usageFromAnthropic({ usage: { input_tokens: 5, output_tokens: 2, [field]: bad } }));
        expect(isAgentvisorError(error, 'invalid-usage')).toBe(true);
        expect((error as Error).message).toContain(field);
      }
    }
  });

  it('should refuse what is not an Anthropic message with invalid-usage, naming the shape and never the contents', () => {
    const cases: [unknown, RegExp][] = [
      [null, /needs an Anthropic Messages API message .* \(got null\)/],
      ['pong', /\(got string\)/],
      [
        { type: 'message', content: [{ type: 'text', text: SECRET_TEXT }] },
        /needs an Anthropic Messages API message.*\(got an object with type, content\)/,
      ],
      [{ type: 'message', usage: null }, /its usage is null/],
      [{ usage: { input_tokens: -1, output_tokens: 2 } }, /as whole numbers >= 0/],
      [{ usage: { input_tokens: 1.5, output_tokens: 2 } }, /as whole numbers >= 0/],
      [
        {
          object: 'response',
          usage: { input_tokens: 1, output_tokens: 2, input_tokens_details: { cached_tokens: 0 } },
        },
        /this is an OpenAI response: use usageFromOpenAI/,
      ],
      [{ object: 'chat.completion', usage: { prompt_tokens: 1, completion_tokens: 2 } }, /this is an OpenAI response/],
    ];
    for (const [value, message] of cases) {
      const error = thrown(() => usageFromAnthropic(value));
      expect(isAgentvisorError(error, 'invalid-usage')).toBe(true);
      expect((error as Error).message).toMatch(/^usageFromAnthropic: /);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(SECRET_TEXT);
    }
  });
});

describe('usageFromOpenAI', () => {
  it('should read a Responses API response: cached input is inside input_tokens, reasoning inside output_tokens', () => {
    const response = {
      object: 'response',
      status: 'completed',
      usage: {
        input_tokens: 120,
        input_tokens_details: { cached_tokens: 100 },
        output_tokens: 30,
        output_tokens_details: { reasoning_tokens: 12 },
        total_tokens: 150,
      },
    };
    expect(usageFromOpenAI(response)).toEqual({ inputTokens: 120, outputTokens: 30 });
  });

  it('should read a Chat Completion and the usage chunk of a stream', () => {
    const completion = {
      object: 'chat.completion',
      choices: [],
      usage: {
        prompt_tokens: 50,
        completion_tokens: 9,
        total_tokens: 59,
        prompt_tokens_details: { cached_tokens: 40 },
        completion_tokens_details: { reasoning_tokens: 4 },
      },
    };
    expect(usageFromOpenAI(completion)).toEqual({ inputTokens: 50, outputTokens: 9 });
    expect(
      usageFromOpenAI({
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 8, completion_tokens: 2 },
      }),
    ).toEqual({ inputTokens: 8, outputTokens: 2 });
  });

  it('should refuse a missing usage, an Anthropic message and other values with invalid-usage', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /\(got undefined\)/],
      [{ object: 'chat.completion.chunk', choices: [], usage: null }, /its usage is null/],
      [{ usage: { prompt_tokens: 5 } }, /as whole numbers >= 0/],
      [
        { type: 'message', usage: { input_tokens: 3, output_tokens: 7 } },
        /this is an Anthropic message: use usageFromAnthropic/,
      ],
      [
        { usage: { input_tokens: 3, cache_read_input_tokens: 100, output_tokens: 7 } },
        /use usageFromAnthropic \(it counts the cache tokens\)/,
      ],
      [[1, 2], /\(got an array\)/],
    ];
    for (const [value, message] of cases) {
      const error = thrown(() => usageFromOpenAI(value));
      expect(isAgentvisorError(error, 'invalid-usage')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('reportFailureFrom', () => {
  it('should report an Anthropic APIError as its status, headers and whole body', () => {
    const headers = new Headers({ 'retry-after': '7', 'request-id': 'req_1' });
    const body = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    const report = reportFailureFrom(
      apiError('OverloadedError', '529 Overloaded (request_id: req_1)', { status: 529, headers, error: body }),
    );
    expect(report).toEqual({ status: 529, headers, body, message: '529 Overloaded (request_id: req_1)' });
    expect(classifyFailure(report, 'claude')).toMatchObject({ kind: 'overloaded', status: 529, retryAfterMs: 7000 });
  });

  it("should wrap OpenAI's inner error back into a body, so insufficient_quota is quota and not a rate limit, and mask keys in the message", () => {
    const inner = {
      message: `Incorrect API key provided: ${SECRET_TEXT}`,
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    };
    const report = reportFailureFrom(
      apiError('Error', `429 ${inner.message}`, { status: 429, headers: new Headers(), error: inner }),
    );
    expect(report.body).toEqual({ error: inner });
    expect(report.message).toBe('429 Incorrect API key provided: sk-…1234');
    expect(classifyFailure(report, 'openai').kind).toBe('quota');
  });

  it('should classify an error event inside a stream (no status) from its body', () => {
    const anthropic = reportFailureFrom(
      apiError('APIError', 'Overloaded', {
        headers: new Headers(),
        error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      }),
    );
    expect(anthropic).toMatchObject({ kind: 'overloaded', message: 'Error overloaded_error: Overloaded' });
    expect(anthropic).not.toHaveProperty('status');
    expect(classifyFailure(anthropic, 'claude').kind).toBe('overloaded');
    const openai = reportFailureFrom(
      apiError('Error', 'The server had an error', {
        error: { message: 'The server had an error', type: 'server_error', code: null },
      }),
    );
    expect(openai).toMatchObject({ kind: 'server' });
  });

  it('should classify a Responses API response that ended failed (what stream.finalResponse() gives)', () => {
    const failed = {
      object: 'response',
      status: 'failed',
      usage: null,
      error: { code: 'rate_limit_exceeded', message: 'Rate limit reached. Please try again in 2s.' },
    };
    expect(reportFailureFrom(failed)).toMatchObject({ kind: 'rate-limit', retryAfterMs: 2000 });
    const error = thrown(() => reportFailureFrom({ object: 'response', status: 'completed', error: null }));
    expect(isAgentvisorError(error, 'invalid-failure')).toBe(true);
    expect((error as Error).message).toContain('a response with status "completed" is not a failure');
  });

  it('should tell timeouts, cut streams and network failures apart', () => {
    class APIConnectionTimeoutError extends Error {}
    const timeout = reportFailureFrom(
      Object.assign(new APIConnectionTimeoutError('Request timed out.'), {
        status: undefined,
        headers: undefined,
        error: undefined,
      }),
    );
    expect(timeout).toMatchObject({ kind: 'timeout', message: 'Request timed out.' });
    const aborted = apiError('Error', 'Request timed out.', {
      cause: Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }),
    });
    expect(reportFailureFrom(aborted).kind).toBe('timeout');

    const cutMidStream = apiError('APIConnectionError', 'Connection error.', {
      cause: Object.assign(new TypeError('terminated'), { cause: { code: 'UND_ERR_SOCKET' } }),
    });
    expect(reportFailureFrom(cutMidStream)).toMatchObject({ kind: 'truncated', error: cutMidStream });
    expect(
      reportFailureFrom(
        Object.assign(new Error('stream ended without producing a Message with role=assistant'), {
          name: 'AnthropicError',
        }),
      ).kind,
    ).toBe('truncated');

    const refused = apiError('APIConnectionError', 'Connection error.', {
      cause: Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      }),
    });
    const report = reportFailureFrom(refused);
    expect(report).toEqual({ error: refused, message: 'Connection error.' });
    expect(classifyFailure(report, 'claude').kind).toBe('network');
  });

  it("should refuse values that are not errors, and the agent's own bugs, with invalid-failure", () => {
    for (const value of [null, undefined, 'boom', 42, { status: 'bad' }]) {
      expect(
        isAgentvisorError(
          thrown(() => reportFailureFrom(value)),
          'invalid-failure',
        ),
      ).toBe(true);
    }
    // The agent's own JSON.parse of a model's text is its bug; only the SDKs' parse of a body is a cut answer.
    const ownParse = thrown(() => JSON.parse('{"path": "src/'));
    expect(
      isAgentvisorError(
        thrown(() => reportFailureFrom(ownParse)),
        'invalid-failure',
      ),
    ).toBe(true);
    expect(
      isAgentvisorError(
        thrown(() => reportFailureFrom({ object: 'response', status: 'incomplete' })),
        'invalid-failure',
      ),
    ).toBe(true);
    const bug = thrown(() => reportFailureFrom(new TypeError(`client.mesages is undefined near ${SECRET_TEXT}`)));
    expect(isAgentvisorError(bug, 'invalid-failure')).toBe(true);
    expect((bug as Error).message).toBe(
      'reportFailureFrom: not a provider or connection failure (TypeError: client.mesages is undefined near sk-…1234): rethrow it',
    );
  });
});
