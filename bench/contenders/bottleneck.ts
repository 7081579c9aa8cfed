/**
 * Baseline (b): Bottleneck (`maxConcurrent` + `reservoir`). The reservoir counts tokens: a job of
 * weight `estimatedTokens` takes that much from it when it starts; the job does the usage and
 * returns the tokens used, and the unused part goes back with `incrementReservoir`. Bottleneck's
 * `weight` also counts against `maxConcurrent`, so the concurrency limit is given in the same
 * unit: (live + headroom) × estimatedTokens, i.e. one slot per session.
 *
 * A live session is a job that is executing and waits on a promise the fixture holds.
 * Bottleneck's local datastore yields to the event loop with setTimeout(0) inside each operation
 * (lib/LocalDatastore.js, yieldLoop), so one job at a time is bound by timer ticks, not by CPU; the
 * `inflight` row keeps 64 cycles in flight to show its throughput when those waits overlap.
 */
import Bottleneck from 'bottleneck';
import { CYCLE } from '../lib/types';
import type { Contender, Fixture } from '../lib/types';

export const BOTTLENECK_IN_FLIGHT = 64;

async function openBottleneck(live: number): Promise<Fixture> {
  const limiter = new Bottleneck({
    maxConcurrent: (live + CYCLE.headroom) * CYCLE.estimatedTokens,
    reservoir: CYCLE.dailyLimit,
  });
  const releasers: (() => void)[] = [];
  const held: Promise<void>[] = [];
  let used = 0;
  const job = async (): Promise<number> => {
    used += CYCLE.usage.inputTokens + CYCLE.usage.outputTokens;
    return CYCLE.usedTokens;
  };
  const cycle = async (): Promise<void> => {
    const tokens = await limiter.schedule({ weight: CYCLE.estimatedTokens }, job);
    await limiter.incrementReservoir(CYCLE.estimatedTokens - tokens);
  };

  return {
    rows: [
      {
        key: 'bottleneck.sequential',
        async run(cycles: number): Promise<void> {
          for (let i = 0; i < cycles; i++) await cycle();
        },
      },
      {
        key: 'bottleneck.inflight',
        async run(cycles: number): Promise<void> {
          let started = 0;
          const worker = async () => {
            while (started < cycles) {
              started += 1;
              await cycle();
            }
          };
          await Promise.all(Array.from({ length: Math.min(BOTTLENECK_IN_FLIGHT, cycles) }, worker));
        },
      },
    ],
    async fill(count: number): Promise<void> {
      for (let i = 0; i < count; i++) {
        held.push(
          limiter.schedule(
            { weight: CYCLE.estimatedTokens },
            () => new Promise<void>((resolve) => releasers.push(resolve)),
          ),
        );
      }
      while (limiter.counts().EXECUTING < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    async verify(count: number, cyclesRun: number): Promise<string[]> {
      const problems: string[] = [];
      const counts = limiter.counts();
      if (counts.EXECUTING !== count) problems.push(`${counts.EXECUTING} jobs executing, expected ${count}`);
      if (counts.QUEUED !== 0 || counts.RUNNING !== 0 || counts.RECEIVED !== 0)
        problems.push(`jobs left over: ${JSON.stringify(counts)}`);
      const reservoir = await limiter.currentReservoir();
      const expected = CYCLE.dailyLimit - count * CYCLE.estimatedTokens - cyclesRun * CYCLE.usedTokens;
      if (reservoir !== expected) problems.push(`reservoir ${reservoir}, expected ${expected}`);
      if (used !== cyclesRun * CYCLE.usedTokens)
        problems.push(`used ${used}, expected ${cyclesRun * CYCLE.usedTokens}`);
      return problems;
    },
    async close(): Promise<number> {
      const t0 = performance.now();
      for (const release of releasers) release();
      await Promise.all(held);
      await limiter.stop({ dropWaitingJobs: false });
      releasers.length = 0;
      held.length = 0;
      return performance.now() - t0;
    },
  };
}

export const bottleneckContender: Contender = {
  name: 'Bottleneck',
  rows: [
    {
      key: 'bottleneck.sequential',
      label: 'Bottleneck, one at a time',
      description:
        'await limiter.schedule({ weight: estimate }, job that records usage) → await limiter.incrementReservoir(unused)',
    },
    {
      key: 'bottleneck.inflight',
      label: `Bottleneck, ${BOTTLENECK_IN_FLIGHT} in flight`,
      description: `the same cycle with ${BOTTLENECK_IN_FLIGHT} cycles in flight at once (throughput, not the latency of one cycle)`,
    },
  ],
  create: openBottleneck,
};
