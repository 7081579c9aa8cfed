import { createMemoryLedger } from '../../src/quota';
import { HOUR, T0, describeLedgerContract, expectRejection } from '../helpers/ledgerContract';

describeLedgerContract('memory', () => ({
  create: async (config) => createMemoryLedger(config),
}));

describe('createMemoryLedger', () => {
  it('should remember settlements for this window and the one before, then forget them', async () => {
    let now = T0;
    const ledger = createMemoryLedger({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 }, openai: { dailyLimit: 1_000, maxConcurrent: 2 } },
      now: () => now,
    });
    await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 100, leaseMs: HOUR });
    await ledger.settle('a', 40);
    now += 24 * HOUR;
    expect(await ledger.settle('a', 99)).toEqual({
      sessionId: 'a',
      provider: 'claude',
      usedTokens: 40,
      returnedTokens: 60,
    });
    now += 24 * HOUR;
    await expectRejection(ledger.settle('a', 99), 'invalid-request', 'unknown-session');
    expect((await ledger.snapshot()).providers.claude.used).toBe(0);
  });
});
