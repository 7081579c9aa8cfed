/**
 * Two orchestrators on one shared ledger (issue 14): random spawns (some waiting), usage within and
 * far beyond the allocation (top-ups), failures that fall back, releases, clock moves, and kills
 * (an orchestrator whose clock freezes: it never renews, writes or settles again, like a process
 * killed with SIGKILL). After every step the ledger itself is checked: for each provider
 * `used + reserved <= dailyLimit + overrun`, `active <= maxConcurrent`, `overrun` never larger
 * than the usage the sessions really reported beyond their grants, and every token granted to a
 * live session and not used yet reserved in the ledger (no grant the ledger does not know of).
 * At the end, with every live orchestrator stopped and the dead ones' leases run out, nothing is
 * reserved and every usage reported by the live ones is counted.
 */
import fc from 'fast-check';
import { createManualClock, createOrchestrator } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, ProviderId } from '../../src';
import { createMemoryLedger } from '../../src/quota';
import type { QuotaLedger } from '../../src/quota';
import { BOTH_KEYS_ENV, T0, flushMicrotasks } from '../helpers/orchestratorFixtures';

const PROVIDERS: readonly ProviderId[] = ['claude', 'openai'];
const LEASE_MS = 60_000;
const SYNC_MS = 1_000;

type Op =
  | {
      readonly kind: 'spawn';
      readonly host: number;
      readonly estimate: number;
      readonly waitMs: number;
      readonly provider: ProviderId | null;
    }
  | { readonly kind: 'usage'; readonly host: number; readonly pick: number; readonly tokens: number }
  | { readonly kind: 'failure'; readonly host: number; readonly pick: number }
  | { readonly kind: 'release'; readonly host: number; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'kill'; readonly host: number };

const hostArb = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('spawn' as const),
      host: hostArb,
      estimate: fc.integer({ min: 1, max: 6_000 }),
      waitMs: fc.constantFrom(0, 0, 5_000),
      provider: fc.constantFrom<ProviderId | null>(null, 'claude', 'openai'),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('usage' as const),
      host: hostArb,
      pick: fc.nat(),
      tokens: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 20_000 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('failure' as const), host: hostArb, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), host: hostArb, pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(10, SYNC_MS, 5 * SYNC_MS, LEASE_MS / 4),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), host: hostArb }) },
);
const limitsArb = fc.record({
  claude: fc.record({
    dailyLimit: fc.integer({ min: 1_000, max: 30_000 }),
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
  }),
  openai: fc.record({
    dailyLimit: fc.integer({ min: 1_000, max: 30_000 }),
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
  }),
});

interface Host {
  readonly orch: Orchestrator;
  readonly clock: ManualClock;
  readonly agents: ManagedAgent[];
  /** Spawns, failures and releases in flight (a dead host's never finish: its clock stopped). */
  readonly pending: Promise<unknown>[];
  dead: boolean;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 6; i += 1) await flushMicrotasks();
}

async function checkLedger(
  ledger: QuotaLedger,
  limits: Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>,
  beyond: Record<ProviderId, number>,
  granted: Record<ProviderId, number> = { claude: 0, openai: 0 },
): Promise<void> {
  const snapshot = await ledger.snapshot();
  for (const p of PROVIDERS) {
    // Every token a live session was granted and has not used yet is reserved in the ledger.
    expect(snapshot.providers[p].reserved).toBeGreaterThanOrEqual(granted[p]);
    const s = snapshot.providers[p];
    expect(s.used + s.reserved).toBeLessThanOrEqual(limits[p].dailyLimit + s.overrun);
    expect(s.active).toBeLessThanOrEqual(limits[p].maxConcurrent);
    // Overrun is real usage that no grant covered: never more than what sessions spent beyond their grants.
    expect(s.overrun).toBeLessThanOrEqual(beyond[p]);
  }
}

