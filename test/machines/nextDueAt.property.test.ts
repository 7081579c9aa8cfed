/**
 * Time as derived state: for coordinators driven into random states (waits, requeues with a
 * not-before time, open circuits, pauses, live sessions on a sweep grid), a `clock.tick` before
 * `nextDueAt` changes nothing but the latest time, and a tick at `nextDueAt` changes something and
 * moves `nextDueAt` past itself (so the one clock timer never spins).
 */
import fc from 'fast-check';
import { nextDueAt } from '../../machines/nextDueAt';
import { DEFAULT_CIRCUIT } from '../../machines/providerHealth';
import type { ProviderId } from '../../machines/providers';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { HOUR, NEXT_RESET, T0, createCoordinatorHarness } from '../helpers/machineHarness';
import type { CoordinatorHarness } from '../helpers/machineHarness';

const DAY = 24 * HOUR;
const LIMITS = {
  claude: { dailyLimit: 1_000, maxConcurrent: 2 },
  openai: { dailyLimit: 500, maxConcurrent: 1 },
} as const;
const PROVIDERS: readonly ProviderId[] = ['claude', 'openai'];
/** Sessions decide failures by the real policies and may wait for their provider often: a throttle before any work requeues. */
const REQUEUES = { failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 1_000 } as const;

/**
 * Server throttling reported on a session, as the orchestrator reports it (`session.failure`): before
 * any work it is requeued on its provider, not before the Retry-After (no jitter on top).
 */
function throttle(h: CoordinatorHarness, sessionId: string, retryAfterMs: number, now: number): void {
  h.session(sessionId)?.send({
    type: 'session.failure',
    reason: 'rate-limit',
    failure: { kind: 'rate-limit', retryAfterMs, throttle: 'server' },
    jitter: 0,
    now,
  });
}

type Op =
  | { readonly kind: 'spawn'; readonly estimate: number; readonly waitMs: number; readonly provider: ProviderId | null }
  | { readonly kind: 'fail'; readonly provider: ProviderId; readonly usageLimitFor: number | null }
  | { readonly kind: 'exhausted'; readonly provider: ProviderId; readonly forMs: number }
  | { readonly kind: 'requeue'; readonly pick: number; readonly afterMs: number }
  | { readonly kind: 'usage'; readonly pick: number; readonly tokens: number }
  | { readonly kind: 'release'; readonly pick: number };

