/**
 * The memory ledger (the reference backend) under random sequences of reserve, settle (live,
 * repeated, expired, unknown), renew, sweep, clock advances (across daily resets) and snapshots.
 * The test keeps its own books (live leases, usage per window, first settlements) and checks the
 * ledger against them after every step: admission exactly when budget and concurrency allow it,
 * never over either limit, reserved and used exact, settle idempotent, nothing leaked at the end.
 */
import fc from 'fast-check';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { isAgentvisorError } from '../../src/errors';
import { createMemoryLedger, windowAt } from '../../src/quota';
import type { Settlement } from '../../src/quota';
import { shiftDay } from '../../src/quota/ledgerState';
import { HOUR, MINUTE, T0, testClock } from '../helpers/ledgerContract';

type Limits = Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;

type Op =
  | { readonly kind: 'reserve'; readonly provider: ProviderId; readonly tokens: number; readonly leaseMs: number }
  | { readonly kind: 'settle'; readonly pick: number; readonly used: number; readonly withProvider: boolean }
  | { readonly kind: 'settleUnknown'; readonly provider: ProviderId; readonly used: number }
  | { readonly kind: 'renew'; readonly pick: number; readonly leaseMs: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'sweep' };

const limitArb = fc.record({
  dailyLimit: fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
    { weight: 1, arbitrary: fc.constant(0) },
  ),
  maxConcurrent: fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 1, arbitrary: fc.constant(0) },
  ),
});
const providerArb = fc.constantFrom<ProviderId>(...PROVIDER_IDS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      provider: providerArb,
      tokens: fc.integer({ min: 1, max: 2_000 }),
      leaseMs: fc.constantFrom(MINUTE, 10 * MINUTE, 2 * HOUR),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      used: fc.integer({ min: 0, max: 3_000 }),
      withProvider: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('settleUnknown' as const),
      provider: providerArb,
      used: fc.integer({ min: 0, max: 500 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('renew' as const),
      pick: fc.nat(),
      leaseMs: fc.constantFrom(MINUTE, 30 * MINUTE),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(1, 30_000, 5 * MINUTE, HOUR, 9 * HOUR),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
);

interface Lease {
  readonly provider: ProviderId;
  readonly tokens: number;
  expiresAt: number;
}

describe('createMemoryLedger (property)', () => {
  it('should keep its books exact under random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ claude: limitArb, openai: limitArb }),
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        async (limits: Limits, ops: Op[]) => {
          const clock = testClock(T0);
          const ledger = createMemoryLedger({ limits, now: clock.now });
          const live = new Map<string, Lease>();
          const expired = new Map<string, { provider: ProviderId; day: string }>();
          const firstSettlement = new Map<string, { settlement: Settlement; day: string }>();
          const usedByDay = new Map<string, Record<ProviderId, number>>();
          const ids: string[] = [];
          let seq = 0;

          const today = () => windowAt(clock.now()).day;
          const usedToday = (provider: ProviderId) => usedByDay.get(today())?.[provider] ?? 0;
          const expireDue = () => {
            for (const [id, lease] of live) {
              if (lease.expiresAt <= clock.now()) {
                live.delete(id);
                expired.set(id, { provider: lease.provider, day: today() });
              }
            }
          };
          const liveOf = (provider: ProviderId) => [...live.values()].filter((l) => l.provider === provider);
          const count = (provider: ProviderId, used: number) => {
            const day = today();
            const record = usedByDay.get(day) ?? { claude: 0, openai: 0 };
            record[provider] += used;
            usedByDay.set(day, record);
          };

          async function checkBooks(): Promise<void> {
            expireDue();
            const snapshot = await ledger.snapshot();
            for (const p of PROVIDER_IDS) {
              const leases = liveOf(p);
              const { overrun, ...books } = snapshot.providers[p];
              expect(books).toEqual({
                dailyLimit: limits[p].dailyLimit,
                maxConcurrent: limits[p].maxConcurrent,
                used: usedToday(p),
                reserved: leases.reduce((sum, l) => sum + l.tokens, 0),
                active: leases.length,
              });
              // Usage settled beyond a reservation may have found no budget left: that, and only that, is overrun.
              expect(books.used + books.reserved).toBeLessThanOrEqual(books.dailyLimit + overrun);
              expect(overrun).toBeLessThanOrEqual(books.used);
              expect(snapshot.providers[p].active).toBeLessThanOrEqual(limits[p].maxConcurrent);
            }
          }

          for (const op of ops) {
            if (op.kind === 'reserve') {
              expireDue();
              const id = `s-${(seq += 1)}`;
              ids.push(id);
              const { dailyLimit, maxConcurrent } = limits[op.provider];
              const leases = liveOf(op.provider);
              const reserved = leases.reduce((sum, l) => sum + l.tokens, 0);
              const outcome = await ledger.reserve({
                provider: op.provider,
                sessionId: id,
                tokens: op.tokens,
                leaseMs: op.leaseMs,
              });
              if (dailyLimit === 0 || maxConcurrent === 0) {
                expect(outcome).toMatchObject({ status: 'refused', code: 'no-provider', retryAfterMs: null });
              } else if (leases.length >= maxConcurrent) {
                expect(outcome).toMatchObject({
                  status: 'refused',
                  code: 'concurrency-limit',
                  retryAfterMs: Math.min(...leases.map((l) => l.expiresAt)) - clock.now(),
                });
              } else if (usedToday(op.provider) + reserved + op.tokens > dailyLimit) {
                expect(outcome).toMatchObject({ status: 'refused', code: 'quota-exhausted' });
              } else {
                expect(outcome).toEqual({
                  status: 'reserved',
                  provider: op.provider,
                  sessionId: id,
                  tokens: op.tokens,
                  expiresAt: clock.now() + op.leaseMs,
                });
                live.set(id, { provider: op.provider, tokens: op.tokens, expiresAt: clock.now() + op.leaseMs });
                // The admission invariant, right after admission.
                const after = (await ledger.snapshot()).providers[op.provider];
                expect(after.used + after.reserved).toBeLessThanOrEqual(dailyLimit);
              }
            } else if (op.kind === 'settle') {
              if (ids.length === 0) continue;
              const id = ids[op.pick % ids.length]!;
              expireDue();
              const lease = live.get(id);
              // The ledger remembers settlements and expiries for this window and the one before.
              const remembered = (day: string) => day === today() || day === shiftDay(today(), -1);
              const gone = expired.get(id);
              const settledBefore = firstSettlement.get(id);
              const first = settledBefore && remembered(settledBefore.day) ? settledBefore.settlement : undefined;
              const known =
                first?.provider ?? lease?.provider ?? (gone && remembered(gone.day) ? gone.provider : undefined);
              const forgotten = gone?.provider ?? settledBefore?.settlement.provider;
              if (known === undefined && !(forgotten !== undefined && op.withProvider)) {
                // Refused at reserve (the ledger never held it), or forgotten and no provider given.
                const error: unknown = await ledger.settle(id, op.used).catch((e: unknown) => e);
                expect(isAgentvisorError(error, 'invalid-request')).toBe(true);
                await checkBooks();
                continue;
              }
              const provider = (known ?? forgotten)!;
              const result = await ledger.settle(id, op.used, op.withProvider ? provider : undefined);
              if (first) {
                expect(result).toEqual(first);
              } else {
                expect(result).toEqual({
                  sessionId: id,
                  provider,
                  usedTokens: op.used,
                  returnedTokens: lease ? Math.max(0, lease.tokens - op.used) : 0,
                });
                firstSettlement.set(id, { settlement: result, day: today() });
                live.delete(id);
                count(provider, op.used);
              }
            } else if (op.kind === 'settleUnknown') {
              const id = `ghost-${(seq += 1)}`;
              expect(await ledger.settle(id, op.used, op.provider)).toEqual({
                sessionId: id,
                provider: op.provider,
                usedTokens: op.used,
                returnedTokens: 0,
              });
              count(op.provider, op.used);
            } else if (op.kind === 'renew') {
              if (ids.length === 0) continue;
              const id = ids[op.pick % ids.length]!;
              expireDue();
              const lease = live.get(id);
              expect(await ledger.renew(id, op.leaseMs)).toBe(lease !== undefined);
              if (lease) lease.expiresAt = clock.now() + op.leaseMs;
            } else if (op.kind === 'advance') {
              // No check right after: the next operation meets leases that ran out and were not swept yet.
              clock.advance(op.ms);
              continue;
            } else {
              const due = [...live.values()].filter((l) => l.expiresAt <= clock.now()).length;
              expect(await ledger.sweep()).toBe(due);
            }
            await checkBooks();
          }

          // Nothing leaks: settling every live session leaves nothing reserved and no slot taken.
          for (const id of [...live.keys()]) await ledger.settle(id, 0);
          const end = await ledger.snapshot();
          for (const p of PROVIDER_IDS) expect(end.providers[p]).toMatchObject({ reserved: 0, active: 0 });
          await ledger.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});