describe('two orchestrators on one shared ledger (property)', () => {
  it('should keep used + reserved within the daily limit (plus real overrun) in the ledger after every step', async () => {
    await fc.assert(
      fc.asyncProperty(limitsArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), async (limits, ops) => {
        const ledgerClock = createManualClock(T0);
        const ledger = createMemoryLedger({ limits, now: ledgerClock.now });
        const hosts: Host[] = [];
        for (let i = 0; i < 2; i += 1) {
          const clock = createManualClock(T0);
          const orch = createOrchestrator({
            env: BOTH_KEYS_ENV,
            credentialSources: ['env'],
            clock,
            limits,
            fallbackChain: ['claude', 'openai'],
            ledger: { instance: ledger, leaseMs: LEASE_MS, syncIntervalMs: SYNC_MS },
          });
          await orch.start();
          hosts.push({ orch, clock, agents: [], pending: [], dead: false });
        }
        // Usage each provider saw beyond what the ledger had granted the session (an upper bound of overrun).
        const beyond: Record<ProviderId, number> = { claude: 0, openai: 0 };
        let liveUsage = 0;
        const onProvider = new Map<ManagedAgent, { provider: ProviderId; used: number }>();
        try {
          for (const op of ops) {
            if (op.kind === 'advance') {
              ledgerClock.advance(op.ms);
              for (const h of hosts) if (!h.dead) h.clock.advance(op.ms);
            } else if (op.kind === 'kill') {
              hosts[op.host]!.dead = true;
            } else {
              const host = hosts[op.host]!;
              if (host.dead) continue;
              if (op.kind === 'spawn') {
                const spawn = host.orch.spawnAgent({
                  estimatedTokens: op.estimate,
                  waitMs: op.waitMs,
                  ...(op.provider === null ? {} : { preferredProvider: op.provider }),
                });
                host.pending.push(
                  spawn.then(
                    (agent) => host.agents.push(agent),
                    () => undefined,
                  ),
                );
              } else {
                const live = host.agents.filter((a) => a.isLive);
                const agent = live.length === 0 ? undefined : live[op.pick % live.length];
                if (agent === undefined) continue;
                if (op.kind === 'usage') {
                  const provider = agent.provider;
                  const stint = onProvider.get(agent);
                  const usedHere = stint !== undefined && stint.provider === provider ? stint.used : 0;
                  // What the session was granted on this provider and has not used: anything beyond is unreserved.
                  const left = Math.max(0, agent.allocatedTokens - usedHere);
                  onProvider.set(agent, { provider, used: usedHere + op.tokens });
                  try {
                    agent.reportUsage({ inputTokens: op.tokens, outputTokens: 0 });
                  } catch {
                    // quota-exhausted: the usage was recorded and the session ended
                  }
                  beyond[provider] += Math.max(0, op.tokens - left);
                  if (host.agents.includes(agent)) liveUsage += op.tokens;
                } else if (op.kind === 'failure') {
                  host.pending.push(agent.reportFailure({ status: 529 }).catch(() => undefined));
                } else {
                  host.pending.push(agent.release().catch(() => undefined));
                }
              }
            }
            await settle();
            const granted: Record<ProviderId, number> = { claude: 0, openai: 0 };
            for (const h of hosts) {
              if (h.dead) continue;
              for (const a of h.agents) {
                if (!a.isLive) continue;
                const stint = onProvider.get(a);
                granted[a.provider] += Math.max(
                  0,
                  a.allocatedTokens - (stint !== undefined && stint.provider === a.provider ? stint.used : 0),
                );
              }
            }
            await checkLedger(ledger, limits, beyond, granted);
          }
        } finally {
          for (const h of hosts) if (!h.dead) await h.orch.stop();
        }
        await Promise.all(hosts.filter((h) => !h.dead).flatMap((h) => h.pending));
        ledgerClock.advance(2 * LEASE_MS);
        const end = await ledger.snapshot();
        for (const p of PROVIDERS) expect(end.providers[p]).toMatchObject({ reserved: 0, active: 0 });
        await checkLedger(ledger, limits, beyond);
        // Usage reported on hosts that stayed alive is all counted (dead hosts may lose their last interval).
        const counted = end.providers.claude.used + end.providers.openai.used;
        if (hosts.every((h) => !h.dead)) expect(counted).toBe(liveUsage);
        else expect(counted).toBeLessThanOrEqual(liveUsage);
        for (const h of hosts) if (h.dead) await h.orch.stop();
        await ledger.close();
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
