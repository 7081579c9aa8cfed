/**
 * machines/coordinatorClockActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * what a clock tick does besides draining the queue (a moved reset time, a pause that ends, a circuit
 * that cools down, the lease sweep's grid), through the real coordinator with its side-effect slots bound.
 */
import type { CoordinatorConfig, SideEffectParams } from '../../machines/coordinator.types';
import { DAY0, NEXT_RESET, T0, createCoordinatorHarness } from '../helpers/machineHarness';

const CIRCUIT = { windowMs: 60_000, allowedFailures: 1, minRequests: 2, cooldownMs: 30_000, halfOpenProbes: 1 };

function coordinator(config: Partial<CoordinatorConfig> = {}, now = T0) {
  const pauses: SideEffectParams['recordPause'][] = [];
  const h = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 8 } },
    config: { circuit: CIRCUIT, usageLimitPauseMs: 60_000, ...config },
    now,
    actions: { recordPause: (_, params) => void pauses.push(params) },
  });
  const tick = (at: number, day = DAY0, nextResetAt = NEXT_RESET) => h.tick(at, { day, nextResetAt });
  return { actor: h.actor, pauses, emitted: h.emitted, tick, context: h.context };
}

describe('coordinator clock actions (mutation edges)', () => {
  it('should move only the end of the same window when the reset time changed', () => {
    const c = coordinator();
    c.tick(T0 + 1, DAY0, NEXT_RESET + 5);
    expect(c.context()).toMatchObject({ day: DAY0, nextResetAt: NEXT_RESET + 5 });
    expect(c.emitted).toEqual([]);
    c.actor.stop();
  });

  it('should never move time back on a new window', () => {
    const c = coordinator({}, T0 + 5_000);
    c.tick(T0, 'next-day', NEXT_RESET + 86_400_000);
    expect(c.context()).toMatchObject({ day: 'next-day', now: T0 + 5_000 });
    c.actor.stop();
  });

  it('should resume a paused provider when its pause ends, not before', () => {
    const c = coordinator();
    c.actor.send({
      type: 'provider.failed',
      provider: 'claude',
      kind: 'usage-limit',
      throttle: 'usage-limit',
      resetAt: T0 + 5_000,
      now: T0,
    });
    c.tick(T0 + 4_999);
    expect(c.context().health.claude.pausedUntil).toBe(T0 + 5_000);
    expect(c.pauses).toHaveLength(1);
    c.tick(T0 + 5_000);
    expect(c.context().health.claude).toMatchObject({ pausedUntil: 0, state: 'closed' });
    expect(c.pauses.at(-1)).toEqual({ provider: 'claude', pause: null });
    expect(c.emitted.filter((e) => e.type === 'provider.resumed')).toEqual([
      { type: 'provider.resumed', provider: 'claude' },
    ]);
    c.actor.stop();
  });

  it('should store a cooled-down circuit half-open without resuming anything', () => {
    const c = coordinator();
    for (let i = 0; i < 2; i += 1)
      c.actor.send({
        type: 'provider.failed',
        provider: 'claude',
        kind: 'overloaded',
        throttle: null,
        resetAt: null,
        now: T0,
      });
    expect(c.context().health.claude).toMatchObject({ state: 'open', openUntil: T0 + 30_000 });
    c.tick(T0 + 29_999);
    expect(c.context().health.claude.state).toBe('open');
    c.tick(T0 + 30_000);
    expect(c.context().health.claude).toMatchObject({ state: 'halfOpen', pausedUntil: 0 });
    expect(c.context().now).toBe(T0 + 30_000);
    expect(c.pauses).toEqual([]);
    expect(c.emitted.some((e) => e.type === 'provider.resumed')).toBe(false);
    c.actor.stop();
  });

  it('should sweep the leases on the grid of the sweep interval, however late the tick', () => {
    const c = coordinator({ sweepIntervalMs: 1_000 });
    const start = c.context().sweptAt;
    c.tick(start + 999);
    expect(c.context().sweptAt).toBe(start);
    c.tick(start + 2_500);
    expect(c.context()).toMatchObject({ sweptAt: start + 2_000, now: start + 2_500 });
    c.actor.stop();
  });
});
