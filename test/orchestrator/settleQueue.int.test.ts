/**
 * Settlements the ledger refuses for a reason other than an outage (a ledger file that turned
 * corrupt while the orchestrator ran): `release()` rejects with the ledger's typed error, and the
 * orchestrator's process lives on (no unhandled rejection) and stops cleanly, the file untouched.
 * And a session whose usage adds up past 10^9 tokens (each report may carry up to 10^9) is settled
 * in full, without holding up the settlements queued behind it.
 */
import fs from 'node:fs';
import { killAll, startScripted } from '../helpers/scriptedOrchestrator';
import { booksOf, sharedBackend, sleep } from '../helpers/sharedBackends';
import type { Limits, SharedBackend } from '../helpers/sharedBackends';

const LIMITS: Limits = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
  openai: { dailyLimit: 0, maxConcurrent: 0 },
};
const FOREIGN = '{"format":"something-else"}\n';

describe('settlements the ledger refuses', () => {
  let backend: SharedBackend;
  beforeEach(async () => {
    backend = await sharedBackend('file');
  });
  afterEach(async () => {
    await killAll();
    await backend.dispose();
  });

  it('should reject release() with ledger-corrupt and keep the process alive when the ledger file turns corrupt mid-run', async () => {
    const worker = await startScripted({ ledger: backend.spec, limits: LIMITS });
    worker.send({ op: 'spawn', id: 'a', estimatedTokens: 10_000 });
    await worker.next('spawned', 'a');
    worker.send({ op: 'usage', id: 'a', tokens: 100 });
    await worker.next('used', 'a');
    fs.writeFileSync(backend.spec.file!, FOREIGN);
    worker.send({ op: 'release', id: 'a' });
    expect(await worker.next('release-failed', 'a')).toMatchObject({ code: 'ledger-corrupt' });
    // A sync tick retries the queued settlement (and fails again) before the process is asked to stop.
    await sleep(1_500);
    worker.send({ op: 'stop' });
    await worker.next('stopped');
    expect(fs.readFileSync(backend.spec.file!, 'utf8')).toBe(FOREIGN);
  }, 30_000);

  it('should settle usage that adds up past 10^9 tokens in one session, and the sessions queued behind it', async () => {
    const huge: Limits = { ...LIMITS, claude: { dailyLimit: 5_000_000_000, maxConcurrent: 10 } };
    const worker = await startScripted({ ledger: backend.spec, limits: huge });
    for (const id of ['a', 'b']) {
      worker.send({ op: 'spawn', id, estimatedTokens: 1_000 });
      await worker.next('spawned', id);
    }
    for (let report = 0; report < 3; report += 1) {
      worker.send({ op: 'usage', id: 'a', tokens: 900_000_000 });
      await worker.next('used', 'a');
    }
    worker.send({ op: 'usage', id: 'b', tokens: 500 });
    await worker.next('used', 'b');
    worker.send({ op: 'release', id: 'a' });
    expect(await worker.next('released', 'a')).toMatchObject({ usedTokens: 2_700_000_000 });
    worker.send({ op: 'release', id: 'b' });
    expect(await worker.next('released', 'b')).toMatchObject({ usedTokens: 500 });
    expect((await booksOf(backend, huge)).providers.claude).toMatchObject({
      used: 2_700_000_500,
      reserved: 0,
      active: 0,
    });
  }, 30_000);
});
