import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FailureReport } from '../../src';
import { MINUTE, T0, flushMicrotasks, startHarness } from '../helpers/orchestratorFixtures';

const THROTTLED: FailureReport = {
  status: 429,
  headers: { 'retry-after': '1' },
  body: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
  },
};
const LIMIT_HIT: FailureReport = {
  status: 429,
  body: { type: 'error', error: { type: 'rate_limit_error', message: "You've hit your limit · resets 10:20am (UTC)" } },
};

describe('metrics and audit for throttling', () => {
  it('should count requeues, expose the effective limit and the pause, and audit both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-throttle-'));
    const { orch, clock } = await startHarness(
      { metrics: true, audit: { dir }, adaptiveConcurrency: { initial: { claude: 4 } } },
      T0,
    );
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const requeued = a.reportFailure(THROTTLED);
    clock.advance(1_000);
    await requeued;
    await flushMicrotasks();
    await a.reportFailure(LIMIT_HIT);
    const text = await orch.metrics();
    expect(text).toContain('agentvisor_requeues_total{provider="claude"} 1');
    expect(text).toContain('agentvisor_sessions_effective_limit{provider="claude"} 2');
    expect(text).toContain(`agentvisor_provider_paused_until_seconds{provider="claude"} ${(T0 + 20 * MINUTE) / 1000}`);
    expect(text).toContain('agentvisor_provider_paused_until_seconds{provider="openai"} 0');
    await orch.stop();
    const entries = fs
      .readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; provider: string | null });
    expect(
      entries
        .filter((e) => ['agent.requeued', 'provider.limit', 'provider.paused'].includes(e.event))
        .map((e) => [e.event, e.provider]),
    ).toEqual([
      ['provider.limit', 'claude'],
      ['agent.requeued', 'claude'],
      ['provider.paused', 'claude'],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
