/**
 * The one contract suite every QuotaLedger backend passes (architecture §4). Each backend's test
 * file calls `describeLedgerContract` with a harness that builds a fresh, empty ledger per call.
 * Time is simulated through the config's `now`, so lease expiry and daily resets are exact.
 */
import { isAgentvisorError } from '../../src/errors';
import type { AgentvisorError, ErrorCode } from '../../src/errors';
import type { LedgerConfig, LedgerSnapshot, QuotaLedger, ReserveRequest } from '../../src/quota';
import { describeRecordContract } from './ledgerRecordContract';
import { HOUR, MINUTE } from './timeOrigin';

export { HOUR, MINUTE } from './timeOrigin';

export interface LedgerHarness {
  /** A fresh ledger with no history. The suite closes every ledger it creates. */
  create(config: LedgerConfig): Promise<QuotaLedger>;
}

/**
 * 2026-03-10T10:00:00Z: 14 hours before the default reset at 00:00 UTC. Not timeOrigin's T0 (yet):
 * the ledger suites name this day's books literally ('2026-03-10' keys, a Berlin window, pruning
 * six days later).
 */
export const T0 = Date.parse('2026-03-10T10:00:00.000Z');
export const NEXT_RESET = Date.parse('2026-03-11T00:00:00.000Z');

export interface TestClock {
  now: () => number;
  set(at: number): void;
  advance(ms: number): void;
}

export function testClock(start = T0): TestClock {
  let at = start;
  return {
    now: () => at,
    set: (next) => {
      at = next;
    },
    advance: (ms) => {
      at += ms;
    },
  };
}

export async function rejectionOf(promise: Promise<unknown>): Promise<AgentvisorError> {
  try {
    await promise;
  } catch (error) {
    return error as AgentvisorError;
  }
  throw new Error('expected the call to reject');
}

export async function expectRejection(
  promise: Promise<unknown>,
  code: ErrorCode,
  reason?: string,
): Promise<AgentvisorError> {
  const error = await rejectionOf(promise);
  expect(isAgentvisorError(error) ? error.code : error).toBe(code);
  if (reason !== undefined) expect(error.details.reason).toBe(reason);
  return error;
}

const req = (
  sessionId: string,
  tokens: number,
  leaseMs = 10 * MINUTE,
  provider: ReserveRequest['provider'] = 'claude',
): ReserveRequest => ({
  provider,
  sessionId,
  tokens,
  leaseMs,
});

