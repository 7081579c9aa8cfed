/**
 * The load of `npm run bench:ledger`: `inFlight` concurrent loops, each awaiting one operation at a
 * time until the deadline, in this process. The same loop drives agentvisor's `reserve` and
 * rate-limiter-flexible's `consume`, so both see the same concurrency and the same clock.
 */
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { Redis } from 'ioredis';
import { createFileLedger, createMemoryLedger, createRedisLedger } from '../../src/quota';
import type { QuotaLedger } from '../../src/quota';

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
}

/** Limits no run reaches: the figures measure the operation, not refusals. */
export const BENCH_LIMITS = { claude: { dailyLimit: 1_000_000_000_000_000, maxConcurrent: 1_000_000 }, openai: { dailyLimit: 0, maxConcurrent: 0 } };

/**
 * Opens the backend and warms it up (connection open, scripts loaded, code compiled); returns the
 * run, which starts at `startAt` (epoch ms) and resolves with how many operations completed within
 * the duration.
 */
export async function prepareLoad(spec: LoadSpec): Promise<(startAt: number) => Promise<number>> {
  const { op, close } = await operation(spec);
  for (let i = 0; i < 200; i += 1) await op(`${spec.prefix}-warm-${process.pid}-${i}`);
  return (startAt) => runFrom(spec, op, close, startAt);
}

async function runFrom(spec: LoadSpec, op: (id: string) => Promise<void>, close: () => Promise<void>, startAt: number): Promise<number> {
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

async function operation(spec: LoadSpec): Promise<{ op: (id: string) => Promise<void>; close: () => Promise<void> }> {
  if (spec.kind === 'rlf-memory' || spec.kind === 'rlf-redis') {
    const client = spec.kind === 'rlf-redis' ? new Redis(spec.target, { enableOfflineQueue: true }) : null;
    const limiter = client === null
      ? new RateLimiterMemory({ points: 1e12, duration: 3_600, keyPrefix: spec.prefix })
      : new RateLimiterRedis({ storeClient: client, points: 1e12, duration: 3_600, keyPrefix: spec.prefix });
    return {
      op: async () => {
        await limiter.consume('provider', 1);
      },
      close: async () => {
        await client?.quit();
      },
    };
  }
  const ledger: QuotaLedger =
    spec.kind === 'memory' ? createMemoryLedger({ limits: BENCH_LIMITS })
    : spec.kind === 'file' ? createFileLedger({ file: spec.target, limits: BENCH_LIMITS })
    : createRedisLedger({ redis: spec.target, keyPrefix: spec.prefix, limits: BENCH_LIMITS });
  return {
    op: async (id) => {
      const outcome = await ledger.reserve({ provider: 'claude', sessionId: id, tokens: 1, leaseMs: 3_600_000 });
      if (outcome.status !== 'reserved') throw new Error(`reserve was refused (${outcome.code}): the benchmark's limits are too low`);
    },
    close: () => ledger.close(),
  };
}
