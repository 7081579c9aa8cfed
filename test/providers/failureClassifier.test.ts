/**
 * Failure classification against the wire shapes in /work/shared/reference/agent-clis.md: Anthropic
 * and OpenAI error bodies and rate-limit headers, thrown fetch errors, Claude Code's
 * `--output-format json` result and Codex's `exec --json` lines.
 */
import fc from 'fast-check';
import { isAgentvisorError } from '../../src';
import type { ErrorCode } from '../../src';
import {
  classifyClaudeCodeResult,
  classifyCodexEvents,
  classifyFailureText,
  classifyHttpFailure,
  classifyNetworkError,
} from '../../src/providers';
import type { HttpFailureInput, ProviderFailure } from '../../src/providers';
import { PROVIDER_SAMPLES_NOW } from '../helpers/timeOrigin';

const ANTHROPIC_KEY = 'sk-ant-api03-Q3xv9Lr2mT8pZk4WcYb7NdHs1JfUe6AoGiR5qBnVtXy0-l2KmWXYZ';
const OPENAI_KEY = 'sk-proj-7hG2kLm9Qw4Rt6Yp1Zx3Vb8Nc5Dj0FaSeUi2Oo4Pq6Ir8AbCD';

function anthropicBody(type: string, message: string): Record<string, unknown> {
  return { type: 'error', error: { type, message } };
}

function openaiBody(message: string, type: string | null, code: string | null): Record<string, unknown> {
  return { error: { message, type, param: null, code } };
}

function http(input: Omit<HttpFailureInput, 'now'>): ProviderFailure {
  return classifyHttpFailure({ now: PROVIDER_SAMPLES_NOW, ...input });
}

function codeOf(call: () => unknown): ErrorCode | null {
  try {
    call();
  } catch (error) {
    if (isAgentvisorError(error)) return error.code;
    throw error;
  }
  return null;
}

/** Malformed input, as a host in plain JavaScript could pass it. */
function loose<T>(value: unknown): T {
  return value as T;
}

