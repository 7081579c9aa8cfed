/**
 * The contract of `record` (usage written through before settle, and top-ups), run against every
 * backend by describeLedgerContract. The invariant checked after each step:
 * `used + reserved <= dailyLimit + overrun`, with `overrun` only what no budget covered.
 */
import type { LedgerSnapshot, QuotaLedger, ReserveRequest } from '../../src/quota';
import type { LedgerHarness } from './ledgerContract';
import { MINUTE, NEXT_RESET, T0, expectRejection, testClock } from './ledgerContract';
import type { TestClock } from './ledgerContract';

const req = (
  sessionId: string,
  tokens: number,
  leaseMs = 10 * MINUTE,
  provider: ReserveRequest['provider'] = 'claude',
): ReserveRequest => ({ provider, sessionId, tokens, leaseMs });

function expectInvariant(snapshot: LedgerSnapshot): void {
  for (const p of Object.values(snapshot.providers))
    expect(p.used + p.reserved).toBeLessThanOrEqual(p.dailyLimit + p.overrun);
}

export function describeRecordContract(name: string, harness: () => LedgerHarness): void {
  describe(`QuotaLedger contract (record): ${name}`, () => {
    let clock: TestClock;
    let open: QuotaLedger[];

    beforeEach(() => {
      clock = testClock();
      open = [];
    });

    afterEach(async () => {
      await Promise.all(open.map((ledger) => ledger.close()));
    });

    async function ledgerWith(dailyLimit: number, maxConcurrent = 5): Promise<QuotaLedger> {
      const ledger = await harness().create({
        limits: { claude: { dailyLimit, maxConcurrent }, openai: { dailyLimit: 50_000, maxConcurrent: 5 } },
        now: clock.now,
      });
      open.push(ledger);
      return ledger;
    }

    const claude = async (ledger: QuotaLedger) => {
      const snapshot = await ledger.snapshot();
      expectInvariant(snapshot);
      return snapshot.providers.claude;
    };

    it('should count usage so far once, move it from reserved to used, and settle only the rest', async () => {
      const ledger = await ledgerWith(10_000);
      await ledger.reserve(req('a', 4_000));
      expect(await ledger.record({ sessionId: 'a', usedTokens: 1_234 })).toEqual({
        status: 'recorded',
        sessionId: 'a',
        provider: 'claude',
        live: true,
        tokens: 4_000,
        usedTokens: 1_234,
      });
      expect(await claude(ledger)).toMatchObject({ used: 1_234, reserved: 2_766, active: 1, overrun: 0 });
      // Cumulative: the same figure again, or a smaller one, counts nothing.
      await ledger.record({ sessionId: 'a', usedTokens: 1_234 });
      await ledger.record({ sessionId: 'a', usedTokens: 1_000 });
      expect(await claude(ledger)).toMatchObject({ used: 1_234, reserved: 2_766 });
      expect(await ledger.settle('a', 3_000)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 3_000,
        returnedTokens: 1_000,
      });
      expect(await claude(ledger)).toMatchObject({ used: 3_000, reserved: 0, active: 0, overrun: 0 });
      // After settle the usage is final.
      expect(await ledger.record({ sessionId: 'a', usedTokens: 9_000 })).toEqual({
        status: 'recorded',
        sessionId: 'a',
        provider: 'claude',
        live: false,
        tokens: 0,
        usedTokens: 3_000,
      });
      expect(await claude(ledger)).toMatchObject({ used: 3_000 });
    });

    it('should grant a top-up only within the budget, atomically with the usage, and count the usage when it refuses', async () => {
      const ledger = await ledgerWith(10_000);
      await ledger.reserve(req('a', 2_000));
      await ledger.reserve(req('b', 5_000));
      // a used 2,500 (500 beyond its reservation) and asks for 1,500 more: 500 + 1,000 fits in the 3,000 free.
      expect(await ledger.record({ sessionId: 'a', usedTokens: 2_500, addTokens: 1_500 })).toEqual({
        status: 'recorded',
        sessionId: 'a',
        provider: 'claude',
        live: true,
        tokens: 3_500,
        usedTokens: 2_500,
      });
      expect(await claude(ledger)).toMatchObject({ used: 2_500, reserved: 1_000 + 5_000, overrun: 0 });
      // 1,500 are left: a top-up of 2,000 is refused, nothing is added, the usage still counts.
      expect(await ledger.record({ sessionId: 'a', usedTokens: 3_000, addTokens: 2_000 })).toEqual({
        status: 'refused',
        sessionId: 'a',
        provider: 'claude',
        code: 'quota-exhausted',
        retryAfterMs: NEXT_RESET - T0,
        live: true,
        tokens: 3_500,
        usedTokens: 3_000,
      });
      expect(await claude(ledger)).toMatchObject({ used: 3_000, reserved: 500 + 5_000, overrun: 0 });
      expect((await ledger.record({ sessionId: 'a', usedTokens: 3_000, addTokens: 1_500 })).status).toBe('recorded');
      expect(await claude(ledger)).toMatchObject({ used: 3_000, reserved: 7_000 });
      expect((await ledger.reserve(req('c', 1))).status).toBe('refused');
      // A top-up larger than the whole limit: no reset helps.
      expect(await ledger.record({ sessionId: 'b', usedTokens: 0, addTokens: 10_001 })).toMatchObject({
        status: 'refused',
        code: 'quota-exhausted',
        retryAfterMs: null,
      });
    });

    it('should flag as overrun only the usage that no budget covered', async () => {
      const ledger = await ledgerWith(1_000);
      await ledger.reserve(req('a', 600));
      await ledger.reserve(req('b', 300));
      // a spends 700: 100 beyond its reservation, and 100 were still free: no overrun.
      await ledger.record({ sessionId: 'a', usedTokens: 700 });
      expect(await claude(ledger)).toMatchObject({ used: 700, reserved: 300, overrun: 0 });
      // 250 more with nothing free: all of it is overrun.
      await ledger.record({ sessionId: 'a', usedTokens: 950 });
      expect(await claude(ledger)).toMatchObject({ used: 950, reserved: 300, overrun: 250 });
      expect(await ledger.settle('a', 1_000)).toMatchObject({ usedTokens: 1_000, returnedTokens: 0 });
      expect(await claude(ledger)).toMatchObject({ used: 1_000, reserved: 300, overrun: 300 });
      // b spends within its reservation: no new overrun.
      await ledger.settle('b', 300);
      expect(await claude(ledger)).toMatchObject({ used: 1_300, reserved: 0, overrun: 300 });
    });

    it('should keep counting usage of a lease that ran out, once, and refuse to top it up', async () => {
      const ledger = await ledgerWith(10_000);
      await ledger.reserve(req('a', 2_000, MINUTE));
      await ledger.record({ sessionId: 'a', usedTokens: 500 });
      clock.advance(MINUTE);
      expect(await ledger.record({ sessionId: 'a', usedTokens: 800, addTokens: 100 })).toEqual({
        status: 'refused',
        sessionId: 'a',
        provider: 'claude',
        code: 'lease-expired',
        retryAfterMs: null,
        live: false,
        tokens: 0,
        usedTokens: 800,
      });
      expect(await claude(ledger)).toMatchObject({ used: 800, reserved: 0, active: 0 });
      expect(await ledger.settle('a', 1_000)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 1_000,
        returnedTokens: 0,
      });
      expect(await claude(ledger)).toMatchObject({ used: 1_000 });
    });

    it('should count usage of a session it never saw only where the provider says, and check a given provider', async () => {
      const ledger = await ledgerWith(10_000);
      await expectRejection(
        ledger.record({ sessionId: 'ghost', usedTokens: 10 }),
        'invalid-request',
        'unknown-session',
      );
      expect(await ledger.record({ sessionId: 'ghost', usedTokens: 10, provider: 'openai' })).toMatchObject({
        status: 'recorded',
        live: false,
        usedTokens: 10,
      });
      expect(await ledger.settle('ghost', 15)).toEqual({
        sessionId: 'ghost',
        provider: 'openai',
        usedTokens: 15,
        returnedTokens: 0,
      });
      expect((await ledger.snapshot()).providers.openai).toMatchObject({ used: 15 });
      await ledger.reserve(req('a', 100));
      await expectRejection(
        ledger.record({ sessionId: 'a', usedTokens: 10, provider: 'openai' }),
        'invalid-request',
        'provider-mismatch',
      );
      for (const bad of [
        { sessionId: 'a', usedTokens: -1 },
        { sessionId: 'a', usedTokens: 1, addTokens: 1.5 },
        { sessionId: '', usedTokens: 1 },
      ]) {
        await expectRejection(ledger.record(bad), 'invalid-request');
      }
      expect(await claude(ledger)).toMatchObject({ used: 0, reserved: 100 });
    });

    it("should count a session's cumulative usage beyond 1,000,000,000 tokens (many reports of up to 10^9 each), recorded and settled", async () => {
      const ledger = await ledgerWith(5_000_000_000);
      await ledger.reserve(req('a', 1_000));
      await ledger.record({ sessionId: 'a', usedTokens: 900_000_000, addTokens: 900_000_000 });
      expect(await ledger.record({ sessionId: 'a', usedTokens: 1_800_000_000 })).toMatchObject({
        status: 'recorded',
        usedTokens: 1_800_000_000,
      });
      expect(await claude(ledger)).toMatchObject({ used: 1_800_000_000 });
      expect(await ledger.settle('a', 2_700_000_000)).toMatchObject({ usedTokens: 2_700_000_000 });
      expect(await ledger.settle('b', 4_000_000_000, 'openai')).toMatchObject({ usedTokens: 4_000_000_000 });
      expect(await claude(ledger)).toMatchObject({ used: 2_700_000_000, reserved: 0 });
      await expectRejection(ledger.settle('c', 1e16, 'claude'), 'invalid-request');
    });

    it('should count recorded usage in the window in which it was recorded', async () => {
      const ledger = await ledgerWith(1_000);
      clock.set(NEXT_RESET - MINUTE);
      await ledger.reserve(req('a', 600, 60 * MINUTE));
      await ledger.record({ sessionId: 'a', usedTokens: 400 });
      clock.set(NEXT_RESET);
      expect(await claude(ledger)).toMatchObject({ used: 0, reserved: 200 });
      await ledger.settle('a', 500);
      expect(await claude(ledger)).toMatchObject({ used: 100, reserved: 0 });
    });
  });
}
