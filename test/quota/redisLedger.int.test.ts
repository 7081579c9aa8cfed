/**
 * The Redis ledger against a real redis-server: a private one started here (or REDIS_URL), plus
 * private servers for the tests that kill Redis. Each ledger gets its own key prefix.
 */
import { Redis } from 'ioredis';
import { createRedisLedger, windowAt } from '../../src/quota';
import type { LedgerConfig, QuotaLedger } from '../../src/quota';
import { startTogether } from '../helpers/ledgerProcesses';
import { killHolderOfSix, useRedisLedgers } from '../helpers/redisLedgers';
import { startRedisServer } from '../helpers/redisServer';
import type { RedisServer } from '../helpers/redisServer';
import {
  HOUR,
  MINUTE,
  T0,
  describeLedgerContract,
  expectRejection,
  rejectionOf,
  testClock,
} from '../helpers/ledgerContract';

const redis = useRedisLedgers();
const prefix = () => redis.prefix();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeLedgerContract('redis (caller clock)', () => ({
  create: async (config) => createRedisLedger({ ...config, redis: redis.url, keyPrefix: prefix(), clock: 'caller' }),
}));

const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 100_000, maxConcurrent: 3 },
  openai: { dailyLimit: 50_000, maxConcurrent: 2 },
};

describe('createRedisLedger', () => {
  const open = (options: Partial<Parameters<typeof createRedisLedger>[0]> = {}): QuotaLedger =>
    redis.open({ limits: LIMITS, ...options });

  it('should time leases with the server clock: capacity comes back after a short real lease', async () => {
    const ledger = open();
    const before = Date.now();
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) =>
        ledger.reserve({ provider: 'claude', sessionId: id, tokens: 100, leaseMs: 300 }),
      ),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(['refused', 'reserved', 'reserved', 'reserved']);
    const refused = outcomes.find((o) => o.status === 'refused');
    expect(refused).toMatchObject({ code: 'concurrency-limit' });
    expect(refused?.status === 'refused' && refused.retryAfterMs).toBeGreaterThan(150);
    for (const o of outcomes)
      if (o.status === 'reserved') expect(Math.abs(o.expiresAt - (before + 300))).toBeLessThan(250);
    expect(await ledger.renew('a', 2_000)).toBe(true);
    await sleep(350);
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ reserved: 100, active: 1 });
    expect(await ledger.renew('b', 2_000)).toBe(false);
    expect(await ledger.settle('b', 70)).toEqual({
      sessionId: 'b',
      provider: 'claude',
      usedTokens: 70,
      returnedTokens: 0,
    });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 70, reserved: 100, active: 1 });
  });

  it("should take the daily window from the server's clock when this host's clock is off by days", async () => {
    const skewed = open({ now: () => Date.now() + 3 * 24 * HOUR });
    const snapshot = await skewed.snapshot();
    expect(snapshot.day).toBe(windowAt(Date.now()).day);
    expect(snapshot.nextResetAt).toBe(windowAt(Date.now()).nextResetAt);
    const outcome = await skewed.reserve({ provider: 'claude', sessionId: 's', tokens: 10, leaseMs: 60_000 });
    // The lease is timed by the server too: about a minute from the real now, not three days on.
    expect(outcome.status === 'reserved' && Math.abs(outcome.expiresAt - (Date.now() + 60_000))).toBeLessThan(1_000);
  });

  it('should keep its keys under the prefix in layout 2: books, leases, expiry sets and day keys that expire', async () => {
    const keyPrefix = prefix();
    const k = `${keyPrefix}v2:`;
    const clock = testClock(T0);
    const ledger = open({ keyPrefix, clock: 'caller', now: clock.now });
    await ledger.reserve({ provider: 'claude', sessionId: 'live', tokens: 500, leaseMs: HOUR });
    await ledger.reserve({ provider: 'openai', sessionId: 'gone', tokens: 300, leaseMs: MINUTE });
    await ledger.reserve({ provider: 'claude', sessionId: 'done', tokens: 400, leaseMs: HOUR });
    await ledger.record({ sessionId: 'live', usedTokens: 20 });
    await ledger.settle('done', 123);
    clock.advance(MINUTE);
    await ledger.sweep();
    const keys = (await redis.admin.keys(`${keyPrefix}*`)).sort();
    // The two layout-1 names hold the fence written when the prefix was first used (redisMigration.ts).
    expect(keys).toEqual(
      [
        `${k}2026-03-10:expired`,
        `${k}2026-03-10:settled`,
        `${k}2026-03-10:used`,
        `${k}books`,
        `${k}expiry:claude`,
        `${k}leases`,
        `${keyPrefix}recorded`,
        `${keyPrefix}reserved-totals`,
      ].sort(),
    );
    expect(await redis.admin.hgetall(`${k}books`)).toEqual({
      layout: '2',
      dailyReset: '00:00 UTC',
      'claude:reserved': '480',
      'openai:reserved': '0',
    });
    expect(await redis.admin.hgetall(`${k}leases`)).toEqual({ live: '1:500:20' });
    expect(await redis.admin.zrange(`${k}expiry:claude`, 0, '-1', 'WITHSCORES')).toEqual([
      'live',
      String(clock.now() - MINUTE + HOUR),
    ]);
    expect(await redis.admin.hgetall(`${k}2026-03-10:used`)).toEqual({ claude: '143' });
    expect(await redis.admin.hgetall(`${k}2026-03-10:settled`)).toEqual({ done: '1:123:277' });
    expect(await redis.admin.hgetall(`${k}2026-03-10:expired`)).toEqual({ gone: '2:0' });
    for (const [key, days] of [
      [':settled', 3],
      [':expired', 3],
      [':used', 8],
    ] as const) {
      const ttl = await redis.admin.pttl(`${k}2026-03-10${key}`);
      expect(ttl).toBeGreaterThan(days * 24 * HOUR - MINUTE);
      expect(ttl).toBeLessThanOrEqual(days * 24 * HOUR);
    }
  });

  it('should refuse a ledger whose daily reset is not the one the prefix keeps, changing nothing', async () => {
    const keyPrefix = prefix();
    const now = (): number => Date.parse('2026-12-08T03:00:00Z');
    const utc = open({ keyPrefix, clock: 'caller', now });
    await utc.reserve({ provider: 'claude', sessionId: 'a', tokens: 90_000, leaseMs: HOUR });
    await utc.settle('a', 90_000);
    expect(await redis.admin.hget(`${keyPrefix}v2:books`, 'dailyReset')).toBe('00:00 UTC');
    const before = await redis.admin.hgetall(`${keyPrefix}v2:2026-12-08:used`);
    // 03:00 UTC is still Dec 7 in New York: a ledger resetting there would start from an empty day.
    const newYork = open({
      keyPrefix,
      clock: 'caller',
      now,
      dailyReset: { at: '00:00', timeZone: 'America/New_York' },
    });
    for (const call of [
      newYork.snapshot(),
      newYork.reserve({ provider: 'claude', sessionId: 'b', tokens: 90_000, leaseMs: HOUR }),
    ]) {
      const error = await expectRejection(call, 'invalid-option');
      expect(error.details).toMatchObject({ option: 'dailyReset' });
      expect(error.message).toContain("{ at: '00:00', timeZone: 'UTC' }");
    }
    expect(await redis.admin.exists(`${keyPrefix}v2:2026-12-07:used`)).toBe(0);
    expect(await redis.admin.hgetall(`${keyPrefix}v2:2026-12-08:used`)).toEqual(before);
    const alias = open({ keyPrefix, clock: 'caller', now, dailyReset: { at: '00:00', timeZone: 'Etc/UTC' } });
    expect((await alias.snapshot()).providers.claude).toMatchObject({ used: 90_000 });
  });

  it('should rebuild lost books from the live leases (the hash deleted)', async () => {
    const keyPrefix = prefix();
    const ledger = open({ keyPrefix });
    await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 500, leaseMs: HOUR });
    await ledger.reserve({ provider: 'claude', sessionId: 'b', tokens: 200, leaseMs: HOUR });
    await ledger.record({ sessionId: 'b', usedTokens: 50 });
    await redis.admin.del(`${keyPrefix}v2:books`);
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 50, reserved: 650, active: 2 });
    await ledger.settle('a', 100);
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 150, reserved: 150, active: 1 });
    expect(await redis.admin.hget(`${keyPrefix}v2:books`, 'claude:reserved')).toBe('150');
  });

  it('should reload its scripts after the script cache is flushed (EVALSHA falls back to EVAL)', async () => {
    const ledger = open();
    await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 1, leaseMs: 60_000 });
    await redis.admin.script('FLUSH');
    expect((await ledger.reserve({ provider: 'claude', sessionId: 'b', tokens: 1, leaseMs: 60_000 })).status).toBe(
      'reserved',
    );
    expect((await ledger.snapshot()).providers.claude.active).toBe(2);
  });

  it('should quit the connection it opened at close, and leave an injected client open', async () => {
    const name = async () =>
      String(await redis.admin.client('LIST'))
        .split('\n')
        .filter((l: string) => l.includes('name=agentvisor-ledger')).length;
    const before = await name();
    const owned = createRedisLedger({ limits: LIMITS, redis: redis.url, keyPrefix: prefix() });
    await owned.snapshot();
    expect(await name()).toBe(before + 1);
    await owned.close();
    await sleep(50);
    expect(await name()).toBe(before);

    const client = new Redis(redis.url);
    try {
      const injected = createRedisLedger({ limits: LIMITS, redis: client, keyPrefix: prefix() });
      await injected.reserve({ provider: 'openai', sessionId: 'x', tokens: 5, leaseMs: 60_000 });
      await injected.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      await expectRejection(injected.snapshot(), 'ledger-unavailable', 'closed');
    } finally {
      await client.quit();
    }
  });

  it('should reject bad Redis options with invalid-option', async () => {
    for (const options of [
      { redis: 'http://example.com' },
      { redis: 'not a url' },
      { redis: 42 as unknown as string },
      { keyPrefix: 'has space' },
      { clock: 'mine' as 'server' },
      { timeout: 0 },
    ]) {
      const error = await rejectionOf(
        (async () => createRedisLedger({ limits: LIMITS, redis: redis.url, ...options }))(),
      );
      expect(error.code).toBe('invalid-option');
    }
  });

  describe('when Redis goes away', () => {
    let server: RedisServer;
    const password = 'pa55-w0rd-secret';

    beforeAll(async () => {
      server = await startRedisServer({ password });
    }, 20_000);

    afterAll(async () => {
      await server?.stop();
    });

    it('should reject quickly with ledger-unavailable, never show the password, and work again after a restart', async () => {
      const ledger = open({ redis: server.url, timeout: 500 });
      expect((await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 10, leaseMs: 60_000 })).status).toBe(
        'reserved',
      );
      await server.kill();
      for (const call of [
        () => ledger.reserve({ provider: 'claude', sessionId: 'b', tokens: 10, leaseMs: 60_000 }),
        () => ledger.settle('a', 5),
        () => ledger.snapshot(),
      ]) {
        const started = Date.now();
        const error = await expectRejection(call(), 'ledger-unavailable');
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(error.message).toContain(`redis://127.0.0.1:${server.port}/0 is unavailable`);
        expect(error.message).toMatch(/Check that Redis is running and reachable there/);
        expect(error.details).toMatchObject({ backend: 'redis', target: `redis://127.0.0.1:${server.port}/0` });
        expect(JSON.stringify(error)).not.toContain(password);
        expect(`${error.message} ${error.stack}`).not.toContain(password);
      }
      await server.restart();
      const deadline = Date.now() + 5_000;
      let outcome = null;
      while (outcome === null && Date.now() < deadline) {
        outcome = await ledger
          .reserve({ provider: 'claude', sessionId: 'c', tokens: 10, leaseMs: 60_000 })
          .catch(() => null);
        if (outcome === null) await sleep(50);
      }
      expect(outcome).toMatchObject({ status: 'reserved' });
      // The restarted server had no persistence: the books started empty.
      expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 0, reserved: 10, active: 1 });
    });

    it('should fail at once for a server that is not there, without hanging', async () => {
      const down = await startRedisServer();
      await down.stop();
      const ledger = open({ redis: `redis://user:${password}@127.0.0.1:${down.port}/2`, timeout: 500 });
      const started = Date.now();
      const error = await expectRejection(ledger.snapshot(), 'ledger-unavailable');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(error.message).toContain(`redis://127.0.0.1:${down.port}/2`);
      expect(error.message).not.toContain(password);
      expect(error.message).not.toContain('user:');
    });
  });

  describe('with several processes', () => {
    it('should hold at most 10 sessions at any instant and never pass the budget: 4 processes x 200 cycles', async () => {
      const keyPrefix = prefix();
      const heldKey = `${keyPrefix}test:held`;
      const budgetKey = `${keyPrefix}test:budget`;
      // 800 cycles reserve 100 and use 50: 40,000 used in the end; the limit leaves room for exactly that.
      const limits = { claude: { dailyLimit: 40_050, maxConcurrent: 10 }, openai: { dailyLimit: 0, maxConcurrent: 0 } };
      const spec = {
        backend: 'redis' as const,
        redisUrl: redis.url,
        keyPrefix,
        heldKey,
        budgetKey,
        limits,
        loops: 5,
        cycles: 40,
        tokens: 100,
        leaseMs: 30_000,
        holdMs: 5,
        usedBase: 50,
        usedSpread: 1,
      };
      const workers = await startTogether(Array.from({ length: 4 }, (_, w) => ({ ...spec, name: `r${w}` })));
      const summaries = await Promise.all(workers.map((w) => w.summary));
      expect(summaries.map((s) => s.settled)).toEqual([200, 200, 200, 200]);
      expect(summaries.reduce((sum, s) => sum + s.used, 0)).toBe(40_000);
      const maxHeld = Math.max(...summaries.map((s) => s.maxHeld));
      expect(maxHeld).toBeLessThanOrEqual(10);
      expect(maxHeld).toBeGreaterThanOrEqual(5);
      expect(Math.max(...summaries.map((s) => s.maxBudget))).toBeLessThanOrEqual(40_050);
      expect(summaries.reduce((sum, s) => sum + (s.refusals['concurrency-limit'] ?? 0), 0)).toBeGreaterThan(0);
      expect(await redis.admin.get(heldKey)).toBe('0');
      const ledger = open({ keyPrefix, limits });
      expect((await ledger.snapshot()).providers.claude).toEqual({
        dailyLimit: 40_050,
        maxConcurrent: 10,
        used: 40_000,
        reserved: 0,
        active: 0,
        overrun: 0,
      });
      expect(await redis.admin.hlen(`${keyPrefix}v2:${windowAt(Date.now()).day}:settled`)).toBe(800);
    }, 60_000);

    it("should give a SIGKILLed holder's slots back within one lease period", async () => {
      const leaseMs = 600;
      const { ledger, killedAt } = await killHolderOfSix(redis, leaseMs);
      const mine = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          ledger.reserve({ provider: 'claude', sessionId: `mine-${i}`, tokens: 1, leaseMs: 60_000 }),
        ),
      );
      expect(mine.filter((o) => o.status === 'reserved')).toHaveLength(4);
      let got = 4;
      let i = 10;
      while (got < 10 && Date.now() - killedAt < 3 * leaseMs) {
        const o = await ledger.reserve({
          provider: 'claude',
          sessionId: `mine-${(i += 1)}`,
          tokens: 1,
          leaseMs: 60_000,
        });
        if (o.status === 'reserved') got += 1;
        else await sleep(20);
      }
      const elapsed = Date.now() - killedAt;
      expect(got).toBe(10);
      // The last renewal was at most 100 ms before the kill: all six leases ran out within one lease period of it.
      expect(elapsed).toBeLessThanOrEqual(leaseMs + 150);
      expect((await ledger.snapshot()).providers.claude).toMatchObject({ reserved: 10, active: 10 });
    });
  });
});
