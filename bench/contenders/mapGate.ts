/**
 * Baseline (a): the seed's admission logic with no actors. A Map of sessions and, per provider,
 * counters for active, used and reserved. Spawn checks concurrency and budget, then reserves
 * `min(estimate, floor(available / 2))` in the same call; usage moves reserved to used; release
 * returns the unused allocation and frees the slot.
 *
 * Two rows: `async` has agentvisor's API shape (spawn and release return promises, the host holds
 * a handle), `sync` is the same logic with plain calls: the floor of what the bookkeeping costs.
 */
import { CYCLE } from '../lib/types';
import type { Contender, Fixture } from '../lib/types';

type Provider = 'claude' | 'openai';

interface Budget {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
  used: number;
  reserved: number;
  active: number;
}

interface UsageReport {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export class GateSession {
  usedTokens = 0;

  constructor(
    private readonly gate: MapGate,
    readonly id: string,
    readonly provider: Provider,
    readonly allocatedTokens: number,
  ) {}

  reportUsage(report: UsageReport): void {
    this.gate.recordUsage(this, report.inputTokens + report.outputTokens);
  }

  release(): { usedTokens: number; returnedTokens: number } {
    return this.gate.release(this);
  }

  async releaseAsync(): Promise<{ usedTokens: number; returnedTokens: number }> {
    return this.gate.release(this);
  }
}

export class MapGate {
  readonly budgets: Record<Provider, Budget>;
  readonly sessions = new Map<string, GateSession>();
  readonly #chain: readonly Provider[] = ['claude', 'openai'];
  #seq = 0;

  constructor(limits: Record<Provider, { dailyLimit: number; maxConcurrent: number }>) {
    this.budgets = {
      claude: { ...limits.claude, used: 0, reserved: 0, active: 0 },
      openai: { ...limits.openai, used: 0, reserved: 0, active: 0 },
    };
  }

  spawn(estimatedTokens: number): GateSession {
    for (const provider of this.#chain) {
      const b = this.budgets[provider];
      if (b.active >= b.maxConcurrent) continue;
      const available = b.dailyLimit - b.used - b.reserved;
      const allocation = Math.min(estimatedTokens, Math.floor(available / 2));
      if (available < estimatedTokens || allocation <= 0) continue;
      b.active += 1;
      b.reserved += allocation;
      const session = new GateSession(this, `s${this.#seq++}`, provider, allocation);
      this.sessions.set(session.id, session);
      return session;
    }
    throw new Error('refused: no provider has a free slot and budget for the estimate');
  }

  async spawnAsync(estimatedTokens: number): Promise<GateSession> {
    return this.spawn(estimatedTokens);
  }

  recordUsage(session: GateSession, tokens: number): void {
    if (!this.sessions.has(session.id)) throw new Error(`session ${session.id} is not live`);
    const b = this.budgets[session.provider];
    const within = Math.max(0, Math.min(tokens, session.allocatedTokens - session.usedTokens));
    b.used += tokens;
    b.reserved -= within;
    session.usedTokens += tokens;
  }

  release(session: GateSession): { usedTokens: number; returnedTokens: number } {
    if (!this.sessions.delete(session.id)) throw new Error(`session ${session.id} is not live`);
    const b = this.budgets[session.provider];
    const returnedTokens = Math.max(0, session.allocatedTokens - session.usedTokens);
    b.reserved -= returnedTokens;
    b.active -= 1;
    return { usedTokens: session.usedTokens, returnedTokens };
  }
}

async function openMapGate(live: number): Promise<Fixture> {
  const gate = new MapGate({
    claude: { dailyLimit: CYCLE.dailyLimit, maxConcurrent: live + CYCLE.headroom },
    openai: { dailyLimit: 500_000, maxConcurrent: 8 },
  });
  const held: GateSession[] = [];
  return {
    rows: [
      {
        key: 'mapGate.async',
        async run(cycles: number): Promise<void> {
          for (let i = 0; i < cycles; i++) {
            const session = await gate.spawnAsync(CYCLE.estimatedTokens);
            session.reportUsage(CYCLE.usage);
            await session.releaseAsync();
          }
        },
      },
      {
        key: 'mapGate.sync',
        run(cycles: number): void {
          for (let i = 0; i < cycles; i++) {
            const session = gate.spawn(CYCLE.estimatedTokens);
            session.reportUsage(CYCLE.usage);
            session.release();
          }
        },
      },
    ],
    async fill(count: number): Promise<void> {
      for (let i = 0; i < count; i++) held.push(gate.spawn(CYCLE.estimatedTokens));
    },
    async verify(count: number, cyclesRun: number): Promise<string[]> {
      const b = gate.budgets.claude;
      const problems: string[] = [];
      if (b.active !== count) problems.push(`active ${b.active}, expected ${count}`);
      if (gate.sessions.size !== count) problems.push(`${gate.sessions.size} sessions in the map, expected ${count}`);
      if (b.reserved !== count * CYCLE.estimatedTokens)
        problems.push(`reserved ${b.reserved}, expected ${count * CYCLE.estimatedTokens}`);
      if (b.used !== cyclesRun * CYCLE.usedTokens)
        problems.push(`used ${b.used}, expected ${cyclesRun * CYCLE.usedTokens}`);
      return problems;
    },
    async close(): Promise<number> {
      const t0 = performance.now();
      for (const session of held) session.release();
      held.length = 0;
      return performance.now() - t0;
    },
  };
}

export const mapGateContender: Contender = {
  name: 'Map gate',
  rows: [
    {
      key: 'mapGate.async',
      label: 'Map gate, async API',
      description:
        'the seed logic without actors, with the public API shape: await spawn → reportUsage → await release',
    },
    {
      key: 'mapGate.sync',
      label: 'Map gate, sync calls',
      description: 'the same logic with plain synchronous calls (the floor: bookkeeping only)',
    },
  ],
  create: openMapGate,
};
