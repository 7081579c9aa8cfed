/**
 * The insured ledger over a real Redis ledger and a redis-server that is killed and started again:
 * while Redis is down the insurance (a memory ledger with a smaller share) decides, and what it
 * admitted reaches the shared budget with its settlement once Redis answers.
 */
import { isAgentvisorError } from '../../src/errors';
import { createInsuredLedger, createMemoryLedger, createRedisLedger } from '../../src/quota';
import type { InsuredLedgerState, LedgerConfig, QuotaLedger } from '../../src/quota';
import { startRedisServer } from '../helpers/redisServer';
import type { RedisServer } from '../helpers/redisServer';

const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 100_000, maxConcurrent: 4 },
  openai: { dailyLimit: 100_000, maxConcurrent: 4 },
};
const SHARE: LedgerConfig['limits'] = {
  claude: { dailyLimit: 50_000, maxConcurrent: 2 },
  openai: { dailyLimit: 50_000, maxConcurrent: 2 },
};
const LEASE = 60_000;

/** The snapshot the ledger gives once Redis answers again (the client reconnects by itself, after a moment). */
async function snapshotOnceBack(ledger: QuotaLedger): Promise<Awaited<ReturnType<QuotaLedger['snapshot']>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await ledger.snapshot();
    } catch (error) {
      if (!isAgentvisorError(error, 'ledger-unavailable') || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('createInsuredLedger over Redis', () => {
  let server: RedisServer;
  let primary: QuotaLedger;
  const opened: QuotaLedger[] = [];

  beforeEach(async () => {
    server = await startRedisServer();
    primary = createRedisLedger({ redis: server.url, limits: LIMITS, timeout: 300 });
    opened.push(primary);
  });
  afterEach(async () => {
    for (const ledger of opened.splice(0)) await ledger.close();
    await server.stop();
  });

  it('decides with the insurance while Redis is down and settles its stints into Redis once it is back', async () => {
    const states: Array<[InsuredLedgerState, boolean]> = [];
    const insurance = createMemoryLedger({ limits: SHARE });
    const ledger = createInsuredLedger(primary, {
      insurance,
      onState: (state, reason) => states.push([state, reason !== null]),
    });
    opened.push(ledger);

    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'before', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'reserved' });
    expect(ledger.isInsured('before')).toBe(false);

    await server.kill();
    // The first call that finds Redis gone is answered by the insurance.
    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'during-1', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'reserved' });
    expect(ledger.state).toBe('degraded');
    expect(states).toEqual([['degraded', true]]);
    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'during-2', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'reserved' });
    // The insurance's own limit (2 at a time), not the shared one (4).
    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'during-3', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'refused', code: 'concurrency-limit' });
    expect([ledger.isInsured('during-1'), ledger.isInsured('during-2'), ledger.isInsured('during-3')]).toEqual([
      true,
      true,
      false,
    ]);

    // Top-ups: an insured stint asks the insurance; a stint Redis holds has nobody else to ask.
    expect(await ledger.record({ sessionId: 'during-1', usedTokens: 1_500, addTokens: 2_000 })).toMatchObject({
      status: 'recorded',
      live: true,
      tokens: 3_000,
    });
    expect(
      isAgentvisorError(
        await rejection(ledger.record({ sessionId: 'before', usedTokens: 10, addTokens: 10 })),
        'ledger-unavailable',
      ),
    ).toBe(true);
    expect(await ledger.renew('during-1', LEASE)).toBe(true);

    // Its settlement needs Redis: it says so, and a retry later counts nothing twice.
    expect(isAgentvisorError(await rejection(ledger.settle('during-1', 2_500)), 'ledger-unavailable')).toBe(true);
    // Nothing used: settled in the insurance alone.
    expect(await ledger.settle('during-2', 0)).toMatchObject({ usedTokens: 0, returnedTokens: 1_000 });
    expect(ledger.isInsured('during-2')).toBe(false);

    await server.restart();
    await snapshotOnceBack(primary);
    // Redis answers again, but only a snapshot or a settlement asks it: until then the insurance decides.
    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'during-4', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'reserved' });
    expect(ledger.isInsured('during-4')).toBe(true);
    const snapshot = await snapshotOnceBack(ledger);
    expect(ledger.state).toBe('ok');
    expect(states).toEqual([
      ['degraded', true],
      ['ok', false],
    ]);
    // The restarted server is empty (no persistence): nothing from before the outage.
    expect(snapshot.providers.claude).toMatchObject({ used: 0, reserved: 0, active: 0 });
    expect(
      await ledger.reserve({ provider: 'claude', sessionId: 'after', tokens: 1_000, leaseMs: LEASE }),
    ).toMatchObject({ status: 'reserved' });
    expect(ledger.isInsured('after')).toBe(false);

    expect(await ledger.settle('during-1', 2_500)).toMatchObject({ provider: 'claude', usedTokens: 2_500 });
    expect(await ledger.settle('during-1', 2_500)).toMatchObject({ usedTokens: 2_500 });
    expect(ledger.isInsured('during-1')).toBe(false);
    expect((await primary.snapshot()).providers.claude).toMatchObject({ used: 2_500, reserved: 1_000, active: 1 });
    expect((await insurance.snapshot()).providers.claude).toMatchObject({ used: 2_500, active: 1 });
  }, 30_000);

  it('without an insurance refuses with ledger-unavailable while Redis is down (fail-closed), and admits again after', async () => {
    const ledger = createInsuredLedger(primary, { insurance: null });
    await server.kill();
    expect(
      isAgentvisorError(
        await rejection(ledger.reserve({ provider: 'openai', sessionId: 'x-1', tokens: 10, leaseMs: LEASE })),
        'ledger-unavailable',
      ),
    ).toBe(true);
    expect(ledger.state).toBe('degraded');
    // While degraded a reserve does not wait for Redis again: refused at once.
    expect(
      isAgentvisorError(
        await rejection(ledger.reserve({ provider: 'openai', sessionId: 'x-2', tokens: 10, leaseMs: LEASE })),
        'ledger-unavailable',
      ),
    ).toBe(true);
    await server.restart();
    await snapshotOnceBack(ledger);
    expect(await ledger.reserve({ provider: 'openai', sessionId: 'x-3', tokens: 10, leaseMs: LEASE })).toMatchObject({
      status: 'reserved',
    });
    expect(ledger.state).toBe('ok');
  }, 30_000);
});