const provider = fc.constantFrom<ProviderId>('claude', 'openai');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('spawn' as const),
    estimate: fc.integer({ min: 1, max: 700 }),
    waitMs: fc.constantFrom(0, 1_000, 60_000, 3 * HOUR),
    provider: fc.option(provider, { nil: null }),
  }),
  fc.record({
    kind: fc.constant('fail' as const),
    provider,
    usageLimitFor: fc.option(fc.integer({ min: 1, max: 2 * HOUR }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('exhausted' as const), provider, forMs: fc.integer({ min: 1, max: 2 * HOUR }) }),
  fc.record({ kind: fc.constant('requeue' as const), pick: fc.nat(), afterMs: fc.integer({ min: 1, max: 120_000 }) }),
  fc.record({ kind: fc.constant('usage' as const), pick: fc.nat(), tokens: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
);

/** Each step happens this long after the one before. */
const stepArb = fc.tuple(opArb, fc.integer({ min: 0, max: 20 * 60_000 }));

function liveSessions(h: CoordinatorHarness): string[] {
  return h.supervisedSessions().sort();
}

function apply(h: CoordinatorHarness, op: Op, now: number): void {
  const live = liveSessions(h);
  const picked = (pick: number) => live[pick % Math.max(1, live.length)];
  switch (op.kind) {
    case 'spawn':
      h.spawn({ estimatedTokens: op.estimate, waitMs: op.waitMs, preferredProvider: op.provider, now });
      return;
    case 'fail':
      h.actor.send({
        type: 'provider.failed',
        provider: op.provider,
        kind: 'server',
        countsForHealth: true,
        throttle: op.usageLimitFor === null ? null : 'usage-limit',
        resetAt: op.usageLimitFor === null ? null : now + op.usageLimitFor,
        now,
      });
      return;
    case 'exhausted':
      h.actor.send({
        type: 'provider.exhausted',
        provider: op.provider,
        until: now + op.forMs,
        reason: 'reported-limit',
        now,
      });
      return;
    case 'requeue': {
      const id = picked(op.pick);
      if (id !== undefined) throttle(h, id, op.afterMs, now);
      return;
    }
    case 'usage': {
      const id = picked(op.pick);
      if (id !== undefined) h.session(id)?.send({ type: 'session.usage', tokens: op.tokens, now });
      return;
    }
    case 'release': {
      const id = picked(op.pick);
      if (id !== undefined) h.session(id)?.send({ type: 'session.release', now });
      return;
    }
  }
}

/** Everything in the coordinator's context except the latest time, and the live sessions. */
function observable(h: CoordinatorHarness): unknown {
  const { now: _now, supervisor: _supervisor, ...rest } = h.context();
  return { ...rest, sessions: liveSessions(h) };
}

/** The daily window at `t` for a coordinator whose window ends at `nextResetAt`. */
function windowAt(t: number, day: string, nextResetAt: number): { day: string; nextResetAt: number } {
  if (t < nextResetAt) return { day, nextResetAt };
  const passed = Math.floor((t - nextResetAt) / DAY) + 1;
  return { day: `day+${passed}`, nextResetAt: nextResetAt + passed * DAY };
}

function drive(h: CoordinatorHarness, steps: readonly (readonly [Op, number])[]): number {
  let now = T0;
  for (const [op, gap] of steps) {
    now += gap;
    // Leave the first window alone: these runs are about the times inside it.
    if (now >= NEXT_RESET - HOUR) break;
    apply(h, op, now);
  }
  return Math.max(now, h.context().now);
}

describe('nextDueAt', () => {
  it('should see nothing due before it: a tick at any time before it changes nothing but the time', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 25 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(HOUR, 20 * 60_000, undefined),
        (steps, where, sweepIntervalMs) => {
          const h = createCoordinatorHarness({
            limits: LIMITS,
            config: {
              ...REQUEUES,
              circuit: { ...DEFAULT_CIRCUIT, minRequests: 2, allowedFailures: 1 },
              ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
            },
          });
          try {
            const latest = drive(h, steps);
            const due = nextDueAt(h.context());
            expect(due).not.toBeNull();
            if (due === null || due - 1 < latest) return;
            const t = latest + Math.floor(where * (due - 1 - latest));
            const before = observable(h);
            const emitted = h.emitted.length;
            const { day, nextResetAt } = h.context();
            h.tick(t, windowAt(t, day, nextResetAt));
            expect(h.emitted.slice(emitted)).toEqual([]);
            expect(observable(h)).toEqual(before);
            expect(nextDueAt(h.context())).toBe(due);
          } finally {
            h.stop();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should see something due at it: a tick then changes the context and moves nextDueAt past the tick', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 25 }),
        fc.constantFrom(HOUR, 20 * 60_000, undefined),
        (steps, sweepIntervalMs) => {
          const h = createCoordinatorHarness({
            limits: LIMITS,
            config: {
              ...REQUEUES,
              circuit: { ...DEFAULT_CIRCUIT, minRequests: 2, allowedFailures: 1 },
              ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
            },
          });
          try {
            const latest = drive(h, steps);
            const due = nextDueAt(h.context());
            if (due === null) throw new Error('the daily reset is always due');
            // Time never runs backwards: a due time the last event already passed is ticked at that event's time.
            const t = Math.max(due, latest);
            const before = observable(h);
            const emitted = h.emitted.length;
            const { day, nextResetAt } = h.context();
            h.tick(t, windowAt(t, day, nextResetAt));
            const changed = h.emitted.length > emitted || JSON.stringify(observable(h)) !== JSON.stringify(before);
            expect(changed).toBe(true);
            const after = nextDueAt(h.context());
            expect(after === null || after > t).toBe(true);
          } finally {
            h.stop();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should name each kind of due time, earliest first', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 100, maxConcurrent: 1 } },
      config: { ...REQUEUES, sweepIntervalMs: 3 * HOUR },
    });
    try {
      expect(nextDueAt(h.context())).toBe(T0 + 3 * HOUR);
      h.actor.send({
        type: 'provider.exhausted',
        provider: 'openai',
        until: T0 + 90 * 60_000,
        reason: 'reported-limit',
        now: T0,
      });
      expect(nextDueAt(h.context())).toBe(T0 + 90 * 60_000);
      const first = h.spawn({ estimatedTokens: 10 });
      const waiter = h.spawn({ estimatedTokens: 10, waitMs: HOUR });
      expect(nextDueAt(h.context())).toBe(T0 + HOUR);
      // The requeued session gives its slot to the waiter and waits (deadline: its lease, 2 h) for its Retry-After.
      throttle(h, first.sessionId, 30_000, T0);
      expect(h.emittedOf('agent.admitted').map((e) => e.requestId)).toEqual([first.requestId, waiter.requestId]);
      expect(nextDueAt(h.context())).toBe(T0 + 30_000);
      h.tick(T0 + 30_000);
      expect(h.context().queue.map((q) => [q.sessionId, q.notBefore])).toEqual([[first.sessionId, undefined]]);
      expect(nextDueAt(h.context())).toBe(T0 + 90 * 60_000);
      h.tick(T0 + 90 * 60_000);
      expect(h.emittedOf('provider.resumed')).toEqual([{ type: 'provider.resumed', provider: 'openai' }]);
      expect(nextDueAt(h.context())).toBe(T0 + 2 * HOUR);
      h.tick(T0 + 2 * HOUR);
      expect(h.context().queue).toEqual([]);
      expect(nextDueAt(h.context())).toBe(T0 + 3 * HOUR);
      for (const p of PROVIDERS) expect(h.context().health[p].state).toBe('closed');
    } finally {
      h.stop();
    }
  });
});
