/**
 * The edges of machines/providerHealth.ts that the mutation run (docs/testing.md "Mutation testing")
 * found untested: adaptive concurrency (reached only through orchestrator tests), the pause and cap
 * boundaries, the buckets of the sliding window and the shortcut for a success.
 */
import {
  HEALTHY,
  initialHealth,
  isCapped,
  isPaused,
  pauseUntil,
  recordLimitSuccess,
  recordOutcome,
  recordThrottle,
  windowCounts,
} from '../../machines/providerHealth';
import type { AdaptiveConfig, CircuitConfig, ProviderHealth } from '../../machines/providerHealth';
import { isProviderId } from '../../machines/providers';

const config: CircuitConfig = {
  windowMs: 10_000,
  allowedFailures: 2,
  minRequests: 4,
  cooldownMs: 5_000,
  halfOpenProbes: 2,
};
const adaptive: AdaptiveConfig = { initial: { claude: 8, openai: 0 }, growAfter: 3, decreaseIntervalMs: 1_000 };

function health(patch: Partial<ProviderHealth>): ProviderHealth {
  return { ...HEALTHY, ...patch };
}

function bucket(start: number, ok: number, failed: number) {
  return { start, ok, failed };
}

describe('providerHealth (mutation edges)', () => {
  it('should start an adaptive limit at the initial value, capped by maxConcurrent and at least 1', () => {
    expect(initialHealth('claude', 4, null)).toBe(HEALTHY);
    expect(initialHealth('claude', 4, adaptive)).toEqual(health({ limit: 4 }));
    expect(initialHealth('claude', 10, adaptive)).toEqual(health({ limit: 8 }));
    expect(initialHealth('openai', 4, adaptive)).toEqual(health({ limit: 1 }));
  });

  it('should pause until the pause ends, not at its end, and only move a pause later', () => {
    expect(isPaused(health({ pausedUntil: 100 }), 99)).toBe(true);
    expect(isPaused(health({ pausedUntil: 100 }), 100)).toBe(false);
    const paused = health({ pausedUntil: 100 });
    expect(pauseUntil(paused, 100)).toBe(paused);
    expect(pauseUntil(paused, 50)).toBe(paused);
    expect(pauseUntil(paused, 101)).toEqual(health({ pausedUntil: 101 }));
  });

  it('should call a provider capped by an open or half-open circuit, a pause or an adaptive limit only', () => {
    expect(isCapped(HEALTHY)).toBe(false);
    expect(isCapped(health({ state: 'open' }))).toBe(true);
    expect(isCapped(health({ state: 'halfOpen' }))).toBe(true);
    expect(isCapped(health({ pausedUntil: 5 }))).toBe(true);
    expect(isCapped(health({ limit: 3 }))).toBe(true);
  });

  describe('adaptive concurrency', () => {
    it('should leave the health alone without adaptive concurrency or a limit', () => {
      const limited = health({ limit: 2 });
      expect(recordLimitSuccess(limited, null, 4)).toEqual({ health: limited, changed: null });
      expect(recordLimitSuccess(limited, null, 4).health).toBe(limited);
      expect(recordLimitSuccess(HEALTHY, adaptive, 4).health).toBe(HEALTHY);
      expect(recordThrottle(limited, null, 5_000).health).toBe(limited);
      expect(recordThrottle(HEALTHY, adaptive, 5_000)).toEqual({ health: HEALTHY, changed: null });
    });

    it('should grow the limit by one after growAfter successes in a row, never above maxConcurrent', () => {
      expect(recordLimitSuccess(health({ limit: 2, successRun: 0 }), adaptive, 4)).toEqual({
        health: health({ limit: 2, successRun: 1 }),
        changed: null,
      });
      expect(recordLimitSuccess(health({ limit: 2, successRun: 2 }), adaptive, 4)).toEqual({
        health: health({ limit: 3, successRun: 0 }),
        changed: 3,
      });
      expect(recordLimitSuccess(health({ limit: 4, successRun: 2 }), adaptive, 4)).toEqual({
        health: health({ limit: 4, successRun: 3 }),
        changed: null,
      });
      expect(recordLimitSuccess(health({ limit: 4, successRun: 3 }), adaptive, 4).health.successRun).toBe(3);
    });

    it('should halve the limit (floor 1) on a throttle, once per decrease interval', () => {
      expect(recordThrottle(health({ limit: 8, successRun: 2 }), adaptive, 5_000)).toEqual({
        health: health({ limit: 4, successRun: 0, decreasedAt: 5_000 }),
        changed: 4,
      });
      const halved = health({ limit: 4, successRun: 2, decreasedAt: 5_000 });
      expect(recordThrottle(halved, adaptive, 5_999)).toEqual({ health: { ...halved, successRun: 0 }, changed: null });
      expect(recordThrottle(halved, adaptive, 6_000)).toEqual({
        health: health({ limit: 2, successRun: 0, decreasedAt: 6_000 }),
        changed: 2,
      });
      expect(recordThrottle(health({ limit: 1 }), adaptive, 5_000)).toEqual({
        health: health({ limit: 1, decreasedAt: 5_000 }),
        changed: null,
      });
    });

    it('should halve again within the interval only for a session admitted after the last halving', () => {
      const halved = health({ limit: 4, decreasedAt: 5_000 });
      expect(recordThrottle(halved, adaptive, 5_500, 5_200).changed).toBe(2);
      expect(recordThrottle(halved, adaptive, 5_500, 5_000).changed).toBeNull();
      expect(recordThrottle(halved, adaptive, 5_500, 4_000).changed).toBeNull();
    });

    it('should halve on the first throttle even when the clock reads less than the decrease interval', () => {
      // Never halved (decreasedAt 0): a clock that starts at 0 is not "within the interval of a halving".
      expect(recordThrottle(health({ limit: 8 }), adaptive, 500)).toEqual({
        health: health({ limit: 4, decreasedAt: 500 }),
        changed: 4,
      });
    });
  });

  describe('the sliding window', () => {
    it('should count only the buckets still inside the window', () => {
      const h = health({ buckets: [bucket(0, 1, 2), bucket(5_000, 3, 0)] });
      expect(windowCounts(h, config, 9_999)).toEqual({ ok: 4, failed: 2 });
      expect(windowCounts(h, config, 10_000)).toEqual({ ok: 3, failed: 0 });
    });

    it('should put outcomes in buckets of a tenth of the window, starting on a multiple of it', () => {
      let h = recordOutcome(HEALTHY, config, false, 1_500).health;
      expect(h.buckets).toEqual([bucket(1_000, 0, 1)]);
      h = recordOutcome(h, config, true, 1_700).health;
      expect(h.buckets).toEqual([bucket(1_000, 1, 1)]);
      h = recordOutcome(h, config, false, 2_000).health;
      expect(h.buckets).toEqual([bucket(1_000, 1, 1), bucket(2_000, 0, 1)]);
    });

    it('should drop a bucket when the window has passed its start', () => {
      const h = recordOutcome(health({ buckets: [bucket(0, 0, 1)] }), config, false, 10_000).health;
      expect(h.buckets).toEqual([bucket(10_000, 0, 1)]);
    });

    it('should keep at most ten buckets, even when the clock steps back', () => {
      const lenient: CircuitConfig = { ...config, minRequests: 100 };
      let h = HEALTHY;
      for (let at = 10_000; at >= 0; at -= 1_000) h = recordOutcome(h, lenient, false, at).health;
      expect(h.buckets).toHaveLength(10);
      expect(h.buckets[9]).toEqual(bucket(0, 0, 1));
    });

    it('should clear the window on a success when no failure is left in it', () => {
      const okOnly = health({ buckets: [bucket(1_000, 1, 0)] });
      expect(recordOutcome(okOnly, config, true, 1_500).health.buckets).toEqual([]);
      const oldFailure = health({ buckets: [bucket(0, 0, 1)] });
      expect(recordOutcome(oldFailure, config, true, 10_000).health.buckets).toEqual([]);
    });

    it('should count a success while a failure is in the window', () => {
      const h = health({ buckets: [bucket(1_000, 0, 1), bucket(2_000, 1, 0)] });
      expect(recordOutcome(h, config, true, 2_500).health.buckets).toEqual([bucket(1_000, 0, 1), bucket(2_000, 2, 0)]);
    });
  });

  describe('opening', () => {
    it('should not open on a success that brings the window to minRequests', () => {
      let h = HEALTHY;
      for (const at of [0, 1, 2]) h = recordOutcome(h, config, false, at).health;
      const change = recordOutcome(h, config, true, 3);
      expect(change.transition).toBeNull();
      expect(change.health.state).toBe('closed');
    });

    it('should count failures while open without opening again', () => {
      let h = health({ state: 'open', openUntil: 20_000, openings: 1 });
      const transitions: unknown[] = [];
      for (const at of [1_000, 2_000, 3_000, 4_000, 5_000]) {
        const change = recordOutcome(h, config, false, at);
        transitions.push(change.transition);
        h = change.health;
      }
      expect(transitions).toEqual([null, null, null, null, null]);
      expect(h).toMatchObject({ state: 'open', openUntil: 20_000, openings: 1 });
    });

    it('should empty the window when it opens, from closed and from half-open', () => {
      let h = HEALTHY;
      for (const at of [0, 1, 2, 3]) h = recordOutcome(h, config, false, at).health;
      expect(h).toMatchObject({ state: 'open', openUntil: 5_003, buckets: [], openings: 1 });
      const reopened = recordOutcome(h, config, false, 6_000).health;
      expect(reopened).toMatchObject({ state: 'open', openUntil: 11_000, buckets: [], openings: 2 });
    });
  });

  it('should know the provider ids and nothing else', () => {
    expect(isProviderId('claude')).toBe(true);
    expect(isProviderId('openai')).toBe(true);
    expect(isProviderId('gemini')).toBe(false);
    expect(isProviderId(42)).toBe(false);
  });
});
