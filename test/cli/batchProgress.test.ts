/**
 * The batch progress bar follows the orchestrator's read model (`orch.subscribeStats`): a limit
 * move, a pause and a resume on a real orchestrator redraw it, with no provider event of its own.
 */
import { BatchProgressBar } from '../../src/cli/batchProgress';
import type { FailureReport } from '../../src';
import { MINUTE, startHarness } from '../helpers/orchestratorFixtures';

const THROTTLED: FailureReport = {
  status: 429,
  headers: { 'retry-after': '1' },
  body: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Server is temporarily limiting requests (not your usage limit)' },
  },
};

/** Runs `body` with what is written to stdout captured in `lines` (the bar draws there), stdout restored after. */
async function drawnLines(body: (lines: readonly string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await body(lines);
  } finally {
    process.stdout.write = write;
  }
}

const lastBar = (lines: readonly string[]): string => lines.filter((l) => l.startsWith('\r[')).at(-1) ?? '';

describe('BatchProgressBar', () => {
  it('should redraw with the effective limit and the pause the read model holds', async () => {
    const { orch, clock } = await startHarness({ adaptiveConcurrency: { initial: { claude: 8 } } });
    const bar = new BatchProgressBar(3, orch.stats().providers);
    const unsubscribe = orch.subscribeStats((stats) => bar.showProviders(stats.providers));
    try {
      const after: string[] = [];
      await drawnLines(async (lines) => {
        bar.draw();
        after.push(lastBar(lines));
        const agent = await orch.spawnAgent({
          estimatedTokens: 1_000,
          preferredProvider: 'claude',
          whenPreferredBusy: 'wait',
        });
        bar.runStarted('claude');
        const requeued = agent.reportFailure(THROTTLED);
        after.push(lastBar(lines));
        clock.advance(1_000);
        await requeued;
        await agent.reportFailure({
          kind: 'quota',
          message: 'session limit reached',
          resetAt: clock.now() + 90 * MINUTE,
        });
        after.push(lastBar(lines));
      });
      expect(after[0]).toContain('running: claude 0/8, openai 0/4\x1b[K');
      expect(after[1]).toMatch(/running: claude 1\/4, /);
      expect(after[2]).toMatch(/claude 1\/4 \(paused \d\d:\d\d:\d\d /);
      expect(orch.stats().activity.providers.claude).toEqual({
        limitChanges: 1,
        lowestLimit: 4,
        pauses: 1,
        pauseReason: 'quota',
        fallbacks: { quota: 1 },
        requeued: 1,
        overrunTokens: 0,
      });
    } finally {
      unsubscribe();
      await orch.stop();
    }
  });

  it('should stop redrawing once unsubscribed', async () => {
    const { orch } = await startHarness({ adaptiveConcurrency: { initial: { claude: 8 } } });
    let calls = 0;
    const unsubscribe = orch.subscribeStats(() => (calls += 1));
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const counted = calls;
    unsubscribe();
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(counted).toBeGreaterThan(0);
    expect(calls).toBe(counted);
    await orch.stop();
  });
});
