/**
 * Issue 14, scenario 1: every token that leaves the shared budget goes through the ledger. Two
 * orchestrators share one ledger with a daily limit of 100,000; one agent reports 80,000 tokens
 * on an allocation of 10,000. Run on the file ledger and on Redis.
 */
import { isAgentvisorError } from '../../src';
import type { ManagedAgent, Orchestrator } from '../../src';
import { booksOf, eventually, orchestratorOn, sharedBackend } from '../helpers/sharedBackends';
import type { Limits, SharedBackend } from '../helpers/sharedBackends';

const LIMITS: Limits = {
  claude: { dailyLimit: 100_000, maxConcurrent: 30 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};

describe.each(['file', 'redis'] as const)('top-ups through the %s ledger', (kind) => {
  let backend: SharedBackend;
  let running: Orchestrator[];
  beforeEach(async () => {
    backend = await sharedBackend(kind);
    running = [];
  });
  afterEach(async () => {
    await Promise.all(running.map((o) => o.stop()));
    await backend.dispose();
  });

  async function start(syncIntervalMs: number): Promise<Orchestrator> {
    const orch = await orchestratorOn(backend, LIMITS, { syncIntervalMs });
    running.push(orch);
    return orch;
  }

  it('should reserve a top-up in the ledger before granting it, so the other host admits only what is left', async () => {
    const a = await start(20);
    const b = await start(20);
    const agent = await a.spawnAgent({ estimatedTokens: 10_000 });
    expect(agent.allocatedTokens).toBe(10_000);
    // 70,000 beyond the allocation: not granted until the ledger reserved it.
    const receipt = agent.reportUsage({ inputTokens: 80_000, outputTokens: 0 });
    expect(receipt.allocatedTokens).toBe(10_000);
    await eventually(() => agent.allocatedTokens === 90_000, 'the ledger to grant the top-up');
    expect((await booksOf(backend, LIMITS)).providers.claude).toMatchObject({
      used: 80_000,
      reserved: 10_000,
      active: 1,
      overrun: 0,
    });
    await eventually(() => b.stats().providers.claude.used === 80_000, 'the other host to see the usage');
    const held: ManagedAgent[] = [];
    for (;;) {
      const next = await b.spawnAgent({ estimatedTokens: 1_000 }).catch((e: unknown) => e);
      if (isAgentvisorError(next)) {
        expect(next.code).toBe('quota-exhausted');
        break;
      }
      held.push(next as ManagedAgent);
    }
    const books = (await booksOf(backend, LIMITS)).providers.claude;
    expect(books.used + books.reserved).toBeLessThanOrEqual(100_000);
    // Everyone spends everything granted: still within the limit, nothing flagged.
    agent.reportUsage({ inputTokens: 10_000, outputTokens: 0 });
    for (const h of held) h.reportUsage({ inputTokens: h.allocatedTokens, outputTokens: 0 });
    await Promise.all([agent.release(), ...held.map((h) => h.release())]);
    const after = (await booksOf(backend, LIMITS)).providers.claude;
    expect(after).toMatchObject({ reserved: 0, active: 0, overrun: 0 });
    expect(after.used).toBeLessThanOrEqual(100_000);
    expect(after.used).toBe(90_000 + held.reduce((sum, h) => sum + h.usedTokens, 0));
  });

  it('should end the session quota-exhausted when the ledger refuses the top-up, and still settle its real usage', async () => {
    // Neither learns what the other holds (stale views): only the ledger can refuse.
    const a = await start(600_000);
    const b = await start(600_000);
    const agent = await a.spawnAgent({ estimatedTokens: 10_000 });
    const bAgents = await Promise.all(Array.from({ length: 18 }, () => b.spawnAgent({ estimatedTokens: 5_000 })));
    expect(bAgents.reduce((sum, x) => sum + x.allocatedTokens, 0)).toBe(90_000);
    const ended = new Promise<{ reason: string }>((resolve) => a.once('agent.released', resolve));
    const overrun = new Promise<{ overrunTokens: number }>((resolve) => a.once('quota.overrun', resolve));
    agent.reportUsage({ inputTokens: 80_000, outputTokens: 0 });
    expect((await ended).reason).toBe('quota-exhausted');
    expect((await overrun).overrunTokens).toBe(70_000);
    expect(agent.isLive).toBe(false);
    expect(() => agent.reportUsage({ inputTokens: 1, outputTokens: 0 })).toThrow(/released/);
    await agent.release();
    const books = (await booksOf(backend, LIMITS)).providers.claude;
    // The 80,000 were really spent: counted, and what no budget covered is flagged, not granted.
    expect(books).toMatchObject({ used: 80_000, reserved: 90_000, active: 18, overrun: 70_000 });
    await Promise.all(bAgents.map((x) => x.release()));
    expect((await booksOf(backend, LIMITS)).providers.claude).toMatchObject({
      used: 80_000,
      reserved: 0,
      active: 0,
      overrun: 70_000,
    });
  });
});
