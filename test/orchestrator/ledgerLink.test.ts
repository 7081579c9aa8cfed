/**
 * The ledger link's view of what other holders hold, across the daily reset: their usage of the
 * day before no longer counts in the new window (the ledger starts it at 0), so a process admits
 * at the reset from the new day's room, not from yesterday's figures until its next sync.
 */
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { Orchestrator } from '../../src';
import { createManualClock } from '../../src/orchestrator/clock';
import { createMemoryLedger } from '../../src/quota';
import { BOTH_KEYS_ENV } from '../helpers/orchestratorFixtures';

const LIMITS = { claude: { dailyLimit: 10_000, maxConcurrent: 4 }, openai: { dailyLimit: 0, maxConcurrent: 0 } };
const SYNC_MS = 60_000;
const RESET = Date.parse('2026-03-11T00:00:00Z');
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe('ledger link across the daily reset', () => {
  const started: Orchestrator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((orch) => orch.stop()));
  });

  it("should admit at the reset from the new day's room, not refuse on other holders' usage of the day before", async () => {
    const clock = createManualClock(RESET - 90_000);
    const ledger = createMemoryLedger({ limits: LIMITS, now: clock.now });
    const [a, b] = await Promise.all(
      [0, 1].map(async () => {
        const orch = createOrchestrator({
          env: BOTH_KEYS_ENV,
          credentialSources: ['env'],
          clock,
          limits: LIMITS,
          fallbackChain: ['claude'],
          ledger: { instance: ledger, syncIntervalMs: SYNC_MS },
        });
        started.push(orch);
        await orch.start();
        return orch;
      }),
    );
    const spender = await a!.spawnAgent({ estimatedTokens: 1_000 });
    spender.reportUsage({ inputTokens: 9_000, outputTokens: 0 });
    await flush();
    await spender.release();
    // Both links read the ledger (at RESET - 30 s): b now knows that a used 9,000 of 10,000 today.
    clock.advance(SYNC_MS);
    await flush();
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 9_000, reserved: 0 });
    const before = await b!.spawnAgent({ estimatedTokens: 4_000 }).catch((error: unknown) => error);
    expect(isAgentvisorError(before, 'quota-exhausted')).toBe(true);
    // The reset, 30 s before b's next sync.
    clock.advance(30_000);
    await flush();
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 0, reserved: 0 });
    const after = await b!.spawnAgent({ estimatedTokens: 4_000 });
    expect(after.allocatedTokens).toBe(4_000);
    await after.release();
  });
});