export function describeLedgerContract(name: string, harness: () => LedgerHarness): void {
  describeRecordContract(name, harness);
  describe(`QuotaLedger contract: ${name}`, () => {
    let clock: TestClock;
    let open: QuotaLedger[];

    beforeEach(() => {
      clock = testClock();
      open = [];
    });

    afterEach(async () => {
      await Promise.all(open.map((ledger) => ledger.close()));
    });

    async function ledgerWith(
      claude: { dailyLimit: number; maxConcurrent: number },
      openai = { dailyLimit: 50_000, maxConcurrent: 5 },
    ): Promise<QuotaLedger> {
      const ledger = await harness().create({ limits: { claude, openai }, now: clock.now });
      open.push(ledger);
      return ledger;
    }

    function claudeOf(snapshot: LedgerSnapshot) {
      return snapshot.providers.claude;
    }

    it('should reserve within budget and concurrency and report it in the snapshot', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      const outcome = await ledger.reserve(req('s-1', 4_000, 5 * MINUTE));
      expect(outcome).toEqual({
        status: 'reserved',
        provider: 'claude',
        sessionId: 's-1',
        tokens: 4_000,
        expiresAt: T0 + 5 * MINUTE,
      });
      await ledger.reserve(req('o-1', 700, MINUTE, 'openai'));
      expect(await ledger.snapshot()).toEqual({
        day: '2026-03-10',
        nextResetAt: NEXT_RESET,
        providers: {
          claude: { dailyLimit: 10_000, maxConcurrent: 3, used: 0, reserved: 4_000, active: 1, overrun: 0 },
          openai: { dailyLimit: 50_000, maxConcurrent: 5, used: 0, reserved: 700, active: 1, overrun: 0 },
        },
      });
    });

    it('should refuse over concurrency with the earliest lease expiry as retryAfterMs', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 2 });
      await ledger.reserve(req('a', 100, 7 * MINUTE));
      clock.advance(1_000);
      await ledger.reserve(req('b', 100, 3 * MINUTE));
      clock.advance(1_000);
      expect(await ledger.reserve(req('c', 100))).toEqual({
        status: 'refused',
        provider: 'claude',
        code: 'concurrency-limit',
        retryAfterMs: 3 * MINUTE - 1_000,
      });
      // Another provider is not affected.
      expect((await ledger.reserve(req('d', 100, MINUTE, 'openai'))).status).toBe('reserved');
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ reserved: 200, active: 2 });
    });

    it('should refuse over budget with the daily reset as retryAfterMs, and admit exactly up to the limit', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000, maxConcurrent: 10 });
      expect((await ledger.reserve(req('a', 600))).status).toBe('reserved');
      expect(await ledger.reserve(req('b', 401))).toEqual({
        status: 'refused',
        provider: 'claude',
        code: 'quota-exhausted',
        retryAfterMs: NEXT_RESET - T0,
      });
      expect((await ledger.reserve(req('c', 400))).status).toBe('reserved');
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 0, reserved: 1_000, active: 2 });
      await ledger.settle('a', 600);
      expect((await ledger.reserve(req('d', 1))).status).toBe('refused');
    });

    it('should refuse a request larger than the whole daily limit with retryAfterMs null', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000, maxConcurrent: 10 });
      expect(await ledger.reserve(req('a', 1_001))).toEqual({
        status: 'refused',
        provider: 'claude',
        code: 'quota-exhausted',
        retryAfterMs: null,
      });
    });

    it('should refuse a disabled provider (limit 0) with no-provider', async () => {
      const ledger = await ledgerWith({ dailyLimit: 0, maxConcurrent: 10 }, { dailyLimit: 5_000, maxConcurrent: 0 });
      expect(await ledger.reserve(req('a', 1))).toEqual({
        status: 'refused',
        provider: 'claude',
        code: 'no-provider',
        retryAfterMs: null,
      });
      expect(await ledger.reserve(req('b', 1, MINUTE, 'openai'))).toEqual({
        status: 'refused',
        provider: 'openai',
        code: 'no-provider',
        retryAfterMs: null,
      });
      const snapshot = await ledger.snapshot();
      expect(snapshot.providers.claude).toEqual({
        dailyLimit: 0,
        maxConcurrent: 10,
        used: 0,
        reserved: 0,
        active: 0,
        overrun: 0,
      });
      expect(snapshot.providers.openai).toEqual({
        dailyLimit: 5_000,
        maxConcurrent: 0,
        used: 0,
        reserved: 0,
        active: 0,
        overrun: 0,
      });
    });

    it('should count usage in full at settle and return the rest of the reservation', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('a', 4_000));
      await ledger.reserve(req('b', 1_000));
      expect(await ledger.settle('a', 1_500)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 1_500,
        returnedTokens: 2_500,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 1_500, reserved: 1_000, active: 1 });
      // Usage beyond the reservation and beyond the daily limit is counted, never dropped.
      expect(await ledger.settle('b', 9_000)).toEqual({
        sessionId: 'b',
        provider: 'claude',
        usedTokens: 9_000,
        returnedTokens: 0,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 10_500, reserved: 0, active: 0 });
      expect(await ledger.reserve(req('c', 1))).toMatchObject({ status: 'refused', code: 'quota-exhausted' });
      // Zero usage returns everything.
      const other = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await other.reserve(req('z', 300));
      expect(await other.settle('z', 0)).toEqual({
        sessionId: 'z',
        provider: 'claude',
        usedTokens: 0,
        returnedTokens: 300,
      });
    });

    it('should settle idempotently: the first settlement is returned again and nothing is counted twice', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('a', 4_000));
      const first = await ledger.settle('a', 1_000);
      const again = await ledger.settle('a', 3_000);
      const withProvider = await ledger.settle('a', 1_000, 'claude');
      expect(again).toEqual(first);
      expect(withProvider).toEqual(first);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 1_000, reserved: 0, active: 0 });
      await expectRejection(ledger.reserve(req('a', 10)), 'invalid-request', 'already-settled');
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 1_000, reserved: 0, active: 0 });
    });

    it('should still count the usage of a session whose lease expired, returning nothing', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('swept', 2_000, MINUTE));
      await ledger.reserve(req('unswept', 3_000, MINUTE));
      clock.advance(MINUTE);
      expect(await ledger.sweep()).toBe(2);
      expect(await ledger.settle('swept', 700)).toEqual({
        sessionId: 'swept',
        provider: 'claude',
        usedTokens: 700,
        returnedTokens: 0,
      });
      expect(await ledger.settle('unswept', 800)).toEqual({
        sessionId: 'unswept',
        provider: 'claude',
        usedTokens: 800,
        returnedTokens: 0,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 1_500, reserved: 0, active: 0 });
    });

    it('should treat a lease at its expiry instant as run out, without sweeping first', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('a', 2_000, MINUTE));
      clock.advance(MINUTE);
      expect(await ledger.settle('a', 500)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 500,
        returnedTokens: 0,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 500, reserved: 0, active: 0 });
    });

    it('should count a session it never saw when the provider is given, and refuse without it', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await expectRejection(ledger.settle('ghost', 100), 'invalid-request', 'unknown-session');
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 0 });
      expect(await ledger.settle('ghost', 100, 'openai')).toEqual({
        sessionId: 'ghost',
        provider: 'openai',
        usedTokens: 100,
        returnedTokens: 0,
      });
      expect((await ledger.snapshot()).providers.openai).toMatchObject({ used: 100, reserved: 0, active: 0 });
    });

    it('should refuse a provider that contradicts the reservation and count nothing', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('a', 1_000));
      await expectRejection(ledger.settle('a', 100, 'openai'), 'invalid-request', 'provider-mismatch');
      const snapshot = await ledger.snapshot();
      expect(snapshot.providers.claude).toMatchObject({ used: 0, reserved: 1_000, active: 1 });
      expect(snapshot.providers.openai).toMatchObject({ used: 0, reserved: 0, active: 0 });
    });

    it('should renew a live lease and report false for one that is gone', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('a', 100, MINUTE));
      await ledger.reserve(req('b', 100, MINUTE));
      await ledger.reserve(req('c', 100, MINUTE));
      clock.advance(MINUTE - 1);
      expect(await ledger.renew('a', 10 * MINUTE)).toBe(true);
      await ledger.settle('c', 50);
      expect(await ledger.renew('c', 10 * MINUTE)).toBe(false);
      expect(await ledger.renew('never', 10 * MINUTE)).toBe(false);
      clock.advance(1);
      // b ran out exactly now: renewing it cannot bring it back.
      expect(await ledger.renew('b', 10 * MINUTE)).toBe(false);
      expect(await ledger.sweep()).toBe(0);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 50, reserved: 100, active: 1 });
      clock.advance(10 * MINUTE - 2);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ reserved: 100, active: 1 });
      clock.advance(1);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ reserved: 0, active: 0 });
      // The renewed lease ran out too: its late settle counts usage, returns nothing.
      expect(await ledger.settle('a', 80)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 80,
        returnedTokens: 0,
      });
    });

    it('should give capacity back when a lease runs out, at the next sweep, reserve or snapshot', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000, maxConcurrent: 2 });
      await ledger.reserve(req('a', 500, MINUTE));
      await ledger.reserve(req('b', 500, 2 * MINUTE));
      expect(await ledger.reserve(req('c', 100))).toMatchObject({
        status: 'refused',
        code: 'concurrency-limit',
        retryAfterMs: MINUTE,
      });
      clock.advance(MINUTE - 1);
      expect(await ledger.sweep()).toBe(0);
      clock.advance(1);
      // reserve itself sweeps: a's slot and tokens are back.
      expect(await ledger.reserve(req('c', 500))).toMatchObject({
        status: 'reserved',
        expiresAt: T0 + MINUTE + 10 * MINUTE,
      });
      clock.advance(MINUTE);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 0, reserved: 500, active: 1 });
      expect(await ledger.sweep()).toBe(0);
    });

    it('should start a new window at the daily reset: usage resets, live reservations carry over', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000, maxConcurrent: 5 });
      clock.set(NEXT_RESET - MINUTE);
      await ledger.reserve(req('a', 300, HOUR));
      await ledger.reserve(req('b', 300, HOUR));
      await ledger.settle('a', 650);
      expect(await ledger.reserve(req('c', 100))).toEqual({
        status: 'refused',
        provider: 'claude',
        code: 'quota-exhausted',
        retryAfterMs: MINUTE,
      });
      clock.set(NEXT_RESET);
      const snapshot = await ledger.snapshot();
      expect(snapshot.day).toBe('2026-03-11');
      expect(snapshot.nextResetAt).toBe(Date.parse('2026-03-12T00:00:00.000Z'));
      expect(snapshot.providers.claude).toMatchObject({ used: 0, reserved: 300, active: 1 });
      expect((await ledger.reserve(req('c', 700))).status).toBe('reserved');
      expect(await ledger.reserve(req('d', 1))).toMatchObject({ status: 'refused', code: 'quota-exhausted' });
      // Usage settled after the reset counts in the new window.
      expect(await ledger.settle('b', 100)).toEqual({
        sessionId: 'b',
        provider: 'claude',
        usedTokens: 100,
        returnedTokens: 200,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 100, reserved: 700, active: 1 });
      // A settlement from the previous window is still remembered.
      expect(await ledger.settle('a', 999)).toEqual({
        sessionId: 'a',
        provider: 'claude',
        usedTokens: 650,
        returnedTokens: 0,
      });
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 100 });
    });

    it('should honour a configured reset time and time zone', async () => {
      const ledger = await harness().create({
        limits: { claude: { dailyLimit: 1_000, maxConcurrent: 5 }, openai: { dailyLimit: 1_000, maxConcurrent: 5 } },
        dailyReset: { at: '06:30', timeZone: 'Europe/Berlin' },
        now: clock.now,
      });
      open.push(ledger);
      // 10:00Z is 11:00 in Berlin (CET): the window began 2026-03-10 06:30 local = 05:30Z.
      expect(await ledger.snapshot()).toMatchObject({
        day: '2026-03-10',
        nextResetAt: Date.parse('2026-03-11T05:30:00.000Z'),
      });
      await ledger.settle('x', 400, 'claude');
      clock.set(Date.parse('2026-03-11T05:29:59.999Z'));
      expect(claudeOf(await ledger.snapshot()).used).toBe(400);
      clock.set(Date.parse('2026-03-11T05:30:00.000Z'));
      expect(await ledger.snapshot()).toMatchObject({ day: '2026-03-11', providers: { claude: { used: 0 } } });
    });

    it('should never exceed the concurrency limit under 100 concurrent reserves', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000_000, maxConcurrent: 10 });
      const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => ledger.reserve(req(`c-${i}`, 100))));
      expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(10);
      expect(outcomes.filter((o) => o.status === 'refused' && o.code === 'concurrency-limit')).toHaveLength(90);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ reserved: 1_000, active: 10 });
    });

    it('should never exceed the daily budget under 100 concurrent reserves', async () => {
      const ledger = await ledgerWith({ dailyLimit: 1_000, maxConcurrent: 1_000 });
      const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => ledger.reserve(req(`q-${i}`, 100))));
      expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(10);
      expect(outcomes.filter((o) => o.status === 'refused' && o.code === 'quota-exhausted')).toHaveLength(90);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ reserved: 1_000, active: 10 });
      const settled = await Promise.all(Array.from({ length: 100 }, (_, i) => ledger.settle(`q-${i}`, 10, 'claude')));
      expect(settled.reduce((sum, s) => sum + s.returnedTokens, 0)).toBe(10 * 90);
      expect(claudeOf(await ledger.snapshot())).toMatchObject({ used: 1_000, reserved: 0, active: 0 });
    });

    it('should reject bad input with invalid-request and change nothing', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.reserve(req('live', 1_000));
      const before = await ledger.snapshot();
      const bad: Array<[Promise<unknown>, string]> = [
        [ledger.reserve(req('x', -5)), 'tokens'],
        [ledger.reserve(req('x', Number.NaN)), 'tokens'],
        [ledger.reserve(req('x', 0)), 'tokens'],
        [ledger.reserve(req('x', 1.5)), 'tokens'],
        [ledger.reserve(req('x', Number.POSITIVE_INFINITY)), 'tokens'],
        [ledger.reserve(req('', 10)), 'sessionId'],
        [ledger.reserve(req('x'.repeat(257), 10)), 'sessionId'],
        [ledger.reserve(req('x', 10, 0)), 'leaseMs'],
        [ledger.reserve(req('x', 10, Number.NaN)), 'leaseMs'],
        [ledger.reserve({ ...req('x', 10), provider: 'gemini' as 'claude' }), 'provider'],
        [ledger.reserve(null as unknown as ReserveRequest), 'request'],
        [ledger.settle('', 10), 'sessionId'],
        [ledger.settle('live', -1), 'usedTokens'],
        [ledger.settle('live', Number.NaN), 'usedTokens'],
        [ledger.settle('live', 10, 'gemini' as 'claude'), 'provider'],
        [ledger.renew('', 1_000), 'sessionId'],
        [ledger.renew('live', -1), 'leaseMs'],
      ];
      for (const [promise, field] of bad) {
        const error = await expectRejection(promise, 'invalid-request');
        expect(error.details.field).toBe(field);
        expect(error.message).toMatch(/nothing was changed/);
      }
      await expectRejection(ledger.reserve(req('live', 10)), 'invalid-request', 'duplicate-session');
      expect(await ledger.snapshot()).toEqual(before);
    });

    it('should reject a bad configuration with invalid-option', async () => {
      const bad: LedgerConfig[] = [
        { limits: { claude: { dailyLimit: -1, maxConcurrent: 1 }, openai: { dailyLimit: 1, maxConcurrent: 1 } } },
        { limits: { claude: { dailyLimit: 1, maxConcurrent: 1.5 }, openai: { dailyLimit: 1, maxConcurrent: 1 } } },
        { limits: { claude: { dailyLimit: 1, maxConcurrent: 1 } } as LedgerConfig['limits'] },
        {
          limits: { claude: { dailyLimit: 1, maxConcurrent: 1 }, openai: { dailyLimit: 1, maxConcurrent: 1 } },
          dailyReset: { at: '25:00', timeZone: 'UTC' },
        },
        {
          limits: { claude: { dailyLimit: 1, maxConcurrent: 1 }, openai: { dailyLimit: 1, maxConcurrent: 1 } },
          dailyReset: { at: '00:00', timeZone: 'Mars/Base' },
        },
      ];
      for (const config of bad) await expectRejection(harness().create(config), 'invalid-option');
    });

    it('should reject calls after close with ledger-unavailable', async () => {
      const ledger = await ledgerWith({ dailyLimit: 10_000, maxConcurrent: 3 });
      await ledger.close();
      await expectRejection(ledger.reserve(req('a', 1)), 'ledger-unavailable', 'closed');
      await expectRejection(ledger.snapshot(), 'ledger-unavailable', 'closed');
      await ledger.close();
    });
  });
}
