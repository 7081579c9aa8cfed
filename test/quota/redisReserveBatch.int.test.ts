/**
 * The Redis ledger under many concurrent reservers: reservations asked for together share one
 * script call (redisReserveBatch.ts) and must still be decided one by one, in call order, with
 * every invariant intact, within one process and across processes. A private redis-server is
 * started here, so that the server's command counts belong to this file alone.
 */
import { windowAt } from '../../src/quota';
import type { LedgerConfig, QuotaLedger, ReserveOutcome } from '../../src/quota';
import { MAX_RESERVE_BATCH } from '../../src/quota/redisReserveBatch';
import { startTogether } from '../helpers/ledgerProcesses';
import { killHolderOfSix, useRedisLedgers } from '../helpers/redisLedgers';
import { startRedisServer } from '../helpers/redisServer';
import { MINUTE, expectRejection } from '../helpers/ledgerContract';

const redis = useRedisLedgers({ ownServer: true });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many EVALSHA calls the server has run so far. */
async function scriptCalls(): Promise<number> {
  const stats = await redis.admin.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('createRedisLedger with many concurrent reservers', () => {
  const open = (limits: LedgerConfig['limits'], keyPrefix = redis.prefix()): QuotaLedger =>
    redis.open({ limits, keyPrefix });

  it('should decide reservations asked for together in call order, as separate calls would, in few script calls', async () => {
    const ledger = open({
      claude: { dailyLimit: 20_000, maxConcurrent: 1_000 },
      openai: { dailyLimit: 1_000, maxConcurrent: 150 },
    });
    await ledger.snapshot();
    const before = await scriptCalls();
    const claude = Array.from({ length: 300 }, (_, i) =>
      ledger.reserve({ provider: 'claude', sessionId: `c-${i}`, tokens: 100, leaseMs: MINUTE }),
    );
    const openai = Array.from({ length: 300 }, (_, i) =>
      ledger.reserve({ provider: 'openai', sessionId: `o-${i}`, tokens: 1, leaseMs: MINUTE }),
    );
    const outcomes: ReserveOutcome[] = await Promise.all([...claude, ...openai]);
    expect(await scriptCalls()).toBeLessThanOrEqual(before + Math.ceil(600 / MAX_RESERVE_BATCH) + 1);
    const statusOf = (o: ReserveOutcome) => (o.status === 'reserved' ? 'reserved' : o.code);
    // The budget admits the first 200 claude requests, the slots the first 150 openai ones: in the order asked.
    expect(outcomes.slice(0, 300).map(statusOf)).toEqual([
      ...Array(200).fill('reserved'),
      ...Array(100).fill('quota-exhausted'),
    ]);
    expect(outcomes.slice(300).map(statusOf)).toEqual([
      ...Array(150).fill('reserved'),
      ...Array(150).fill('concurrency-limit'),
    ]);
    // A slot frees when the earliest lease runs out, whether that lease was taken in an earlier script call or in this one.
    for (const o of outcomes.slice(450))
      expect(o.status === 'refused' && o.retryAfterMs).toBeGreaterThan(MINUTE - 5_000);
    for (const o of outcomes.slice(450)) expect(o.status === 'refused' && o.retryAfterMs).toBeLessThanOrEqual(MINUTE);
    const snapshot = await ledger.snapshot();
    expect(snapshot.providers.claude).toMatchObject({ reserved: 20_000, active: 200 });
    expect(snapshot.providers.openai).toMatchObject({ reserved: 150, active: 150 });
  });

  it('should refuse the second of two reservations of one id asked for together, and keep call order with other operations', async () => {
    const ledger = open({
      claude: { dailyLimit: 10_000, maxConcurrent: 10 },
      openai: { dailyLimit: 0, maxConcurrent: 0 },
    });
    const first = ledger.reserve({ provider: 'claude', sessionId: 'same', tokens: 100, leaseMs: MINUTE });
    const second = ledger.reserve({ provider: 'claude', sessionId: 'same', tokens: 100, leaseMs: MINUTE });
    // Not awaited: the settle must still reach Redis after the reservation it settles.
    const settled = ledger.settle('same', 30);
    const snapshot = ledger.snapshot();
    expect(await first).toMatchObject({ status: 'reserved', sessionId: 'same' });
    await expectRejection(second, 'invalid-request', 'duplicate-session');
    expect(await settled).toEqual({ sessionId: 'same', provider: 'claude', usedTokens: 30, returnedTokens: 70 });
    expect((await snapshot).providers.claude).toMatchObject({ used: 30, reserved: 0, active: 0 });
  });

  it('should keep every reservation of a batch refused with ledger-unavailable when Redis is gone, and recover', async () => {
    const own = await startRedisServer();
    try {
      const ledger = redis.open({
        limits: { claude: { dailyLimit: 10_000, maxConcurrent: 100 }, openai: { dailyLimit: 0, maxConcurrent: 0 } },
        redis: own.url,
        timeout: 500,
      });
      await ledger.snapshot();
      await own.kill();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          ledger.reserve({ provider: 'claude', sessionId: `d-${i}`, tokens: 1, leaseMs: MINUTE }),
        ),
      );
      expect(results.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code)).toEqual(
        Array(20).fill('ledger-unavailable'),
      );
      await own.restart();
      let outcome: ReserveOutcome | null = null;
      for (const deadline = Date.now() + 5_000; outcome === null && Date.now() < deadline;) {
        outcome = await ledger
          .reserve({ provider: 'claude', sessionId: 'back', tokens: 1, leaseMs: MINUTE })
          .catch(() => null);
        if (outcome === null) await sleep(50);
      }
      expect(outcome).toMatchObject({ status: 'reserved' });
    } finally {
      await own.stop();
    }
  });

  it('should never pass the slots or the budget with 4 processes x 32 reservers in flight, and count every token', async () => {
    const keyPrefix = redis.prefix();
    const heldKey = `${keyPrefix}test:held`;
    const budgetKey = `${keyPrefix}test:budget`;
    // 1,024 cycles reserve 100 and use 50: the limit leaves room for exactly that.
    const limits = { claude: { dailyLimit: 51_250, maxConcurrent: 10 }, openai: { dailyLimit: 0, maxConcurrent: 0 } };
    const spec = {
      backend: 'redis' as const,
      redisUrl: redis.url,
      keyPrefix,
      heldKey,
      budgetKey,
      limits,
      loops: 32,
      cycles: 8,
      tokens: 100,
      leaseMs: 30_000,
      holdMs: 2,
      usedBase: 50,
      usedSpread: 1,
    };
    const workers = await startTogether(Array.from({ length: 4 }, (_, w) => ({ ...spec, name: `w${w}` })));
    const summaries = await Promise.all(workers.map((w) => w.summary));
    expect(summaries.map((s) => s.settled)).toEqual([256, 256, 256, 256]);
    expect(Math.max(...summaries.map((s) => s.maxHeld))).toBeLessThanOrEqual(10);
    expect(Math.max(...summaries.map((s) => s.maxBudget))).toBeLessThanOrEqual(51_250);
    expect(summaries.reduce((sum, s) => sum + (s.refusals['concurrency-limit'] ?? 0), 0)).toBeGreaterThan(0);
    expect(await redis.admin.get(heldKey)).toBe('0');
    const snapshot = await open(limits, keyPrefix).snapshot();
    expect(snapshot.providers.claude).toEqual({
      dailyLimit: 51_250,
      maxConcurrent: 10,
      used: 51_200,
      reserved: 0,
      active: 0,
      overrun: 0,
    });
    expect(await redis.admin.hlen(`${keyPrefix}v2:${windowAt(Date.now()).day}:settled`)).toBe(1_024);
  }, 90_000);

  it("should give a SIGKILLed holder's slots to reservers in flight within one lease period, and remember its leases as expired", async () => {
    const leaseMs = 600;
    const { ledger, keyPrefix, killedAt } = await killHolderOfSix(redis, leaseMs);
    let held = 0;
    let next = 0;
    // 64 reservers keep asking (together, so in shared script calls) until all 10 slots are theirs.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (held < 10 && Date.now() - killedAt < 3 * leaseMs) {
          const outcome = await ledger.reserve({
            provider: 'claude',
            sessionId: `mine-${(next += 1)}`,
            tokens: 1,
            leaseMs: 60_000,
          });
          if (outcome.status === 'reserved') held += 1;
          else await sleep(20);
        }
      }),
    );
    expect(held).toBe(10);
    // The last renewal was at most 100 ms before the kill.
    expect(Date.now() - killedAt).toBeLessThanOrEqual(leaseMs + 200);
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ reserved: 10, active: 10 });
    const expired = await redis.admin.hgetall(`${keyPrefix}v2:${windowAt(Date.now()).day}:expired`);
    expect(expired).toEqual(Object.fromEntries(Array.from({ length: 6 }, (_, h) => [`holder-hold-${h}`, '1:0'])));
    expect(await ledger.settle('holder-hold-0', 123)).toEqual({
      sessionId: 'holder-hold-0',
      provider: 'claude',
      usedTokens: 123,
      returnedTokens: 0,
    });
  });
});
