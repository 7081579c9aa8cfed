/**
 * The metrics' counters are the read model, scraped: after every step of a real orchestrator's
 * run, each counter series equals stats().activity label by label (no series more, none less), and
 * a read model fed by a bare relay, with no orchestrator and so no event listener, is what the
 * counters show.
 */
import type { FailureReport } from '../../src';
import { AgentRegistry } from '../../src/orchestrator/agentRegistry';
import { createManualClock } from '../../src/orchestrator/clock';
import { EventRelay } from '../../src/orchestrator/eventRelay';
import { createReadModel } from '../../src/orchestrator/readModel';
import { OrchestratorMetrics } from '../../src/observability/orchestratorMetrics';
import type { MetricsActivity } from '../../src/observability/orchestratorMetrics';
import { T0, agentvisorErrorOf, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

const COUNTERS = [
  'agentvisor_fallbacks_total',
  'agentvisor_requeues_total',
  'agentvisor_refusals_total',
  'agentvisor_sessions_released_total',
  'agentvisor_quota_resets_total',
  'agentvisor_quota_overrun_tokens_total',
] as const;

const THROTTLED: FailureReport = {
  status: 429,
  headers: { 'retry-after': '1' },
  body: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
  },
};

/** `name{a="x",b="y"}` with the labels sorted, so the exposition's label order does not matter. */
function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return inner === '' ? name : `${name}{${inner}}`;
}

/** Every sample of the counters in a text exposition, by series. */
function scrapedCounters(text: string): Record<string, number> {
  const series: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [, name = '', labelText = '', value = ''] = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
    if (!(COUNTERS as readonly string[]).includes(name)) continue;
    const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    series[seriesKey(name, labels)] = Number(value);
  }
  return series;
}