describe('classifyHttpFailure: Anthropic', () => {
  it.each([
    [401, 'authentication_error', 'invalid x-api-key', 'auth'],
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.', 'auth'],
    [529, 'overloaded_error', 'Overloaded', 'overloaded'],
    [500, 'api_error', 'Internal server error', 'server'],
    [500, 'overloaded_error', 'Overloaded', 'overloaded'],
    [400, 'invalid_request_error', 'messages: at least one message is required', 'invalid-request'],
    [404, 'not_found_error', 'model: claude-nonexistent', 'invalid-request'],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', 'invalid-request'],
    [
      400,
      'invalid_request_error',
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      'quota',
    ],
  ])('should classify HTTP %i %s %j as %s', (status, type, message, kind) => {
    const failure = http({ provider: 'claude', status, body: anthropicBody(type, message) });
    expect(failure.kind).toBe(kind);
    expect(failure.status).toBe(status);
    expect(failure.message).toBe(`HTTP ${status} ${type}: ${message}`);
  });

  it('should read a 429 with retry-after and the rate-limit headers: the exhausted limit resets last', () => {
    const failure = http({
      provider: 'claude',
      status: 429,
      headers: {
        'retry-after': '17',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2025-06-01T20:00:17Z',
        'anthropic-ratelimit-tokens-remaining': '12000',
        'anthropic-ratelimit-tokens-reset': '2025-06-01T20:01:00Z',
      },
      body: JSON.stringify(
        anthropicBody('rate_limit_error', 'Number of requests has exceeded your per-minute rate limit'),
      ),
    });
    expect(failure).toEqual({
      ok: false,
      kind: 'rate-limit',
      provider: 'claude',
      status: 429,
      retryAfterMs: 17_000,
      resetAt: Date.parse('2025-06-01T20:00:17Z'),
      throttle: 'server',
      message: 'HTTP 429 rate_limit_error: Number of requests has exceeded your per-minute rate limit',
      remaining: { tokens: 12_000, requests: 0 },
    });
  });

  it('should wait until the reset when a 429 has reset headers but no retry-after', () => {
    const failure = http({
      provider: 'claude',
      status: 429,
      headers: {
        'anthropic-ratelimit-input-tokens-remaining': '0',
        'anthropic-ratelimit-input-tokens-reset': '2025-06-01T20:00:42Z',
        'anthropic-ratelimit-output-tokens-remaining': '900',
      },
      body: anthropicBody('rate_limit_error', 'rate limited'),
    });
    expect([failure.kind, failure.retryAfterMs, failure.resetAt, failure.remaining]).toEqual([
      'rate-limit',
      42_000,
      PROVIDER_SAMPLES_NOW + 42_000,
      { tokens: 0 },
    ]);
  });

  it('should take a 429 with anthropic-ratelimit-unified-status rejected as the subscription usage limit', () => {
    const failure = http({
      provider: 'claude',
      status: 429,
      headers: { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': '1748815200' },
      body: anthropicBody(
        'rate_limit_error',
        "This request would exceed your account's rate limit. Please try again later.",
      ),
    });
    expect([failure.kind, failure.throttle, failure.resetAt, failure.retryAfterMs]).toEqual([
      'quota',
      'usage-limit',
      1_748_815_200_000,
      1_748_815_200_000 - PROVIDER_SAMPLES_NOW,
    ]);
  });

  it('should read an error event inside a 200 stream (status null)', () => {
    expect(
      http({ provider: 'claude', status: null, body: anthropicBody('overloaded_error', 'Overloaded') }),
    ).toMatchObject({ kind: 'overloaded', status: null, message: 'Error overloaded_error: Overloaded' });
    expect(
      http({ provider: 'claude', status: null, body: anthropicBody('api_error', 'Internal server error') }).kind,
    ).toBe('server');
  });
});

describe('classifyHttpFailure: OpenAI', () => {
  it('should classify 401 invalid_api_key as auth although its type is invalid_request_error', () => {
    const failure = http({
      provider: 'openai',
      status: 401,
      body: openaiBody('Incorrect API key provided: sk-abc***xyz.', 'invalid_request_error', 'invalid_api_key'),
    });
    expect([failure.kind, failure.throttle]).toEqual(['auth', null]);
  });

  it('should classify a 429 insufficient_quota as quota, not a rate limit', () => {
    const failure = http({
      provider: 'openai',
      status: 429,
      body: openaiBody(
        'You exceeded your current quota, please check your plan and billing details.',
        'insufficient_quota',
        'insufficient_quota',
      ),
    });
    expect(failure).toEqual({
      ok: false,
      kind: 'quota',
      provider: 'openai',
      status: 429,
      retryAfterMs: null,
      resetAt: null,
      throttle: 'usage-limit',
      message:
        'HTTP 429 insufficient_quota: You exceeded your current quota, please check your plan and billing details.',
    });
  });

  it('should read x-ratelimit-* durations and prefer the message\'s "try again in" to the reset for the wait', () => {
    const failure = http({
      provider: 'openai',
      status: 429,
      headers: {
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
        'x-ratelimit-remaining-requests': '99',
        'x-ratelimit-reset-requests': '20ms',
      },
      body: openaiBody(
        'Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 30000, Requested 512. Please try again in 1.5s.',
        'tokens',
        'rate_limit_exceeded',
      ),
    });
    expect([failure.kind, failure.retryAfterMs, failure.resetAt, failure.remaining]).toEqual([
      'rate-limit',
      1_500,
      PROVIDER_SAMPLES_NOW + 360_000,
      { tokens: 0, requests: 99 },
    ]);
  });

  it('should wait until the exhausted limit resets when nothing else says how long', () => {
    const failure = http({
      provider: 'openai',
      status: 429,
      headers: {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-reset-tokens': '6m0s',
      },
      body: openaiBody('Rate limit reached', 'requests', 'rate_limit_exceeded'),
    });
    expect([failure.retryAfterMs, failure.resetAt]).toEqual([1_000, PROVIDER_SAMPLES_NOW + 1_000]);
  });

  it.each([
    [500, openaiBody('The server had an error while processing your request.', 'server_error', null), 'server'],
    [
      503,
      openaiBody('The engine is currently overloaded, please try again later.', 'server_error', null),
      'overloaded',
    ],
    [
      400,
      openaiBody(
        "This model's maximum context length is 128000 tokens.",
        'invalid_request_error',
        'context_length_exceeded',
      ),
      'invalid-request',
    ],
    [
      404,
      openaiBody(
        'The model `gpt-9` does not exist or you do not have access to it.',
        'invalid_request_error',
        'model_not_found',
      ),
      'invalid-request',
    ],
    [408, null, 'timeout'],
    [418, null, 'invalid-request'],
    [502, '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>', 'server'],
  ])('should classify HTTP %i as the expected kind', (status, body, kind) => {
    expect(http({ provider: 'openai', status, body }).kind).toBe(kind);
  });

  it("should read the ChatGPT backend's usage_limit_reached (Codex login) with its resets_at", () => {
    const failure = http({
      provider: 'openai',
      status: 429,
      body: {
        error: {
          type: 'usage_limit_reached',
          message: 'The usage limit has been reached',
          plan_type: 'plus',
          resets_at: 1_748_822_400,
          resets_in_seconds: 22_400,
        },
      },
    });
    expect([failure.kind, failure.resetAt, failure.retryAfterMs]).toEqual([
      'quota',
      1_748_822_400_000,
      1_748_822_400_000 - PROVIDER_SAMPLES_NOW,
    ]);
  });

  it('should describe a failure without a body by its status', () => {
    expect(http({ provider: 'openai', status: 500 }).message).toBe('HTTP 500 with no error message');
  });
});

describe('classifyHttpFailure: headers', () => {
  it('should read a Fetch Headers object, names in any case, and an HTTP-date Retry-After', () => {
    const now = Date.parse('2015-10-21T07:27:00Z');
    const failure = classifyHttpFailure({
      provider: 'openai',
      status: 503,
      headers: new Headers({ 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' }),
      now,
    });
    expect([failure.kind, failure.retryAfterMs, failure.throttle]).toEqual(['overloaded', 60_000, 'server']);
  });

  it('should read a plain object with names in any case and prefer retry-after-ms', () => {
    expect(
      http({ provider: 'openai', status: 429, headers: { 'Retry-After': '2', 'Retry-After-Ms': '1500' } }).retryAfterMs,
    ).toBe(1_500);
    expect(http({ provider: 'openai', status: 429, headers: { 'RETRY-AFTER': ['3', '9'] } }).retryAfterMs).toBe(3_000);
  });

  it('should read a retry-after-ms with decimals as both SDKs do (parseFloat), rounded up, and skip a negative one', () => {
    expect(
      http({ provider: 'openai', status: 429, headers: { 'retry-after-ms': '1500.25', 'retry-after': '9' } })
        .retryAfterMs,
    ).toBe(1_501);
    expect(
      http({ provider: 'claude', status: 429, headers: { 'retry-after-ms': '-5', 'retry-after': '3' } }).retryAfterMs,
    ).toBe(3_000);
  });

  it('should ignore an unreadable Retry-After and count a past HTTP-date as 0', () => {
    expect(http({ provider: 'claude', status: 529, headers: { 'retry-after': 'soon' } }).retryAfterMs).toBeNull();
    expect(
      http({ provider: 'claude', status: 529, headers: { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' } })
        .retryAfterMs,
    ).toBe(0);
  });
});

describe('classifyHttpFailure: messages are safe', () => {
  it('should mask an Anthropic key and an OpenAI project key quoted in a provider message', () => {
    const claude = http({
      provider: 'claude',
      status: 401,
      body: anthropicBody('authentication_error', `invalid x-api-key ${ANTHROPIC_KEY}`),
    });
    const openai = http({
      provider: 'openai',
      status: 401,
      body: openaiBody(
        `Incorrect API key provided: ${OPENAI_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      ),
    });
    expect(claude.message).toBe('HTTP 401 authentication_error: invalid x-api-key sk-ant-…WXYZ');
    expect(openai.message).toBe(
      'HTTP 401 invalid_request_error: Incorrect API key provided: sk-…AbCD. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
  });

  it('should cut bearer tokens and JWTs and cap the length after masking', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLXZhbHVl';
    const failure = http({
      provider: 'openai',
      status: 401,
      body: openaiBody(`bad Authorization: Bearer ${jwt}; token ${jwt}`, null, null),
    });
    expect(failure.message).toBe('HTTP 401: bad Authorization: Bearer …; token eyJ…');
    const long = http({
      provider: 'claude',
      status: 500,
      body: anthropicBody('api_error', `${'x'.repeat(280)} ${ANTHROPIC_KEY}`),
    });
    expect(long.message).toHaveLength(300);
    expect(long.message).not.toContain('Q3xv9');
  });

  it('should never let a key through, wherever it sits in the message (property)', () => {
    const keyBody = fc.stringMatching(/^[A-Za-z0-9_-]{24,90}$/);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 400 }),
        keyBody,
        fc.string({ maxLength: 50 }),
        fc.constantFrom('sk-ant-api03-', 'sk-proj-', 'sk-'),
        (before, body, after, prefix) => {
          const key = `${prefix}${body}`;
          const failure = http({
            provider: 'openai',
            status: 401,
            body: openaiBody(`${before} ${key} ${after}`, 'invalid_request_error', 'invalid_api_key'),
          });
          expect(failure.message).not.toContain(body.slice(0, 16));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('classifyHttpFailure: input checks', () => {
  it.each([
    ['an unknown provider', { provider: 'gemini', status: 500, now: PROVIDER_SAMPLES_NOW }],
    ['a status above 599', { provider: 'claude', status: 600, now: PROVIDER_SAMPLES_NOW }],
    ['a fractional status', { provider: 'claude', status: 500.5, now: PROVIDER_SAMPLES_NOW }],
    ['no now', { provider: 'claude', status: 500 }],
    ['a timeZone that is not a string', { provider: 'claude', status: 500, now: PROVIDER_SAMPLES_NOW, timeZone: 5 }],
  ])('should refuse %s with invalid-failure', (_name, input) => {
    expect(codeOf(() => classifyHttpFailure(loose(input)))).toBe('invalid-failure');
  });
});

describe('classifyNetworkError', () => {
  function errnoError(message: string, code: string): Error {
    return Object.assign(new Error(message), { code });
  }

  it.each([
    [
      'ECONNREFUSED',
      errnoError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'),
      'network',
      'Error: connect ECONNREFUSED 127.0.0.1:9',
    ],
    ['ECONNRESET', errnoError('read ECONNRESET', 'ECONNRESET'), 'network', 'Error: read ECONNRESET'],
    [
      'undici fetch failed with an ENOTFOUND cause',
      new TypeError('fetch failed', { cause: errnoError('getaddrinfo ENOTFOUND api.example', 'ENOTFOUND') }),
      'network',
      'TypeError: fetch failed (ENOTFOUND)',
    ],
    [
      'a headers timeout cause',
      new TypeError('fetch failed', { cause: errnoError('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT') }),
      'timeout',
      'TypeError: fetch failed (UND_ERR_HEADERS_TIMEOUT)',
    ],
    [
      'ETIMEDOUT',
      errnoError('connect ETIMEDOUT 10.0.0.1:443', 'ETIMEDOUT'),
      'timeout',
      'Error: connect ETIMEDOUT 10.0.0.1:443',
    ],
    ['a thrown string', 'boom', 'network', 'boom'],
    ['undefined', undefined, 'network', 'network failure'],
  ])('should classify %s', (_name, error, kind, message) => {
    expect(classifyNetworkError({ provider: 'claude', error })).toEqual({
      ok: false,
      kind,
      provider: 'claude',
      status: null,
      retryAfterMs: null,
      resetAt: null,
      throttle: null,
      message,
    });
  });

  it('should take an AbortError and a TimeoutError as timeout', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyNetworkError({ provider: 'openai', error: controller.signal.reason }).kind).toBe('timeout');
    expect(
      classifyNetworkError({
        provider: 'openai',
        error: Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
      }).kind,
    ).toBe('timeout');
  });

  it('should call a fault after the response started truncated, whatever the cause', () => {
    const cut = new TypeError('terminated', { cause: errnoError('other side closed', 'UND_ERR_SOCKET') });
    expect(classifyNetworkError({ provider: 'openai', error: cut, midStream: true })).toMatchObject({
      kind: 'truncated',
      message: 'TypeError: terminated (UND_ERR_SOCKET)',
    });
  });

  it('should mask a key in the thrown message', () => {
    expect(classifyNetworkError({ provider: 'openai', error: new Error(`proxy refused ${OPENAI_KEY}`) }).message).toBe(
      'Error: proxy refused sk-…AbCD',
    );
  });
});

describe('classifyFailureText', () => {
  it.each([
    ['unexpected status 401 Unauthorized: Missing bearer or basic authentication in header', 'auth', 401],
    ['exceeded retry limit, last status: 429 Too Many Requests', 'rate-limit', 429],
    ['Quota exceeded. Check your plan and billing details.', 'quota', null],
    [
      'stream disconnected before completion: error sending request for url (http://127.0.0.1:9/v1/responses)',
      'truncated',
      null,
    ],
    ['API Error: Connection error.', 'network', null],
    ['API Error: Request timed out.', 'timeout', null],
    [
      "API Error: Claude's response exceeded the 32000 output token maximum. " +
        'To configure this behavior, set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.',
      'invalid-request',
      null,
    ],
    ['API Error: 500 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', 'overloaded', 500],
    ['something nobody has seen before', 'server', null],
  ])('should classify %j', (text, kind, status) => {
    const failure = classifyFailureText({ provider: 'openai', text, now: PROVIDER_SAMPLES_NOW });
    expect([failure.kind, failure.status]).toEqual([kind, status]);
  });

  it('should use unknownKind when nothing is recognised', () => {
    expect(
      classifyFailureText({ provider: 'openai', text: 'odd', now: PROVIDER_SAMPLES_NOW, unknownKind: 'truncated' })
        .kind,
    ).toBe('truncated');
  });
});

describe('usage-limit reset times', () => {
  function resetOf(text: string, now: number, timeZone?: string): number | null {
    const failure = classifyFailureText({ provider: 'claude', text, now, timeZone });
    expect(failure.kind).toBe('quota');
    return failure.resetAt;
  }

  it.each([
    ['Claude AI usage limit reached|1748815200', PROVIDER_SAMPLES_NOW, 1_748_815_200_000],
    ["You've hit your limit · resets 9:20pm (UTC)", PROVIDER_SAMPLES_NOW, Date.parse('2025-06-01T21:20:00Z')],
    [
      "You've hit your limit · resets 9:20pm (UTC)",
      Date.parse('2025-06-01T21:30:00Z'),
      Date.parse('2025-06-02T21:20:00Z'),
    ],
    [
      "You've hit your limit · resets 9:20pm (UTC)",
      Date.parse('2025-06-01T21:20:00Z'),
      Date.parse('2025-06-02T21:20:00Z'),
    ],
    [
      "You've hit your session limit · resets 3pm (America/Bogota)",
      Date.parse('2025-06-01T12:00:00Z'),
      Date.parse('2025-06-01T20:00:00Z'),
    ],
    ["You've hit your limit · resets 12am (UTC)", PROVIDER_SAMPLES_NOW, Date.parse('2025-06-02T00:00:00Z')],
    ["You've hit your limit · resets 12:30pm (UTC)", PROVIDER_SAMPLES_NOW, Date.parse('2025-06-02T12:30:00Z')],
    [
      'Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5).',
      PROVIDER_SAMPLES_NOW,
      Date.parse('2025-06-02T18:00:00Z'),
    ],
    [
      '5-hour limit reached ∙ resets 3:30am (Europe/Berlin)',
      Date.parse('2025-03-29T12:00:00Z'),
      Date.parse('2025-03-30T01:30:00Z'),
    ],
    [
      "You've hit your weekly limit · resets Jun 9, 5am (America/Bogota)",
      PROVIDER_SAMPLES_NOW,
      Date.parse('2025-06-09T10:00:00Z'),
    ],
    [
      "You've hit your weekly limit · resets Jan 3, 5am (UTC)",
      PROVIDER_SAMPLES_NOW,
      Date.parse('2026-01-03T05:00:00Z'),
    ],
    [
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), or try again in 2 hours 13 minutes.",
      PROVIDER_SAMPLES_NOW,
      PROVIDER_SAMPLES_NOW + 7_980_000,
    ],
    [
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), or try again in 1 day 2 hours 5 minutes.",
      PROVIDER_SAMPLES_NOW,
      PROVIDER_SAMPLES_NOW + 93_900_000,
    ],
  ])('should read %j', (text, now, expected) => {
    expect(resetOf(text, now)).toBe(expected);
  });

  it('should read a time printed without a zone only when a timeZone is given', () => {
    const text =
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), or try again at 3:42 PM.";
    expect(resetOf(text, PROVIDER_SAMPLES_NOW)).toBeNull();
    expect(resetOf(text, PROVIDER_SAMPLES_NOW, 'America/New_York')).toBe(Date.parse('2025-06-02T19:42:00Z'));
    expect(
      resetOf(
        "You've hit your usage limit. visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again at Mar 10th, 2026 3:39 AM.",
        PROVIDER_SAMPLES_NOW,
        'UTC',
      ),
    ).toBe(Date.parse('2026-03-10T03:39:00Z'));
  });

  it('should give null for a zone Node does not know, an impossible time or a date that does not exist', () => {
    expect(resetOf("You've hit your limit · resets 9:20pm (Mars/Olympus)", PROVIDER_SAMPLES_NOW)).toBeNull();
    expect(resetOf("You've hit your limit · resets 13pm (UTC)", PROVIDER_SAMPLES_NOW)).toBeNull();
    expect(resetOf("You've hit your limit · resets Feb 30, 5am (UTC)", PROVIDER_SAMPLES_NOW)).toBeNull();
    expect(
      resetOf("You've hit your usage limit. Limits reset every 5h and every week.", PROVIDER_SAMPLES_NOW),
    ).toBeNull();
  });

  it('should set retryAfterMs to the time until the reset', () => {
    const failure = classifyFailureText({
      provider: 'claude',
      text: "You've hit your limit · resets 9:20pm (UTC)",
      now: PROVIDER_SAMPLES_NOW,
    });
    expect([failure.retryAfterMs, failure.throttle]).toEqual([80 * 60_000, 'usage-limit']);
  });
});

describe('classifyClaudeCodeResult', () => {
  const ctx = { now: PROVIDER_SAMPLES_NOW };

  function result(fields: Record<string, unknown>): Record<string, unknown> {
    return {
      type: 'result',
      subtype: 'success',
      is_error: false,
      api_error_status: null,
      duration_ms: 1_203,
      num_turns: 1,
      result: 'pong',
      session_id: '1b0c4f8e-3f55-4c43-9a7a-6a1d0b5f2c11',
      total_cost_usd: 0.000175,
      usage: {
        input_tokens: 10,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 5,
        server_tool_use: { web_search_requests: 0 },
        service_tier: 'standard',
      },
      modelUsage: { 'claude-sonnet-4-5': { inputTokens: 10, outputTokens: 5 } },
      ...fields,
    };
  }

  const ZERO_USAGE = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 };

  it('should count fresh, cache-write and cache-read input tokens as input on success', () => {
    const outcome = classifyClaudeCodeResult(
      result({
        usage: { input_tokens: 10, cache_creation_input_tokens: 100, cache_read_input_tokens: 1_000, output_tokens: 5 },
      }),
      ctx,
    );
    expect(outcome).toEqual({ ok: true, provider: 'claude', usage: { inputTokens: 1_110, outputTokens: 5 } });
  });

  it('should read the stdout text as printed', () => {
    expect(classifyClaudeCodeResult(`${JSON.stringify(result({}))}\n`, ctx)).toEqual({
      ok: true,
      provider: 'claude',
      usage: { inputTokens: 10, outputTokens: 5 },
    });
  });

  it.each([
    [401, 'Invalid API key · Fix external API key', 'auth', null],
    [
      529,
      'API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment.',
      'overloaded',
      'server',
    ],
    [
      429,
      "API Error: Request rejected (429) · This request would exceed your account's rate limit. Please try again later.",
      'rate-limit',
      'server',
    ],
    [
      500,
      'API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}',
      'server',
      null,
    ],
    [429, 'Claude AI usage limit reached|1748815200', 'quota', 'usage-limit'],
  ])('should classify api_error_status %i %j', (status, text, kind, throttle) => {
    const outcome = classifyClaudeCodeResult(
      result({ is_error: true, api_error_status: status, result: text, usage: ZERO_USAGE }),
      ctx,
    );
    expect(outcome).toMatchObject({ ok: false, kind, status, throttle });
    expect(outcome).not.toHaveProperty('usage');
  });

  it('should read the usage-limit reset from the result text', () => {
    const outcome = classifyClaudeCodeResult(
      result({
        is_error: true,
        api_error_status: 429,
        result: "You've hit your limit · resets 9:20pm (UTC)",
        usage: ZERO_USAGE,
      }),
      ctx,
    );
    expect(outcome).toMatchObject({
      kind: 'quota',
      resetAt: Date.parse('2025-06-01T21:20:00Z'),
      retryAfterMs: 80 * 60_000,
    });
  });

  it('should classify from the text when api_error_status is null', () => {
    expect(
      classifyClaudeCodeResult(
        result({ is_error: true, result: 'Invalid API key · Please run /login', usage: ZERO_USAGE }),
        ctx,
      ),
    ).toMatchObject({ kind: 'auth', status: null });
  });

  it('should call a success whose whole answer is a usage-limit notice with no output quota', () => {
    expect(
      classifyClaudeCodeResult(result({ result: 'Claude AI usage limit reached|1748815200', usage: ZERO_USAGE }), ctx),
    ).toMatchObject({ ok: false, kind: 'quota', resetAt: 1_748_815_200_000 });
    expect(
      classifyClaudeCodeResult(result({ result: 'Here is how a usage limit reached message looks.' }), ctx),
    ).toMatchObject({ ok: true });
  });

  it('should call error_max_turns invalid-request and keep the usage it spent', () => {
    const outcome = classifyClaudeCodeResult(
      result({
        subtype: 'error_max_turns',
        is_error: true,
        result: undefined,
        usage: { input_tokens: 900, cache_read_input_tokens: 100, output_tokens: 40 },
      }),
      ctx,
    );
    expect(outcome).toMatchObject({
      ok: false,
      kind: 'invalid-request',
      usage: { inputTokens: 1_000, outputTokens: 40 },
    });
  });

  it.each([
    ['empty stdout', ''],
    ['stdout that is not JSON', 'Error: something went wrong'],
    ['a JSON value that is not a result', { type: 'system', subtype: 'init' }],
    ['a success without usage', { type: 'result', subtype: 'success', is_error: false, result: 'pong' }],
    [
      'error_during_execution without a message',
      { type: 'result', subtype: 'error_during_execution', is_error: true, usage: ZERO_USAGE },
    ],
  ])('should call %s truncated, never a success', (_name, value) => {
    expect(classifyClaudeCodeResult(value, ctx)).toMatchObject({ ok: false, kind: 'truncated', provider: 'claude' });
  });

  it('should mask a key quoted in the result text', () => {
    const outcome = classifyClaudeCodeResult(
      result({
        is_error: true,
        api_error_status: 401,
        result: `Invalid API key ${ANTHROPIC_KEY} · Fix external API key`,
        usage: ZERO_USAGE,
      }),
      ctx,
    );
    expect(outcome).toMatchObject({ message: 'Invalid API key sk-ant-…WXYZ · Fix external API key' });
  });

  it('should refuse a context without now', () => {
    expect(codeOf(() => classifyClaudeCodeResult(result({}), loose({})))).toBe('invalid-failure');
  });
});

describe('classifyCodexEvents', () => {
  const ctx = { now: PROVIDER_SAMPLES_NOW };
  const START = [
    '{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}',
    '{"type":"turn.started"}',
  ];
  const MESSAGE = '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"pong"}}';
  const COMPLETED =
    '{"type":"turn.completed","usage":{"input_tokens":12,"cached_input_tokens":4,"output_tokens":3,"reasoning_output_tokens":1}}';

  function failed(message: string): string[] {
    return [
      ...START,
      JSON.stringify({ type: 'error', message }),
      JSON.stringify({ type: 'turn.failed', error: { message } }),
    ];
  }

  it('should take input_tokens (cached already inside) and output_tokens on success, from stdout text', () => {
    expect(classifyCodexEvents([...START, MESSAGE, COMPLETED].join('\n'), ctx)).toEqual({
      ok: true,
      provider: 'openai',
      usage: { inputTokens: 12, outputTokens: 3 },
    });
  });

  it('should read parsed objects and skip lines that are not JSON', () => {
    const lines = ['warning: not json', ...START.map((line) => JSON.parse(line) as unknown), MESSAGE, '', COMPLETED];
    expect(classifyCodexEvents(lines, ctx)).toEqual({
      ok: true,
      provider: 'openai',
      usage: { inputTokens: 12, outputTokens: 3 },
    });
  });

  it.each([
    ['unexpected status 401 Unauthorized: Missing bearer or basic authentication in header', 'auth', 401, null],
    ['exceeded retry limit, last status: 429 Too Many Requests', 'rate-limit', 429, 'server'],
    ['Quota exceeded. Check your plan and billing details.', 'quota', null, 'usage-limit'],
    ['unexpected status 503 Service Unavailable: upstream connect error', 'overloaded', 503, 'server'],
    [
      'unexpected status 400 Bad Request: {"error":{"message":"Unsupported parameter","type":"invalid_request_error"}}',
      'invalid-request',
      400,
      null,
    ],
  ])('should classify a failed turn: %j', (message, kind, status, throttle) => {
    expect(classifyCodexEvents(failed(message), ctx)).toMatchObject({
      ok: false,
      kind,
      status,
      throttle,
      provider: 'openai',
    });
  });

  it('should read a Codex usage limit with its wait', () => {
    const outcome = classifyCodexEvents(
      failed(
        "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), or try again in 2 hours 13 minutes.",
      ),
      ctx,
    );
    expect(outcome).toMatchObject({
      kind: 'quota',
      resetAt: PROVIDER_SAMPLES_NOW + 7_980_000,
      retryAfterMs: 7_980_000,
    });
  });

  it('should call a run with neither turn.completed nor turn.failed truncated', () => {
    expect(classifyCodexEvents(START, ctx)).toMatchObject({ ok: false, kind: 'truncated', provider: 'openai' });
    expect(classifyCodexEvents('', ctx)).toMatchObject({ ok: false, kind: 'truncated' });
    expect(
      classifyCodexEvents(
        [...START, '{"type":"error","message":"stream disconnected before completion: connection closed"}'],
        ctx,
      ),
    ).toMatchObject({ kind: 'truncated' });
  });

  it('should use a recognisable error event when the run was cut off after it', () => {
    expect(
      classifyCodexEvents([...START, '{"type":"error","message":"unexpected status 401 Unauthorized: bad key"}'], ctx),
    ).toMatchObject({ kind: 'auth', status: 401 });
  });

  it('should call a later turn that never ended truncated and keep the usage already spent', () => {
    const outcome = classifyCodexEvents([...START, MESSAGE, COMPLETED, '{"type":"turn.started"}'], ctx);
    expect(outcome).toMatchObject({ ok: false, kind: 'truncated', usage: { inputTokens: 12, outputTokens: 3 } });
  });

  it('should call turn.completed without usage truncated', () => {
    expect(classifyCodexEvents([...START, '{"type":"turn.completed"}'], ctx)).toMatchObject({
      ok: false,
      kind: 'truncated',
    });
  });

  it('should mask a key in the failure message', () => {
    const outcome = classifyCodexEvents(
      failed(`unexpected status 401 Unauthorized: Incorrect API key provided: ${OPENAI_KEY}`),
      ctx,
    );
    expect(outcome).toMatchObject({
      message: 'unexpected status 401 Unauthorized: Incorrect API key provided: sk-…AbCD',
    });
  });
});

describe('server-side throttling worded next to "usage limit"', () => {
  const now = Date.parse('2026-03-10T10:00:00Z');
  it('should classify Anthropic\'s "temporarily limiting requests (not your usage limit)" as a server-side rate limit', () => {
    const failure = classifyHttpFailure({
      provider: 'claude',
      status: 429,
      headers: { 'retry-after': '2' },
      body: {
        type: 'error',
        error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
      },
      now,
    });
    expect(failure).toMatchObject({ kind: 'rate-limit', throttle: 'server', retryAfterMs: 2_000, resetAt: null });
  });

  it('should keep a real usage limit a usage limit, with its reset time', () => {
    const failure = classifyHttpFailure({
      provider: 'claude',
      status: 429,
      body: {
        type: 'error',
        error: { type: 'rate_limit_error', message: "You've hit your limit · resets 10:20am (UTC)" },
      },
      now,
    });
    expect(failure).toMatchObject({
      kind: 'quota',
      throttle: 'usage-limit',
      resetAt: Date.parse('2026-03-10T10:20:00Z'),
    });
  });
});
