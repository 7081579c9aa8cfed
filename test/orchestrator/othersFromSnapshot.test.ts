/**
 * What other hosts hold, from a real memory ledger's snapshot: the ledger's figures minus this
 * host's own reservations and settled usage, and the local limits that leaves.
 */
import { createMemoryLedger } from '../../src/quota/memoryLedger';
import { othersFromSnapshot } from '../../src/orchestrator/othersFromSnapshot';

const LIMITS = { claude: { dailyLimit: 10_000, maxConcurrent: 4 }, openai: { dailyLimit: 5_000, maxConcurrent: 2 } };

describe('othersFromSnapshot', () => {
  it('should subtract our reservations and usage from the ledger and lower the local limits by the rest', async () => {
    const ledger = createMemoryLedger({ limits: LIMITS, now: () => Date.parse('2026-03-10T10:00:00.000Z') });
    await ledger.reserve({ provider: 'claude', sessionId: 'ours#0', tokens: 1_000, leaseMs: 60_000 });
    await ledger.reserve({ provider: 'claude', sessionId: 'theirs#0', tokens: 2_000, leaseMs: 60_000 });
    await ledger.reserve({ provider: 'openai', sessionId: 'settled#0', tokens: 700, leaseMs: 60_000 });
    await ledger.settle('settled#0', 300, 'openai');
    await ledger.record({ sessionId: 'ours#0', usedTokens: 400, provider: 'claude' });
    const snapshot = await ledger.snapshot();
    await ledger.close();

    const ours = { provider: 'claude' as const, tokens: 1_000, recorded: 400, reported: 400 };
    const { others, limits } = othersFromSnapshot(
      snapshot,
      { used: { claude: 400, openai: 300 }, held: [ours] },
      LIMITS,
    );

    expect(others).toEqual({
      claude: { used: 0, reserved: 2_000, active: 1 },
      openai: { used: 0, reserved: 0, active: 0 },
    });
    expect(limits).toEqual({
      claude: { dailyLimit: 8_000, maxConcurrent: 3 },
      openai: { dailyLimit: 5_000, maxConcurrent: 2 },
    });
  });

  it('should never go below zero when our figures are ahead of the snapshot', async () => {
    const ledger = createMemoryLedger({ limits: LIMITS, now: () => Date.parse('2026-03-10T10:00:00.000Z') });
    const snapshot = await ledger.snapshot();
    await ledger.close();
    const ahead = { provider: 'openai' as const, tokens: 900, recorded: 0, reported: 0 };

    const { others, limits } = othersFromSnapshot(snapshot, { used: { claude: 50, openai: 0 }, held: [ahead] }, LIMITS);

    expect(others.claude.used).toBe(0);
    expect(others.openai).toEqual({ used: 0, reserved: 0, active: 0 });
    expect(limits).toEqual(LIMITS);
  });
});
