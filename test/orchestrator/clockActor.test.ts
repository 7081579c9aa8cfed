/**
 * The orchestrator keeps one timer for all of time (the clock actor's, on the coordinator's
 * `nextDueAt`): however many spawns wait, providers pause or sessions are requeued, each is handled
 * at its own time by the one `clock.tick`, and nothing is left armed after stop().
 */
import { HOUR, MINUTE, T0, agentvisorErrorOf, startHarness } from '../helpers/orchestratorFixtures';

const ONE_SLOT = {
  fallbackChain: ['claude'],
  limits: { claude: { maxConcurrent: 1 } },
  sweepIntervalMs: HOUR,
} as const;

describe('clock actor', () => {
  it('should keep one timer for several waits and refuse each at its own deadline', async () => {
    const { orch, clock, events } = await startHarness(ONE_SLOT);
    const busy = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const refusedAt: Record<string, number> = {};
    orch.on('agent.refused', (e) => {
      refusedAt[e.agentId] = clock.now();
    });
    const waits = [3, 1, 2].map((minutes) => ({
      minutes,
      refused: agentvisorErrorOf(
        () => orch.spawnAgent({ agentId: `w${minutes}`, estimatedTokens: 1_000, waitMs: minutes * MINUTE }),
        'concurrency-limit',
      ),
    }));
    expect(orch.stats().queued).toBe(3);
    expect(clock.pending()).toBe(1);

    clock.advance(MINUTE - 1);
    expect(events.of('agent.refused')).toEqual([]);
    clock.advance(2 * MINUTE + 1);
    for (const w of waits) await w.refused;
    expect(refusedAt).toEqual({ w1: T0 + MINUTE, w2: T0 + 2 * MINUTE, w3: T0 + 3 * MINUTE });
    expect(events.of('agent.refused').map((e) => [e.agentId, e.waited])).toEqual([
      ['w1', true],
      ['w2', true],
      ['w3', true],
    ]);
    // Still one timer: now on the next sweep.
    expect(clock.pending()).toBe(1);
    await busy.release();
    await orch.stop();
    expect(clock.pending()).toBe(0);
  });

  it('should hold one timer for a pause and a wait at once, on the earlier, and none after stop', async () => {
    const { orch, clock, events } = await startHarness({ sweepIntervalMs: HOUR });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const limitHit = {
      status: 429,
      body: {
        type: 'error',
        error: { type: 'rate_limit_error', message: "You've hit your limit · resets 10:20am (UTC)" },
      },
    };
    expect(await agent.reportFailure(limitHit)).toMatchObject({ action: 'fallback', to: 'openai' });
    expect(events.of('provider.paused')).toEqual([{ provider: 'claude', until: T0 + 20 * MINUTE, reason: 'quota' }]);
    const waiting = agentvisorErrorOf(
      () =>
        orch.spawnAgent({
          estimatedTokens: 1_000,
          preferredProvider: 'claude',
          whenPreferredBusy: 'wait',
          waitMs: 10 * MINUTE,
        }),
      'stopped',
    );
    expect(orch.stats().queued).toBe(1);
    expect(clock.pending()).toBe(1);
    clock.advance(5 * MINUTE);
    expect(orch.stats().queued).toBe(1);
    await orch.stop();
    await waiting;
    expect(clock.pending()).toBe(0);
  });
});
