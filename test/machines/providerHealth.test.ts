import {
  DEFAULT_CIRCUIT,
  HEALTHY,
  admissionCap,
  circuitState,
  recordOutcome,
  windowCounts,
} from '../../machines/providerHealth';
import type { CircuitConfig, ProviderHealth } from '../../machines/providerHealth';

const config: CircuitConfig = {
  windowMs: 10_000,
  allowedFailures: 2,
  minRequests: 4,
  cooldownMs: 5_000,
  halfOpenProbes: 2,
};

function apply(outcomes: readonly (readonly [boolean, number])[], start: ProviderHealth = HEALTHY) {
  let h = start;
  const transitions: string[] = [];
  for (const [ok, at] of outcomes) {
    const change = recordOutcome(h, config, ok, at);
    h = change.health;
    if (change.transition) transitions.push(`${change.transition}@${at}`);
  }
  return { h, transitions };
}

describe('providerHealth', () => {
  it('should stay closed until the window holds minRequests outcomes and more than allowedFailures failures', () => {
    // Three failures alone: over allowedFailures, but under minRequests.
    expect(
      apply([
        [false, 0],
        [false, 1],
        [false, 2],
      ]).transitions,
    ).toEqual([]);
    expect(
      apply([
        [false, 0],
        [false, 1],
        [false, 2],
        [false, 3],
      ]).transitions,
    ).toEqual(['opened@3']);
    // Plenty of requests, failures at the allowance: closed.
    expect(
      apply([
        [false, 0],
        [true, 1],
        [true, 2],
        [false, 3],
        [true, 4],
      ]).transitions,
    ).toEqual([]);
    expect(
      apply([
        [false, 0],
        [true, 1],
        [false, 3],
        [false, 4],
      ]).transitions,
    ).toEqual(['opened@4']);
    // Successes count from the window's first failure on: before it they change no decision.
    expect(
      apply([
        [true, 0],
        [true, 1],
        [true, 2],
        [false, 3],
        [false, 4],
        [false, 5],
      ]).transitions,
    ).toEqual([]);
  });

  it('should write nothing for a success while the window holds no failure', () => {
    const change = recordOutcome(HEALTHY, config, true, 0);
    expect(change.health).toBe(HEALTHY);
    // A failure that left the window no longer keeps successes counted.
    const withOldFailure = apply([[false, 0]]).h;
    expect(recordOutcome(withOldFailure, config, true, 20_000).health.buckets).toEqual([]);
  });

  it('should forget outcomes older than the window', () => {
    const { h, transitions } = apply([
      [false, 0],
      [false, 1],
      [true, 2],
      [false, 11_000],
      [true, 11_001],
    ]);
    expect(transitions).toEqual([]);
    expect(windowCounts(h, config, 11_001)).toEqual({ ok: 1, failed: 1 });
    expect(h.buckets.length).toBeLessThanOrEqual(10);
  });

  it('should admit nothing while open, probes when the cooldown is over, close on a success and reopen on a failure', () => {
    const opened = apply([
      [false, 0],
      [false, 1],
      [false, 2],
      [false, 3],
    ]).h;
    expect(opened).toMatchObject({ state: 'open', openUntil: 5_003, openings: 1 });
    expect(circuitState(opened, 5_002)).toBe('open');
    expect(admissionCap(opened, config, 5_002)).toBe(0);
    expect(circuitState(opened, 5_003)).toBe('halfOpen');
    expect(admissionCap(opened, config, 5_003)).toBe(2);
    // An outcome of a session already running changes nothing while cooling down.
    expect(recordOutcome(opened, config, true, 4_000)).toMatchObject({ transition: null, health: { state: 'open' } });
    const closed = recordOutcome(opened, config, true, 6_000);
    expect(closed.transition).toBe('closed');
    expect(closed.health).toEqual({ ...HEALTHY, openings: 1 });
    expect(admissionCap(closed.health, config, 6_000)).toBe(Number.POSITIVE_INFINITY);
    const reopened = recordOutcome(opened, config, false, 6_000);
    expect(reopened).toMatchObject({ transition: 'opened', health: { state: 'open', openUntil: 11_000, openings: 2 } });
  });

  it('should have documented defaults', () => {
    expect(DEFAULT_CIRCUIT).toEqual({
      windowMs: 60_000,
      allowedFailures: 4,
      minRequests: 5,
      cooldownMs: 30_000,
      halfOpenProbes: 1,
    });
  });
});