/** The series the counters must show for an activity: one per label set the read model holds. */
function countersOf(activity: MetricsActivity): Record<string, number> {
  const series: Record<string, number> = {};
  for (const [provider, p] of Object.entries(activity.providers)) {
    for (const [reason, n] of Object.entries(p.fallbacks))
      series[seriesKey('agentvisor_fallbacks_total', { from: provider, reason })] = n;
    series[seriesKey('agentvisor_requeues_total', { provider })] = p.requeued;
    series[seriesKey('agentvisor_quota_overrun_tokens_total', { provider })] = p.overrunTokens;
  }
  for (const [code, n] of Object.entries(activity.refused))
    series[seriesKey('agentvisor_refusals_total', { code })] = n;
  for (const [reason, n] of Object.entries(activity.released))
    series[seriesKey('agentvisor_sessions_released_total', { reason })] = n;
  series.agentvisor_quota_resets_total = activity.resets;
  return series;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('the metrics counters', () => {
  it('should equal stats().activity label by label after every step, scraped once or twice', async () => {
    const { orch, clock } = await startHarness({
      metrics: true,
      limits: { claude: { dailyLimit: 10_000, maxConcurrent: 1 }, openai: { dailyLimit: 1_000, maxConcurrent: 1 } },
    });
    const scrapes: string[] = [];
    const check = async () => {
      const activity = orch.stats().activity;
      const first = await orch.metrics();
      const second = await orch.metrics();
      expect(scrapedCounters(first)).toEqual(countersOf(activity));
      expect(scrapedCounters(second)).toEqual(countersOf(activity));
      scrapes.push(first);
    };
    try {
      await check();
      await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 10 ** 8, agentId: 'huge' }), 'quota-exhausted');
      await check();
      const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
      await agentvisorErrorOf(
        () =>
          orch.spawnAgent({
            estimatedTokens: 100,
            agentId: 'b',
            preferredProvider: 'claude',
            whenPreferredBusy: 'wait',
          }),
        'concurrency-limit',
      );
      await check();
      const requeued = a.reportFailure(THROTTLED); // before any work: back to the queue, on claude again
      clock.advance(1_000);
      await requeued;
      await flushMicrotasks();
      await check();
      await a.reportFailure({ status: 529 }); // overloaded: falls back to openai
      await check();
      await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1_500, outputTokens: 0 }), 'quota-exhausted');
      await check();
      const c = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'c' });
      await agentvisorErrorOf(() => c.reportFailure({ status: 500 }), 'no-provider'); // openai is spent: nowhere to go
      await check();
      const d = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'd' });
      await d.release();
      await check();
      clock.advance(orch.stats().nextResetAt - clock.now());
      await check();
      clock.advance(orch.stats().nextResetAt - clock.now());
      await check();

      const activity = orch.stats().activity;
      expect(activity).toMatchObject({
        refused: { 'quota-exhausted': 1, 'concurrency-limit': 1 },
        released: { 'quota-exhausted': 1, 'no-provider': 1, released: 1 },
        resets: 2,
        fallbacks: 2,
        requeued: 1,
        overrunTokens: 500,
        providers: {
          claude: { fallbacks: { overloaded: 1, server: 1 }, requeued: 1, overrunTokens: 0 },
          openai: { fallbacks: {}, requeued: 0, overrunTokens: 500 },
        },
      });
      const providers = Object.values(activity.providers);
      expect(sum(providers.flatMap((p) => Object.values(p.fallbacks)))).toBe(activity.fallbacks);
      expect(sum(providers.map((p) => p.requeued))).toBe(activity.requeued);
      expect(sum(providers.map((p) => p.overrunTokens))).toBe(activity.overrunTokens);
      const last = scrapes[scrapes.length - 1];
      expect(last).toContain('agentvisor_fallbacks_total{from="claude",reason="overloaded"} 1');
      expect(last).toContain('agentvisor_requeues_total{provider="openai"} 0');
      expect(last).toContain('agentvisor_quota_resets_total 2');
      for (const name of COUNTERS) expect(last).toContain(`# TYPE ${name} counter`);
    } finally {
      await orch.stop();
    }
  });

  it('should show what the read model holds, with no orchestrator and so no event listener to feed them', async () => {
    const unused = () => {
      throw new Error('not used by this test');
    };
    const relay = new EventRelay({
      registry: new AgentRegistry(),
      clock: createManualClock(T0),
      makeAgent: unused,
      refusalError: unused,
      askReserve: unused,
      askTopUp: unused,
    });
    const readModel = createReadModel(relay);
    const metrics = new OrchestratorMetrics(() => ({
      providers: {},
      queued: 0,
      activity: readModel.getSnapshot().context,
    }));
    expect(scrapedCounters(await metrics.text())).toEqual(countersOf(readModel.getSnapshot().context));
    relay.publish('agent.fallback', {
      agentId: 'a',
      sessionId: 's',
      from: 'openai',
      to: 'claude',
      reason: 'auth',
      latencyMs: 0,
    });
    relay.publish('agent.requeued', { agentId: 'a', sessionId: 's', provider: 'claude', reason: 'x', notBefore: T0 });
    relay.publish('agent.refused', { agentId: 'b', code: 'queue-full', retryAfterMs: null, waited: false });
    relay.publish('agent.released', {
      agentId: 'a',
      sessionId: 's',
      provider: 'claude',
      usedTokens: 7,
      returnedTokens: 0,
      reason: 'expired',
      error: null,
    });
    relay.publish('quota.overrun', { provider: 'claude', agentId: 'a', sessionId: 's', overrunTokens: 7 });
    relay.publish('quota.reset', { day: '2026-03-11' });
    await metrics.text();
    expect(scrapedCounters(await metrics.text())).toEqual({
      'agentvisor_fallbacks_total{from="openai",reason="auth"}': 1,
      'agentvisor_requeues_total{provider="claude"}': 1,
      'agentvisor_requeues_total{provider="openai"}': 0,
      'agentvisor_refusals_total{code="queue-full"}': 1,
      'agentvisor_sessions_released_total{reason="expired"}': 1,
      'agentvisor_quota_overrun_tokens_total{provider="claude"}': 7,
      'agentvisor_quota_overrun_tokens_total{provider="openai"}': 0,
      agentvisor_quota_resets_total: 1,
    });
  });
});
