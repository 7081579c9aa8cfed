/**
 * What the Redis ledger tests share: one Redis server per test file, an admin client, a fresh key
 * prefix for each use, and the ledgers a test opens, closed after it. Call `useRedisLedgers` once,
 * at the top of the file: its hooks start the server before the file's first test and stop it
 * after the last, so child processes started by a test (test/helpers/ledgerProcesses.ts) always
 * find it up. Every key lives under a prefix of this file's run, deleted at the end (they matter
 * on a shared REDIS_URL server). No two prefixes are the same: a test that counts what is under
 * its prefix (the multi-process ones) must not see what another test, file or run left there.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisLedger } from '../../src/quota';
import type { LedgerConfig, QuotaLedger } from '../../src/quota';
import type { RedisLedgerOptions } from '../../src/quota/redisLedger';
import { startLedgerWorker } from './ledgerProcesses';
import { startRedisServer, testRedis } from './redisServer';
import type { TestRedis } from './redisServer';

export interface RedisLedgers {
  /** The server's URL (from the file's first test on). */
  readonly url: string;
  /** A client of its own, for looking at keys and server figures. */
  readonly admin: Redis;
  /** A key prefix used nowhere else: `agentvisor-test:<this file's run>:<random>:`. */
  prefix(): string;
  /** A ledger on this server (unless `redis` is given) under a fresh prefix (unless given), closed after the test. */
  open(options: Partial<RedisLedgerOptions> & Pick<RedisLedgerOptions, 'limits'>): QuotaLedger;
}

/**
 * Registers the hooks of a Redis ledger test file. `ownServer` always starts a private
 * redis-server (for a file that reads the server's command counts, which must be its own);
 * otherwise REDIS_URL is used when set.
 *
 * @example
 * const redis = useRedisLedgers();
 * it('should reserve', async () => { await redis.open({ limits }).reserve(request); });
 */
export function useRedisLedgers(options: { ownServer?: boolean } = {}): RedisLedgers {
  const run = `agentvisor-test:${randomBytes(4).toString('hex')}:`;
  let server: TestRedis | undefined;
  let admin: Redis | undefined;
  let ledgers: QuotaLedger[] = [];
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRedisLedgers: the server starts in beforeAll; read it inside a test');
    return value;
  };

  beforeAll(async () => {
    server = options.ownServer ? await startRedisServer() : await testRedis();
    admin = new Redis(server.url);
  }, 20_000);

  beforeEach(() => {
    ledgers = [];
  });

  afterEach(async () => {
    await Promise.all(ledgers.map((l) => l.close()));
  });

  afterAll(async () => {
    if (admin) {
      const keys = await admin.keys(`${run}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
    await server?.stop();
  });

  const redis: RedisLedgers = {
    get url() {
      return started(server).url;
    },
    get admin() {
      return started(admin);
    },
    prefix: () => `${run}${randomBytes(4).toString('hex')}:`,
    open: (ledgerOptions) => {
      const ledger = createRedisLedger({ redis: redis.url, keyPrefix: redis.prefix(), ...ledgerOptions });
      ledgers.push(ledger);
      return ledger;
    },
  };
  return redis;
}

/** The kill tests' limits: 10 claude slots, no openai. */
export const TEN_SLOTS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A holder process (`holder`) takes 6 of TEN_SLOTS (1,000 tokens each, sessions `holder-hold-0`…)
 * under a fresh prefix and renews them every 100 ms. Once a ledger of the test has seen them all
 * held after two lease periods, the holder is SIGKILLed; its last renewal was at most 100 ms before.
 *
 * @example
 * const { ledger, killedAt } = await killHolderOfSix(redis, 600);
 */
export async function killHolderOfSix(
  redis: RedisLedgers,
  leaseMs: number,
): Promise<{ ledger: QuotaLedger; keyPrefix: string; killedAt: number }> {
  const keyPrefix = redis.prefix();
  const holder = startLedgerWorker({
    backend: 'redis',
    name: 'holder',
    redisUrl: redis.url,
    keyPrefix,
    limits: TEN_SLOTS,
    loops: 0,
    cycles: 0,
    tokens: 1_000,
    leaseMs,
    holdMs: 0,
    usedBase: 0,
    usedSpread: 1,
    holdForever: 6,
    renewEveryMs: 100,
  });
  let ledger: QuotaLedger;
  try {
    await holder.waitForLine('holding');
    ledger = redis.open({ limits: TEN_SLOTS, keyPrefix });
    // Outlive a few renewals: the holder keeps its leases while it lives.
    await sleep(2 * leaseMs);
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ reserved: 6_000, active: 6 });
  } finally {
    holder.child.kill('SIGKILL');
    await holder.exited;
  }
  return { ledger, keyPrefix, killedAt: Date.now() };
}
