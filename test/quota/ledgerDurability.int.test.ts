/**
 * Issue 14, scenario 2: acknowledged usage survives kill -9. An orchestrator in a child process
 * reports usage and is killed with SIGKILL: after `await release()` the settlement is in the ledger;
 * without a release, usage reported more than one sync interval before the kill is in the ledger
 * too (written through), and the dead process's reservation only runs out with its lease.
 * Run on the file ledger and on Redis.
 */
import { killAll, startScripted } from '../helpers/scriptedOrchestrator';
import { booksOf, sharedBackend, sleep } from '../helpers/sharedBackends';
import type { Limits, SharedBackend } from '../helpers/sharedBackends';

const LIMITS: Limits = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};

describe.each(['file', 'redis'] as const)('durable settlement on the %s ledger', (kind) => {
  let backend: SharedBackend;
  beforeEach(async () => {
    backend = await sharedBackend(kind);
  });
  afterEach(async () => {
    await killAll();
    await backend.dispose();
  });

  it('should have the usage in the ledger once release() resolved, whatever happens to the process next', async () => {
    const worker = await startScripted({ ledger: backend.spec, limits: LIMITS });
    worker.send({ op: 'spawn', id: 'a', estimatedTokens: 10_000 });
    await worker.next('spawned', 'a');
    worker.send({ op: 'usage', id: 'a', tokens: 1_234 });
    await worker.next('used', 'a');
    worker.send({ op: 'release', id: 'a' });
    await worker.next('released', 'a');
    await worker.kill('SIGKILL');
    expect((await booksOf(backend, LIMITS)).providers.claude).toMatchObject({ used: 1_234, reserved: 0, active: 0 });
  }, 30_000);

  it('should have usage reported one sync interval (1 s) before a kill -9 in the ledger, and the lease still held', async () => {
    const worker = await startScripted({ ledger: backend.spec, limits: LIMITS });
    worker.send({ op: 'spawn', id: 'a', estimatedTokens: 10_000 });
    await worker.next('spawned', 'a');
    worker.send({ op: 'usage', id: 'a', tokens: 1_234 });
    await worker.next('used', 'a');
    // The default sync interval is 1 s: the usage is written through within it.
    await sleep(1_300);
    await worker.kill('SIGKILL');
    expect((await booksOf(backend, LIMITS)).providers.claude).toMatchObject({
      used: 1_234,
      reserved: 10_000 - 1_234,
      active: 1,
    });
  }, 30_000);
});
