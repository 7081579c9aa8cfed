/**
 * The Redis ledger's key layout 2 and its one-time migration from layout 1, against a real
 * redis-server (a private one, or REDIS_URL). Layout-1 books are written here key by key, exactly
 * as agentvisor before decision D36 left them.
 */
import type { LedgerConfig, QuotaLedger } from '../../src/quota';
import { LAYOUT_1_FENCE } from '../../src/quota/redisLayout';
import { useRedisLedgers } from '../helpers/redisLedgers';
import { HOUR, MINUTE, T0, expectRejection, testClock } from '../helpers/ledgerContract';

const redis = useRedisLedgers();
const prefix = () => redis.prefix();
const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 10_000, maxConcurrent: 2 },
  openai: { dailyLimit: 1_000, maxConcurrent: 1 },
};

/** Layout-1 books of 2026-03-10 (T0 is 10:00Z that day): two live leases, usage, settled and expired ids. */
async function writeLayout1(p: string): Promise<void> {
  await redis.admin
    .multi()
    .zadd(`${p}leases:claude`, T0 + HOUR, 'live-a')
    .hset(`${p}reservations:claude`, 'live-a', '700')
    .zadd(`${p}leases:openai`, T0 + 30 * MINUTE, 'live-b')
    .hset(`${p}reservations:openai`, 'live-b', '500')
    .hset(`${p}reserved-totals`, 'claude', '700', 'openai', '500')
    // live-a recorded 300 of its 1,000; ran-out had 200 counted before its lease ran out.
    .hset(`${p}recorded`, 'live-a', '300:1000', 'ran-out', '200:0')
    .hset(`${p}2026-03-10:used`, 'claude', '5000', 'claude:overrun', '40', 'openai', '100')
    .hset(`${p}2026-03-10:settled`, 'done', '1:400:100')
    .hset(`${p}2026-03-09:settled`, 'yesterday', '2:50:0')
    .hset(`${p}2026-03-10:expired`, 'ran-out', '1')
    .exec();
}

describe('the Redis ledger key layout', () => {
  const open = (keyPrefix: string, now: () => number): QuotaLedger =>
    redis.open({ limits: LIMITS, keyPrefix, clock: 'caller', now });

  it('should migrate layout-1 books once at the first call, carrying leases, usage, settled and expired ids', async () => {
    const keyPrefix = prefix();
    await writeLayout1(keyPrefix);
    const clock = testClock();
    const [first, second] = [open(keyPrefix, clock.now), open(keyPrefix, clock.now)];
    // Two ledgers race to the first call: the books move once, not twice.
    const [a, b] = await Promise.all([first.snapshot(), second.snapshot()]);
    expect(a).toEqual(b);
    expect(a.providers.claude).toMatchObject({ used: 5_000, reserved: 700, active: 1, overrun: 40 });
    expect(a.providers.openai).toMatchObject({ used: 100, reserved: 500, active: 1, overrun: 0 });
    expect(await first.reserve({ provider: 'openai', sessionId: 'x', tokens: 1, leaseMs: MINUTE })).toEqual({
      status: 'refused',
      provider: 'openai',
      code: 'concurrency-limit',
      retryAfterMs: 30 * MINUTE,
    });
    await expectRejection(
      first.reserve({ provider: 'claude', sessionId: 'done', tokens: 1, leaseMs: MINUTE }),
      'invalid-request',
      'already-settled',
    );
    await expectRejection(
      first.reserve({ provider: 'claude', sessionId: 'yesterday', tokens: 1, leaseMs: MINUTE }),
      'invalid-request',
      'already-settled',
    );
    expect(await first.settle('done', 999)).toEqual({
      sessionId: 'done',
      provider: 'claude',
      usedTokens: 400,
      returnedTokens: 100,
    });
    // The recorded 300 were counted before the move: only the other 500 count now, and 200 of the grant return.
    expect(await first.settle('live-a', 800)).toEqual({
      sessionId: 'live-a',
      provider: 'claude',
      usedTokens: 800,
      returnedTokens: 200,
    });
    expect(await second.settle('ran-out', 250)).toEqual({
      sessionId: 'ran-out',
      provider: 'claude',
      usedTokens: 250,
      returnedTokens: 0,
    });
    expect((await second.snapshot()).providers.claude).toMatchObject({ used: 5_550, reserved: 0, active: 0 });
    clock.advance(30 * MINUTE);
    expect((await first.reserve({ provider: 'openai', sessionId: 'x', tokens: 1, leaseMs: MINUTE })).status).toBe(
      'reserved',
    );
  });

  it('should leave only layout-2 keys and a fence that makes an older agentvisor fail instead of keeping books of its own', async () => {
    const keyPrefix = prefix();
    await writeLayout1(keyPrefix);
    await open(keyPrefix, testClock().now).snapshot();
    const layout1 = (await redis.admin.keys(`${keyPrefix}*`))
      .filter((key) => !key.startsWith(`${keyPrefix}v2:`))
      .sort();
    expect(layout1).toEqual([`${keyPrefix}recorded`, `${keyPrefix}reserved-totals`]);
    for (const key of layout1) {
      expect(await redis.admin.get(key)).toBe(LAYOUT_1_FENCE);
      expect(await redis.admin.pttl(key)).toBe(-1);
      // Layout 1's reserve, record and snapshot read reserved-totals, and settle reads recorded, before they write anything.
      await expect(redis.admin.hget(key, 'claude')).rejects.toThrow(/WRONGTYPE/);
    }
  });

  it('should mark a fresh prefix as layout 2 and fence layout 1 at its first call', async () => {
    const keyPrefix = prefix();
    const ledger = open(keyPrefix, testClock().now);
    expect((await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 10, leaseMs: MINUTE })).status).toBe(
      'reserved',
    );
    expect(await redis.admin.hget(`${keyPrefix}v2:books`, 'layout')).toBe('2');
    expect(await redis.admin.get(`${keyPrefix}reserved-totals`)).toBe(LAYOUT_1_FENCE);
  });

  it('should refuse books marked with a layout it does not know, with ledger-corrupt, and change nothing', async () => {
    const keyPrefix = prefix();
    await redis.admin.hset(`${keyPrefix}v2:books`, 'layout', '3', 'claude:reserved', '7');
    const ledger = open(keyPrefix, testClock().now);
    for (const call of [
      () => ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 10, leaseMs: MINUTE }),
      () => ledger.settle('a', 5, 'claude'),
      () => ledger.snapshot(),
    ]) {
      const error = await expectRejection(call(), 'ledger-corrupt', 'unknown-layout');
      expect(error.message).toContain('key layout "3"');
      expect(error.details).toMatchObject({ backend: 'redis', layout: '3' });
    }
    expect(await redis.admin.keys(`${keyPrefix}*`)).toEqual([`${keyPrefix}v2:books`]);
    expect(await redis.admin.hgetall(`${keyPrefix}v2:books`)).toEqual({ layout: '3', 'claude:reserved': '7' });
  });
});
