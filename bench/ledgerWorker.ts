/**
 * One process of `npm run bench:ledger`: prepares the load of argv[2] (a LoadSpec), prints `ready`,
 * reads the start time (epoch ms) from stdin, runs, prints how many operations completed.
 *
 * The load is `inFlight` concurrent loops, each awaiting one operation at a time until the
 * deadline. The same loop drives agentvisor's `reserve` and rate-limiter-flexible's `consume`, so
 * both see the same concurrency and the same clock. Fairness: rate-limiter-flexible's ioredis
 * client gets exactly the options of the connection the Redis ledger opens for itself
 * (`ledgerConnectionOptions`), and with `autoPipelining` both clients get `enableAutoPipelining`.
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { createFileLedger, createMemoryLedger, createRedisLedger } from '../src/quota';
import type { QuotaLedger } from '../src/quota';
import { ledgerConnectionOptions } from '../src/quota/redisConnection';

export type LoadKind = 'memory' | 'file' | 'redis' | 'rlf-memory' | 'rlf-redis';

export interface LoadSpec {
  readonly kind: LoadKind;
  /** Redis URL (redis kinds) or ledger file (file). */
  readonly target: string;
  /** Key prefix (Redis) or id prefix, unique per run. */
  readonly prefix: string;
  readonly inFlight: number;
  /** How long to run, from the start time every process of a run is given. */
  readonly durationMs: number;
  /** ioredis `enableAutoPipelining` on the Redis client of either contender. @default false */
  readonly autoPipelining?: boolean;
}

/** Limits no run reaches: the figures measure the operation, not refusals. */
const BENCH_LIMITS = {
  claude: { dailyLimit: 1_000_000_000_000_000, maxConcurrent: 1_000_000 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};
/** The Redis ledger's default timeout, so that both clients get the same commandTimeout. */
const TIMEOUT_MS = 2_000;

interface Operation {
  readonly op: (id: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** A client with the ledger's own connection options, ready to take commands (they are not queued while connecting). */
async function benchClient(spec: LoadSpec): Promise<Redis> {
  const client = new Redis(spec.target, {
    ...ledgerConnectionOptions(TIMEOUT_MS),
    enableAutoPipelining: spec.autoPipelining === true,
  });
  if (client.status !== 'ready')
    await new Promise<void>((resolve, reject) => client.once('ready', resolve).once('error', reject));
  return client;
}

async function operation(spec: LoadSpec): Promise<Operation> {
  if (spec.kind === 'rlf-memory') {
    const limiter = new RateLimiterMemory({ points: 1e12, duration: 3_600, keyPrefix: spec.prefix });
    return { op: async () => void (await limiter.consume('provider', 1)), close: async () => undefined };
  }
  if (spec.kind === 'rlf-redis') {
    const client = await benchClient(spec);
    const limiter = new RateLimiterRedis({
      storeClient: client,
      points: 1e12,
      duration: 3_600,
      keyPrefix: spec.prefix,
    });
    return {
      op: async () => void (await limiter.consume('provider', 1)),
      close: async () => void (await client.quit()),
    };
  }
  // Without auto-pipelining the ledger opens its own connection, as it does for a user who passes a URL.
  const client = spec.kind === 'redis' && spec.autoPipelining === true ? await benchClient(spec) : null;
  const ledger: QuotaLedger =
    spec.kind === 'memory'
      ? createMemoryLedger({ limits: BENCH_LIMITS })
      : spec.kind === 'file'
        ? createFileLedger({ file: spec.target, limits: BENCH_LIMITS })
        : createRedisLedger({
            redis: client ?? spec.target,
            keyPrefix: spec.prefix,
            limits: BENCH_LIMITS,
            timeout: TIMEOUT_MS,
          });
  return {
    op: async (id) => {
      const outcome = await ledger.reserve({ provider: 'claude', sessionId: id, tokens: 1, leaseMs: 3_600_000 });
      if (outcome.status !== 'reserved')
        throw new Error(`reserve was refused (${outcome.code}): the benchmark's limits are too low`);
    },
    close: async () => {
      await ledger.close();
      await client?.quit();
    },
  };
}

async function runFrom(spec: LoadSpec, { op, close }: Operation, startAt: number): Promise<number> {
  while (Date.now() < startAt) await new Promise((resolve) => setTimeout(resolve, Math.min(5, startAt - Date.now())));
  const deadline = startAt + spec.durationMs;
  let done = 0;
  const loop = async (l: number) => {
    for (let i = 0; Date.now() < deadline; i += 1) {
      await op(`${spec.prefix}-${process.pid}-${l}-${i}`);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: spec.inFlight }, (_, l) => loop(l)));
  await close();
  return done;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const operationOf = await operation(spec);
  // Warm up: connection open, scripts loaded, code compiled.
  for (let i = 0; i < 200; i += 1) await operationOf.op(`${spec.prefix}-warm-${process.pid}-${i}`);
  process.stdout.write('ready\n');
  const startAt = await new Promise<number>((resolve) =>
    process.stdin.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  process.stdout.write(`${await runFrom(spec, operationOf, startAt)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
