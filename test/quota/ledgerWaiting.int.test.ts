/**
 * Issue 14, scenario 3: waitMs is honoured across orchestrators. With maxConcurrent 1 held by an
 * orchestrator in another process, a spawn here with waitMs waits (its view was stale, so the
 * ledger refuses it first) and is admitted when the slot frees; it fails only at its deadline.
 * Run on the file ledger and on Redis.
 */
import { isAgentvisorError } from '../../src';
import type { Orchestrator } from '../../src';
import { killAll, startScripted } from '../helpers/scriptedOrchestrator';
import { booksOf, orchestratorOn, sharedBackend } from '../helpers/sharedBackends';
import type { Limits, SharedBackend } from '../helpers/sharedBackends';

const LIMITS: Limits = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 1 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};

describe.each(['file', 'redis'] as const)('waiting admission on the %s ledger', (kind) => {
  let backend: SharedBackend;
  let here: Orchestrator | null;
  beforeEach(async () => {
    backend = await sharedBackend(kind);
    here = null;
  });
  afterEach(async () => {
    await here?.stop();
    await killAll();
    await backend.dispose();
  }, 20_000);

  it('should keep a refused spawn waiting in the queue and admit it when the other process releases the slot', async () => {
    // Read at start, then every second: when it asks, its view does not know the other process holds the slot.
    here = await orchestratorOn(backend, LIMITS, { syncIntervalMs: 1_000 });
    const there = await startScripted({ ledger: backend.spec, limits: LIMITS, syncIntervalMs: 50 });
    there.send({ op: 'spawn', id: 'holder', estimatedTokens: 1_000 });
    expect(await there.next('spawned', 'holder')).toMatchObject({ op: 'spawned', provider: 'claude' });
    const queued: string[] = [];
    here.on('agent.queued', (e) => queued.push(e.code));
    const started = Date.now();
    const waiting = here.spawnAgent({ estimatedTokens: 1_000, waitMs: 15_000 });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(settled).toBe(false);
    expect(queued).toEqual(['concurrency-limit']);
    there.send({ op: 'release', id: 'holder' });
    await there.next('released', 'holder');
    const agent = await waiting;
    expect(agent.provider).toBe('claude');
    expect(Date.now() - started).toBeLessThan(5_000);
    await agent.release();
    expect((await booksOf(backend, LIMITS)).providers.claude).toMatchObject({ active: 0, reserved: 0 });
  }, 30_000);

  it("should fail the waiting spawn only at its deadline, with the ledger's code", async () => {
    here = await orchestratorOn(backend, LIMITS, { syncIntervalMs: 1_000 });
    const there = await startScripted({ ledger: backend.spec, limits: LIMITS, syncIntervalMs: 50 });
    there.send({ op: 'spawn', id: 'holder', estimatedTokens: 1_000 });
    await there.next('spawned', 'holder');
    const started = Date.now();
    const error = await here.spawnAgent({ estimatedTokens: 1_000, waitMs: 1_500 }).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(isAgentvisorError(error, 'concurrency-limit')).toBe(true);
    expect((error as Error).message).toMatch(/waited/);
    expect(waited).toBeGreaterThanOrEqual(1_450);
    expect(waited).toBeLessThan(3_500);
  }, 30_000);
});
