import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Secret } from '../../machines/secret';
import { modelsUrl, verifyKey } from '../../src/credentials/verifyKey';
import type { KeyVerification, VerifyKeyOptions } from '../../src/credentials/verifyKey';
import { isAgentvisorError } from '../../src/errors';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Fake {
  readonly base: string;
  readonly requests: Recorded[];
  close(): Promise<void>;
}

const servers: Fake[] = [];

async function fakeProvider(handler: Handler): Promise<Fake> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: Fake = {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(fake);
  return fake;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const anthropicError = (type: string, message: string): unknown => ({ type: 'error', error: { type, message } });
const openaiError = (message: string, type: string, code: string | null): unknown => ({
  error: { message, type, param: null, code },
});

const anthropicModels = {
  data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5' }],
  has_more: false,
  first_id: 'claude-sonnet-4-5',
  last_id: 'claude-sonnet-4-5',
};
const openaiModels = { object: 'list', data: [{ id: 'gpt-5', object: 'model', created: 1, owned_by: 'openai' }] };

// Fresh per run, so no fixed string could ever pass the leak search by chance.
const tail = (): string => `${randomBytes(24).toString('base64url')}LEAK`;
const CLAUDE_KEY = `sk-ant-api03-${tail()}`;
const CLAUDE_OAUTH = `sk-ant-oat01-${tail()}`;
const OPENAI_KEY = `sk-proj-${tail()}`;
const ALL_KEYS = [CLAUDE_KEY, CLAUDE_OAUTH, OPENAI_KEY];

let output: string[] = [];
const spies: jest.SpyInstance[] = [];

beforeEach(() => {
  output = [];
  const capture = (...args: unknown[]): void => {
    output.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    spies.push(jest.spyOn(console, method).mockImplementation(capture));
  }
  const write = (chunk: unknown): boolean => {
    capture(String(chunk));
    return true;
  };
  spies.push(
    jest.spyOn(process.stdout, 'write').mockImplementation(write),
    jest.spyOn(process.stderr, 'write').mockImplementation(write),
  );
});

afterEach(async () => {
  for (const spy of spies.splice(0)) spy.mockRestore();
  // Nothing printed, returned or thrown in a test may contain a key.
  const printed = output.join('\n');
  for (const key of ALL_KEYS) expect(printed).not.toContain(key);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function expectNoKey(value: unknown): void {
  const text =
    `${JSON.stringify(value)}\n${inspect(value, { depth: 10, showHidden: true })}\n` +
    `${value instanceof Error ? `${value.message}\n${value.stack}` : ''}`;
  for (const key of ALL_KEYS) expect(text).not.toContain(key);
}

async function verify(options: VerifyKeyOptions): Promise<KeyVerification> {
  const result = await verifyKey(options);
  expectNoKey(result);
  expect(typeof result.latencyMs).toBe('number');
  expect(Number.isFinite(result.latencyMs)).toBe(true);
  expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('verifyKey: Anthropic', () => {
  it('should send GET /v1/models with x-api-key and anthropic-version, no Authorization, and answer ok with the remaining limits', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(res, 200, anthropicModels, {
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-tokens-remaining': '39000',
      }),
    );
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: fake.base });
    expect(result).toEqual({
      verdict: 'ok',
      status: 200,
      latencyMs: expect.any(Number),
      remaining: { requests: 49, tokens: 39000 },
    });
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req).toMatchObject({ method: 'GET', url: '/v1/models' });
    expect(req?.headers['x-api-key']).toBe(CLAUDE_KEY);
    expect(req?.headers['anthropic-version']).toBe('2023-06-01');
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['anthropic-beta']).toBeUndefined();
  });

  it('should send an OAuth access token as a Bearer token with the oauth beta header and no x-api-key', async () => {
    const fake = await fakeProvider((_req, res) => json(res, 200, anthropicModels));
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_OAUTH), baseUrl: `${fake.base}/` });
    expect(result).toEqual({ verdict: 'ok', status: 200, latencyMs: expect.any(Number) });
    const [req] = fake.requests;
    expect(req?.url).toBe('/v1/models');
    expect(req?.headers.authorization).toBe(`Bearer ${CLAUDE_OAUTH}`);
    expect(req?.headers['anthropic-beta']).toBe('oauth-2025-04-20');
    expect(req?.headers['anthropic-version']).toBe('2023-06-01');
    expect(req?.headers['x-api-key']).toBeUndefined();
  });

  it('should answer auth-failed on 401 with the provider message, the key masked to its hint', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(res, 401, anthropicError('authentication_error', `invalid x-api-key: ${CLAUDE_KEY}`)),
    );
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: fake.base });
    expect(result).toEqual({
      verdict: 'auth-failed',
      status: 401,
      latencyMs: expect.any(Number),
      errorType: 'authentication_error',
      message: `invalid x-api-key: sk-ant-…${CLAUDE_KEY.slice(-4)}`,
    });
  });

  it('should answer auth-failed on 403 permission_error', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(
        res,
        403,
        anthropicError('permission_error', 'Your API key does not have permission to use the specified resource.'),
      ),
    );
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: fake.base });
    expect(result).toMatchObject({ verdict: 'auth-failed', status: 403, errorType: 'permission_error' });
  });

  it('should answer rate-limited on 429 with retry-after in ms and the remaining limits', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(
        res,
        429,
        anthropicError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
        {
          'retry-after': '17',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-tokens-remaining': '12',
        },
      ),
    );
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: fake.base });
    expect(result).toEqual({
      verdict: 'rate-limited',
      status: 429,
      latencyMs: expect.any(Number),
      retryAfterMs: 17_000,
      remaining: { requests: 0, tokens: 12 },
      errorType: 'rate_limit_error',
      message: 'Number of request tokens has exceeded your per-minute rate limit',
    });
  });

  it('should answer server-error on 529 overloaded and on 500', async () => {
    const overloaded = await fakeProvider((_req, res) =>
      json(res, 529, anthropicError('overloaded_error', 'Overloaded')),
    );
    expect(await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: overloaded.base })).toEqual({
      verdict: 'server-error',
      status: 529,
      latencyMs: expect.any(Number),
      errorType: 'overloaded_error',
      message: 'Overloaded',
    });
    const broken = await fakeProvider((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html>proxy error for ${CLAUDE_KEY}</html>`);
    });
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: broken.base });
    expect(result).toMatchObject({ verdict: 'server-error', status: 500, message: expect.stringMatching(/500/) });
  });

  it('should not send a refresh token or an OpenAI key to Anthropic: auth-failed without a request', async () => {
    const fake = await fakeProvider((_req, res) => json(res, 200, anthropicModels));
    const refresh = `sk-ant-ort01-${tail()}`;
    const r1 = await verifyKey({ provider: 'claude', secret: new Secret(refresh), baseUrl: fake.base });
    expect(r1).toEqual({ verdict: 'auth-failed', latencyMs: 0, message: expect.stringMatching(/refresh token/) });
    expect(JSON.stringify(r1) + inspect(r1)).not.toContain(refresh);
    const r2 = await verify({ provider: 'claude', secret: new Secret(OPENAI_KEY), baseUrl: fake.base });
    expect(r2).toMatchObject({ verdict: 'auth-failed', message: expect.stringMatching(/OpenAI/) });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('verifyKey: OpenAI', () => {
  it('should send GET /v1/models with Authorization: Bearer only, and read x-ratelimit-remaining-*', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(res, 200, openaiModels, {
        'x-ratelimit-remaining-requests': '4999',
        'x-ratelimit-remaining-tokens': '159000',
      }),
    );
    const result = await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: fake.base });
    expect(result).toEqual({
      verdict: 'ok',
      status: 200,
      latencyMs: expect.any(Number),
      remaining: { requests: 4999, tokens: 159000 },
    });
    const [req] = fake.requests;
    expect(req).toMatchObject({ method: 'GET', url: '/v1/models' });
    expect(req?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(req?.headers['x-api-key']).toBeUndefined();
    expect(req?.headers['anthropic-version']).toBeUndefined();
    expect(req?.headers['anthropic-beta']).toBeUndefined();
  });

  it('should not double /v1 when the base URL ends in /v1 (with or without a trailing slash)', async () => {
    const fake = await fakeProvider((_req, res) => json(res, 200, openaiModels));
    await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: `${fake.base}/v1` });
    await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: `${fake.base}/v1/` });
    await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: `${fake.base}/proxy/openai/` });
    expect(fake.requests.map((r) => r.url)).toEqual(['/v1/models', '/v1/models', '/proxy/openai/v1/models']);
  });

  it('should answer auth-failed on 401 invalid_api_key with the key masked', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(
        res,
        401,
        openaiError(
          `Incorrect API key provided: ${OPENAI_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          'invalid_api_key',
        ),
      ),
    );
    const result = await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: fake.base });
    expect(result).toEqual({
      verdict: 'auth-failed',
      status: 401,
      latencyMs: expect.any(Number),
      errorType: 'invalid_api_key',
      message: `Incorrect API key provided: sk-…${OPENAI_KEY.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    });
  });

  it('should answer rate-limited on 429 with retry-after, and report insufficient_quota as the error type', async () => {
    const limited = await fakeProvider((_req, res) =>
      json(res, 429, openaiError('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), {
        'retry-after': '2',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-remaining-tokens': '100',
      }),
    );
    expect(await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: limited.base })).toEqual({
      verdict: 'rate-limited',
      status: 429,
      latencyMs: expect.any(Number),
      retryAfterMs: 2000,
      remaining: { requests: 0, tokens: 100 },
      errorType: 'rate_limit_exceeded',
      message: 'Rate limit reached for requests',
    });
    const quota = await fakeProvider((_req, res) =>
      json(
        res,
        429,
        openaiError(
          'You exceeded your current quota, please check your plan and billing details.',
          'insufficient_quota',
          'insufficient_quota',
        ),
      ),
    );
    expect(await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: quota.base })).toMatchObject({
      verdict: 'rate-limited',
      status: 429,
      errorType: 'insufficient_quota',
    });
  });

  it('should answer server-error on 503', async () => {
    const fake = await fakeProvider((_req, res) =>
      json(res, 503, openaiError('The server is overloaded or not ready yet.', 'server_error', null), {
        'retry-after': '1',
      }),
    );
    expect(await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: fake.base })).toEqual({
      verdict: 'server-error',
      status: 503,
      latencyMs: expect.any(Number),
      retryAfterMs: 1000,
      errorType: 'server_error',
      message: 'The server is overloaded or not ready yet.',
    });
  });

  it('should refuse to send an Anthropic key to OpenAI', async () => {
    const fake = await fakeProvider((_req, res) => json(res, 200, openaiModels));
    const result = await verify({ provider: 'openai', secret: new Secret(CLAUDE_KEY), baseUrl: fake.base });
    expect(result).toMatchObject({ verdict: 'auth-failed', message: expect.stringMatching(/Anthropic/) });
    expect(result.status).toBeUndefined();
    expect(fake.requests).toHaveLength(0);
  });
});

describe('verifyKey: network', () => {
  it('should answer timeout when the server never answers', async () => {
    const fake = await fakeProvider(() => undefined);
    const started = Date.now();
    const result = await verify({
      provider: 'claude',
      secret: new Secret(CLAUDE_KEY),
      baseUrl: fake.base,
      timeoutMs: 200,
    });
    expect(result).toEqual({
      verdict: 'timeout',
      latencyMs: expect.any(Number),
      message: expect.stringMatching(/200 ms/),
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fake.requests).toHaveLength(1);
  });

  it('should answer timeout when the headers come but the body never ends', async () => {
    const fake = await fakeProvider((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
    });
    const result = await verify({
      provider: 'openai',
      secret: new Secret(OPENAI_KEY),
      baseUrl: fake.base,
      timeoutMs: 200,
    });
    expect(result.verdict).toBe('timeout');
  });

  it('should answer unreachable for a closed port', async () => {
    const fake = await fakeProvider(() => undefined);
    const { base } = fake;
    await fake.close();
    const result = await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), baseUrl: base, timeoutMs: 2000 });
    expect(result).toEqual({
      verdict: 'unreachable',
      latencyMs: expect.any(Number),
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('should not follow a redirect: the key never reaches the redirect target', async () => {
    const target = await fakeProvider((_req, res) => json(res, 200, anthropicModels));
    const redirecting = await fakeProvider((_req, res) => {
      res.writeHead(307, { location: `${target.base}/v1/models` });
      res.end();
    });
    const result = await verify({ provider: 'claude', secret: new Secret(CLAUDE_KEY), baseUrl: redirecting.base });
    expect(result).toMatchObject({ verdict: 'unreachable', status: 307, message: expect.stringMatching(/redirect/) });
    expect(target.requests).toHaveLength(0);
  });

  it('should use an injected fetch', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify(openaiModels), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const result = await verify({ provider: 'openai', secret: new Secret(OPENAI_KEY), fetch: fakeFetch });
    expect(result).toMatchObject({ verdict: 'ok', status: 200 });
    expect(calls).toEqual(['https://api.openai.com/v1/models']);
  });
});

describe('verifyKey: options', () => {
  it('should build the default and given URLs', () => {
    expect(modelsUrl('claude')).toBe('https://api.anthropic.com/v1/models');
    expect(modelsUrl('openai')).toBe('https://api.openai.com/v1/models');
    expect(modelsUrl('claude', 'http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/v1/models');
    expect(modelsUrl('openai', 'https://gateway.example/v1/')).toBe('https://gateway.example/v1/models');
  });

  it.each<[string, Partial<VerifyKeyOptions>]>([
    ['a bad baseUrl', { baseUrl: 'not a url' }],
    ['a baseUrl with credentials', { baseUrl: 'http://user:pw@127.0.0.1/' }],
    ['a non-http baseUrl', { baseUrl: 'file:///etc' }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional timeout', { timeoutMs: 1.5 }],
    ['a plain string for the secret', { secret: CLAUDE_KEY as unknown as Secret }],
    ['an unknown provider', { provider: 'gemini' as unknown as 'claude' }],
  ])('should throw invalid-option for %s without showing the key', async (_what, patch) => {
    const err = await rejection(verifyKey({ provider: 'claude', secret: new Secret(CLAUDE_KEY), ...patch }));
    expect(isAgentvisorError(err, 'invalid-option')).toBe(true);
    expectNoKey(err);
  });
});
