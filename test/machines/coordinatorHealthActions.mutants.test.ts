/**
 * machines/coordinatorHealthActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * the coordinator group's tests never sent `provider.failed`, so the circuit count, the adaptive limit
 * and the usage-limit pause were reached only through the orchestrator. Here the real coordinator gets
 * the failures, with its side-effect slots bound (as src/orchestrator/bindMachines.ts binds them).
 */
import type { CoordinatorConfig, CoordinatorEvent, SideEffectParams } from '../../machines/coordinator.types';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

const CIRCUIT = { windowMs: 60_000, allowedFailures: 1, minRequests: 2, cooldownMs: 30_000, halfOpenProbes: 1 };

function coordinator(config: Partial<CoordinatorConfig> = {}, now = T0) {
  const pauses: SideEffectParams['recordPause'][] = [];
  const { actor, emitted } = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 8 } },
    config: { circuit: CIRCUIT, ...config },
    now,
    actions: { recordPause: (_, params) => void pauses.push(params) },
  });
  const fail = (patch: Partial<Extract<CoordinatorEvent, { type: 'provider.failed' }>>) =>
    actor.send({
      type: 'provider.failed',
      provider: 'claude',
      kind: 'overloaded',
      throttle: null,
      resetAt: null,
      now: T0,
      ...patch,
    });
  return { actor, pauses, emitted, fail, health: () => actor.getSnapshot().context.health.claude };
}

describe('coordinator health actions (mutation edges)', () => {
  it('should open the circuit on counted failures, at the later of the coordinator time and the failure time', () => {
    const c = coordinator({}, T0 + 10_000);
    c.fail({});
    c.fail({});
    expect(c.emitted).toEqual([
      {
        type: 'provider.circuit',
        provider: 'claude',
        state: 'open',
        openUntil: T0 + 40_000,
        failures: 2,
        now: T0 + 10_000,
      },
    ]);
    expect(c.health()).toMatchObject({ state: 'open', openUntil: T0 + 40_000 });
    c.actor.stop();
  });

  it('should not count a failure that says nothing about the provider, nor one the event says not to count', () => {
    const c = coordinator();
    for (let i = 0; i < 3; i += 1) c.fail({ kind: 'invalid-request' });
    for (let i = 0; i < 3; i += 1) c.fail({ countsForHealth: false });
    expect(c.health().buckets).toEqual([]);
    c.fail({ kind: 'invalid-request', countsForHealth: true });
    expect(c.health().buckets).toHaveLength(1);
    c.actor.stop();
  });

  it('should halve an adaptive limit on server throttling without counting it on the circuit', () => {
    const adaptive = { initial: { claude: 8, openai: 1 }, growAfter: 3, decreaseIntervalMs: 1_000 };
    const c = coordinator({ adaptive }, T0 + 5_000);
    c.fail({ kind: 'rate-limit', throttle: 'server' });
    expect(c.emitted).toEqual([
      { type: 'provider.limit', provider: 'claude', limit: 4, previous: 8, reason: 'throttle' },
    ]);
    expect(c.health()).toMatchObject({ limit: 4, decreasedAt: T0 + 5_000, buckets: [] });
    c.fail({ kind: 'rate-limit', throttle: 'server', since: T0 + 5_500, now: T0 + 5_600 });
    expect(c.health()).toMatchObject({ limit: 2, decreasedAt: T0 + 5_600 });
    // Within the decrease interval and from the same burst: the limit stays, and nothing is announced.
    c.fail({ kind: 'rate-limit', throttle: 'server', now: T0 + 5_700 });
    expect(c.health()).toMatchObject({ limit: 2, decreasedAt: T0 + 5_600 });
    expect(c.emitted).toHaveLength(2);
    c.actor.stop();
  });

  it('should count a server throttle on the circuit when concurrency is not adaptive', () => {
    const c = coordinator();
    c.fail({ kind: 'rate-limit', throttle: 'server' });
    expect(c.health().buckets).toEqual([{ start: T0, ok: 0, failed: 1 }]);
    c.actor.stop();
  });

  it('should change nothing on a server throttle it neither counts nor adapts to', () => {
    const c = coordinator();
    const before = c.actor.getSnapshot().context;
    c.fail({ kind: 'rate-limit', throttle: 'server', countsForHealth: false, now: T0 + 9_000 });
    expect(c.actor.getSnapshot().context.now).toBe(T0);
    expect(c.actor.getSnapshot().context.health).toEqual(before.health);
    expect(c.emitted).toEqual([]);
    c.actor.stop();
  });

  it('should pause a provider on a usage limit until its reset, or for usageLimitPauseMs without one in the future', () => {
    const c = coordinator({ usageLimitPauseMs: 60_000 }, T0 + 1_000);
    c.fail({ kind: 'usage-limit', throttle: 'usage-limit', resetAt: T0 + 1_000 });
    const until = T0 + 1_000 + 60_000;
    expect(c.pauses).toEqual([{ provider: 'claude', pause: { until, reason: 'usage-limit' } }]);
    expect(c.emitted).toEqual([{ type: 'provider.paused', provider: 'claude', until, reason: 'usage-limit' }]);
    expect(c.health().pausedUntil).toBe(until);
    c.fail({ kind: 'usage-limit', throttle: 'usage-limit', resetAt: T0 + 5_000 });
    expect(c.pauses).toHaveLength(1);
    const d = coordinator({ usageLimitPauseMs: 60_000 });
    d.fail({ kind: 'usage-limit', throttle: 'usage-limit', resetAt: null });
    expect(d.health().pausedUntil).toBe(T0 + 60_000);
    c.actor.stop();
    d.actor.stop();
  });

  it('should pause an exhausted provider until the time given, not when that time has passed for the coordinator', () => {
    const c = coordinator({}, T0 + 1_000);
    c.actor.send({ type: 'provider.exhausted', provider: 'claude', until: T0 + 9_000, reason: 'quota', now: T0 });
    expect(c.pauses).toEqual([{ provider: 'claude', pause: { until: T0 + 9_000, reason: 'quota' } }]);
    const d = coordinator({}, T0 + 1_000);
    d.actor.send({ type: 'provider.exhausted', provider: 'claude', until: T0 + 1_000, reason: 'quota', now: T0 });
    expect(d.pauses).toEqual([]);
    c.actor.stop();
    d.actor.stop();
  });
});
