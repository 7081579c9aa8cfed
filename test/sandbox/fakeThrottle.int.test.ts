import { classifyHttpFailure } from '../../src/providers';
import { SERVER_THROTTLE_MESSAGE, fakeStep, startProviderApiFake, throttlingScript } from '../../src/sandbox';
import type { FakeModelRequest, ProviderApiFake } from '../../src/sandbox';

const KEY = `sk-ant-api03-${'FakeThrottleTestKey'}${'t'.repeat(50)}Ft1a`;
let fake: ProviderApiFake;

afterEach(async () => {
  await fake.close();
});

function message(): Promise<Response> {
  return fetch(`${fake.anthropicBaseUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('provider API fake: requests in flight', () => {
  it(
    'should answer 429 "not your usage limit" in the Anthropic error shape to requests beyond 3 in flight, ' +
      'and count them down as answers finish',
    async () => {
      const throttled: FakeModelRequest[] = [];
      fake = await startProviderApiFake({
        keys: { claude: KEY },
        script: {
          claude: throttlingScript({
            maxInFlight: 3,
            reply: fakeStep.reply({ delayMs: 300 }),
            onThrottle: (r) => throttled.push(r),
          }),
        },
      });
      const responses = await Promise.all(Array.from({ length: 5 }, () => message()));
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, unknown>>));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429]);
      expect(throttled).toHaveLength(2);
      for (const r of throttled) expect(r.inFlight).toBeGreaterThanOrEqual(4);
      const limited = responses.findIndex((r) => r.status === 429);
      expect(bodies[limited]).toEqual({
        type: 'error',
        error: { type: 'rate_limit_error', message: SERVER_THROTTLE_MESSAGE },
      });
      expect(responses[limited]!.headers.get('retry-after')).toBe('1');
      const failure = classifyHttpFailure({
        provider: 'claude',
        status: 429,
        headers: responses[limited]!.headers,
        body: bodies[limited],
        now: Date.now(),
      });
      expect(failure).toMatchObject({ kind: 'rate-limit', throttle: 'server' });
      expect(fake.inFlight('claude')).toBe(0);
      // Once the first three are answered, a new request is within the limit again.
      expect((await message()).status).toBe(200);
      const times = fake.requests.map((r) => r.receivedAt);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    },
  );
});
