import http from 'node:http';
import { register } from 'prom-client';
import { Secret, createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type { AuthResult } from '../../machines/agentSession.types';
import { serveMetrics } from '../../src/observability';
import { BOTH_KEYS_ENV, T0, errorOf } from '../helpers/orchestratorFixtures';

/** The value of one sample line (`name{labels} value`) of a text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function get(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function orchestrator(extra: Parameters<typeof createOrchestrator>[0] = {}) {
  const clock = createManualClock(T0);
  const orch = createOrchestrator({
    env: BOTH_KEYS_ENV,
    credentialSources: ['env'],
    providerPriority: 'prefer-claude',
    clock,
    metrics: true,
    limits: { claude: { dailyLimit: 10_000, maxConcurrent: 1 }, openai: { dailyLimit: 5_000, maxConcurrent: 2 } },
    ...extra,
  });
  return { orch, clock };
}

describe('orch.metrics()', () => {
  it('should expose the gauges per provider from the stats', async () => {
    const { orch } = orchestrator();
    await orch.start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    a.reportUsage({ inputTokens: 300, outputTokens: 100 });
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' }); // claude is full: openai
    const text = await orch.metrics();
    expect(sample(text, 'agentvisor_sessions_active{provider="claude"}')).toBe(1);
    expect(sample(text, 'agentvisor_sessions_active{provider="openai"}')).toBe(1);
    expect(sample(text, 'agentvisor_sessions_max{provider="openai"}')).toBe(2);
    expect(sample(text, 'agentvisor_tokens_used{provider="claude"}')).toBe(400);
    expect(sample(text, 'agentvisor_tokens_reserved{provider="claude"}')).toBe(600);
    expect(sample(text, 'agentvisor_tokens_reserved{provider="openai"}')).toBe(1_000);
    expect(sample(text, 'agentvisor_tokens_limit{provider="claude"}')).toBe(10_000);
    expect(sample(text, 'agentvisor_tokens_limit{provider="openai"}')).toBe(5_000);
    expect(sample(text, 'agentvisor_provider_circuit_state{provider="claude"}')).toBe(0);
    expect(sample(text, 'agentvisor_queue_length')).toBe(0);
    await orch.stop();
  });

  it('should count fallbacks by provider and reason, refusals by code, releases by reason, resets and overruns', async () => {
    const { orch, clock } = orchestrator({
      limits: { claude: { dailyLimit: 10_000, maxConcurrent: 1 }, openai: { dailyLimit: 1_000, maxConcurrent: 1 } },
    });
    await orch.start();
    await errorOf(() => orch.spawnAgent({ estimatedTokens: 10 ** 8, agentId: 'c' }));
    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
    await a.reportFailure({ status: 529 });
    await errorOf(() =>
      orch.spawnAgent({ estimatedTokens: 100, agentId: 'b', preferredProvider: 'openai', whenPreferredBusy: 'wait' }),
    );
    await errorOf(() => a.reportUsage({ inputTokens: 1_500, outputTokens: 0 })); // beyond openai's 1,000: overrun, ended
    const d = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'd' });
    await d.release();
    clock.advance(24 * 60 * 60_000);
    const text = await orch.metrics();
    expect(sample(text, 'agentvisor_fallbacks_total{from="claude",reason="overloaded"}')).toBe(1);
    expect(sample(text, 'agentvisor_refusals_total{code="concurrency-limit"}')).toBe(1);
    expect(sample(text, 'agentvisor_refusals_total{code="quota-exhausted"}')).toBe(1);
    expect(sample(text, 'agentvisor_sessions_released_total{reason="quota-exhausted"}')).toBe(1);
    expect(sample(text, 'agentvisor_sessions_released_total{reason="released"}')).toBe(1);
    expect(sample(text, 'agentvisor_quota_overrun_tokens_total{provider="openai"}')).toBe(500);
    expect(sample(text, 'agentvisor_quota_resets_total')).toBe(1);
    await orch.stop();
  });

  it('should time authentication and admission (spawnAgent → active, waiting in the queue included)', async () => {
    let answer: ((result: AuthResult) => void) | null = null;
    const authenticate = ({ provider }: { provider: 'claude' | 'openai' }): AuthResult | Promise<AuthResult> => {
      const result = {
        source: 'test',
        hint: '…',
        secretEnv: {
          [provider === 'claude' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY']: new Secret(
            'sk-test-MetricsKeyBody-0011223344',
          ),
        },
        env: {},
      };
      if (provider === 'openai') return result;
      return new Promise((resolve) => (answer = resolve));
    };
    const { orch, clock } = orchestrator({ authenticate });
    await orch.start();
    const first = orch.spawnAgent({ estimatedTokens: 100, agentId: 'a' });
    clock.advance(250);
    answer!(
      await Promise.resolve({
        source: 'test',
        hint: '…',
        secretEnv: { ANTHROPIC_API_KEY: new Secret('sk-test-MetricsKeyBody-0011223344') },
        env: {},
      }),
    );
    const a = await first;
    // b waits 1.5 s for claude's only slot.
    const second = orch.spawnAgent({ estimatedTokens: 100, agentId: 'b', waitMs: 10_000, whenPreferredBusy: 'wait' });
    clock.advance(1_250);
    await a.release();
    clock.advance(250);
    answer!({
      source: 'test',
      hint: '…',
      secretEnv: { ANTHROPIC_API_KEY: new Secret('sk-test-MetricsKeyBody-0011223344') },
      env: {},
    });
    await second;
    const c = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'c', preferredProvider: 'openai' });
    expect(c.provider).toBe('openai');
    const text = await orch.metrics();
    expect(sample(text, 'agentvisor_authentication_seconds_count{provider="claude",outcome="granted"}')).toBe(2);
    expect(sample(text, 'agentvisor_authentication_seconds_sum{provider="claude",outcome="granted"}')).toBe(0.5);
    expect(sample(text, 'agentvisor_authentication_seconds_count{provider="openai",outcome="granted"}')).toBe(1);
    expect(sample(text, 'agentvisor_authentication_seconds_sum{provider="openai",outcome="granted"}')).toBe(0);
    expect(sample(text, 'agentvisor_admission_seconds_count{provider="claude"}')).toBe(2);
    expect(sample(text, 'agentvisor_admission_seconds_sum{provider="claude"}')).toBe(1.75);
    expect(sample(text, 'agentvisor_admission_seconds_bucket{le="0.25",provider="claude"}')).toBe(1);
    expect(sample(text, 'agentvisor_admission_seconds_bucket{le="1",provider="claude"}')).toBe(1);
    expect(sample(text, 'agentvisor_admission_seconds_bucket{le="2.5",provider="claude"}')).toBe(2);
    expect(sample(text, 'agentvisor_admission_seconds_count{provider="openai"}')).toBe(1);
    await orch.stop();
  });

  it('should count a denied authentication under outcome="denied"', async () => {
    const { orch } = orchestrator({
      fallbackChain: ['claude'],
      authenticate: () => {
        throw new Error('no credentials');
      },
    });
    await orch.start();
    await errorOf(() => orch.spawnAgent({ estimatedTokens: 100 }));
    const text = await orch.metrics();
    expect(sample(text, 'agentvisor_authentication_seconds_count{provider="claude",outcome="denied"}')).toBe(1);
    expect(sample(text, 'agentvisor_admission_seconds_count{provider="claude"}')).toBeUndefined();
    expect(sample(text, 'agentvisor_sessions_released_total{reason="auth-failed"}')).toBe(1);
    await orch.stop();
  });

  it('should show the circuit as 2 while open and 1 while half-open', async () => {
    const { orch, clock } = orchestrator({ circuit: { allowedFailures: 0, minRequests: 1, cooldownMs: 30_000 } });
    await orch.start();
    const a = await orch.spawnAgent({ estimatedTokens: 100 });
    await a.reportFailure({ status: 503 });
    expect(sample(await orch.metrics(), 'agentvisor_provider_circuit_state{provider="claude"}')).toBe(2);
    clock.advance(30_000);
    expect(sample(await orch.metrics(), 'agentvisor_provider_circuit_state{provider="claude"}')).toBe(1);
    await orch.stop();
  });

  it("should keep each orchestrator's metrics in its own registry, not prom-client's global one", async () => {
    const one = orchestrator();
    const two = orchestrator();
    await one.orch.start();
    await two.orch.start();
    await errorOf(() => one.orch.spawnAgent({ estimatedTokens: 10 ** 8 }));
    expect(sample(await one.orch.metrics(), 'agentvisor_refusals_total{code="quota-exhausted"}')).toBe(1);
    expect(sample(await two.orch.metrics(), 'agentvisor_refusals_total{code="quota-exhausted"}')).toBeUndefined();
    expect(await register.metrics()).not.toContain('agentvisor_');
    await one.orch.stop();
    await two.orch.stop();
  });

  it('should answer before start without the gauges', async () => {
    const { orch } = orchestrator();
    const text = await orch.metrics();
    expect(text).toContain('# TYPE agentvisor_sessions_active gauge');
    expect(sample(text, 'agentvisor_sessions_active{provider="claude"}')).toBeUndefined();
  });

  it('should reject with invalid-option when metrics are off', async () => {
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV });
    const error = await errorOf(() => orch.metrics());
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toBe('metrics are off: create the orchestrator with { metrics: true }');
  });

  it('should refuse a metrics option that is not a boolean', async () => {
    const error = await errorOf(() => createOrchestrator({ metrics: 'yes' as never }));
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
  });
});

describe('serveMetrics', () => {
  it('should serve GET /metrics on 127.0.0.1 with the text exposition, 404 elsewhere and 405 for other methods', async () => {
    const { orch } = orchestrator();
    await orch.start();
    const server = await serveMetrics(orch, 0);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      const ok = await get(server.url);
      expect(ok.status).toBe(200);
      expect(ok.type).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(ok.body).toBe(await orch.metrics());
      expect((await get(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
      expect((await get(server.url, 'POST')).status).toBe(405);
    } finally {
      await server.close();
      await orch.stop();
    }
  });

  it('should answer 500 with the masked message when metrics fail', async () => {
    const server = await serveMetrics(
      { metrics: () => Promise.reject(new Error('boom sk-ant-api03-ServeMetricsKeyBody-0123456789Qrst')) },
      0,
    );
    try {
      const res = await get(server.url);
      expect(res.status).toBe(500);
      expect(res.body).toBe('boom sk-ant-…Qrst\n');
    } finally {
      await server.close();
    }
  });

  it('should reject with invalid-option when the port is taken or out of range', async () => {
    const first = await serveMetrics({ metrics: async () => '' }, 0);
    try {
      const error = await errorOf(() => serveMetrics({ metrics: async () => '' }, first.port));
      expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
      expect((error as Error).message).toContain('EADDRINUSE');
      expect(
        isAgentvisorError(await errorOf(() => serveMetrics({ metrics: async () => '' }, 70_000)), 'invalid-option'),
      ).toBe(true);
    } finally {
      await first.close();
    }
  });
});
