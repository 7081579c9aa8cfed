import { coordinatorMachine } from '../../machines/coordinator.machine';
import { HOUR, NEXT_RESET, T0, TEST_KEYS, createCoordinatorHarness, denyProviders } from '../helpers/machineHarness';
import type { CoordinatorHarness } from '../helpers/machineHarness';

const SMALL = { claude: { dailyLimit: 100, maxConcurrent: 2 }, openai: { dailyLimit: 50, maxConcurrent: 1 } } as const;
const LEASE = 2 * HOUR;
/** Every tick sweeps the leases (a 1 ms sweep grid), as if the sweep were sent on its own. */
const SWEEP_EACH_TICK = { sweepIntervalMs: 1 } as const;

function revealedEnv(h: CoordinatorHarness, sessionId: string): Record<string, string> {
  const context = h.session(sessionId)!.getSnapshot().context;
  const out: Record<string, string> = { ...context.env };
  for (const [name, secret] of Object.entries(context.secretEnv)) out[name] = secret.reveal();
  return out;
}

describe('coordinatorMachine', () => {
  let h: CoordinatorHarness;
  afterEach(() => h?.stop());

  describe('admission', () => {
    it('should admit with min(estimate, floor(available / 2)), reserve in the same step and activate the session', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 30 });
      expect(h.emittedOf('agent.admitted')).toEqual([
        {
          type: 'agent.admitted',
          requestId: a.requestId,
          sessionId: a.sessionId,
          agentId: a.agentId,
          provider: 'claude',
          allocatedTokens: 30,
          waitedMs: 0,
        },
      ]);
      expect(h.emittedOf('agent.active')).toEqual([
        { type: 'agent.active', sessionId: a.sessionId, agentId: a.agentId, provider: 'claude' },
      ]);
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 30, active: 1, overrun: 0 });
      expect(h.session(a.sessionId)!.getSnapshot().value).toBe('active');

      const b = h.spawn({ estimatedTokens: 60 });
      // available 70 >= 60: allocation min(60, 35) = 35.
      expect(h.emittedOf('agent.admitted')[1]).toMatchObject({
        sessionId: b.sessionId,
        provider: 'claude',
        allocatedTokens: 35,
      });
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 65, active: 2, overrun: 0 });
    });

    it('should cap one allocation at half of what is available', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 80 });
      expect(h.emittedOf('agent.admitted')[0]).toMatchObject({ provider: 'claude', allocatedTokens: 50 });
      expect(h.counters('claude').reserved).toBe(50);
    });

    it('should refuse quota-exhausted until the next reset when no provider has the estimate available', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 80 });
      const b = h.spawn({ estimatedTokens: 80, now: T0 + 1_000 });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: b.requestId,
          agentId: b.agentId,
          code: 'quota-exhausted',
          retryAfterMs: NEXT_RESET - (T0 + 1_000),
          waited: false,
        },
      ]);
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 50, active: 1, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 0, active: 0, overrun: 0 });
    });

    it('should spill over to the next provider at the concurrency limit, then refuse concurrency-limit', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 30 });
      h.spawn({ estimatedTokens: 30 });
      h.spawn({ estimatedTokens: 30 });
      const d = h.spawn({ estimatedTokens: 30 });
      expect(h.emittedOf('agent.admitted').map((e) => [e.provider, e.allocatedTokens])).toEqual([
        ['claude', 30],
        ['claude', 30],
        ['openai', 25],
      ]);
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: d.requestId,
          agentId: d.agentId,
          code: 'concurrency-limit',
          retryAfterMs: 1_000,
          waited: false,
        },
      ]);
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 60, active: 2, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 25, active: 1, overrun: 0 });
    });

    it('should refuse no-provider when every provider is disabled', () => {
      h = createCoordinatorHarness({
        limits: { claude: { dailyLimit: 0, maxConcurrent: 5 }, openai: { dailyLimit: 500, maxConcurrent: 0 } },
      });
      const a = h.spawn({ estimatedTokens: 1 });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: a.requestId,
          agentId: a.agentId,
          code: 'no-provider',
          retryAfterMs: null,
          waited: false,
          hopeless: true,
        },
      ]);
      expect(h.emittedOf('agent.admitted')).toEqual([]);
    });

    it('should refuse at once, even with waitMs, an estimate above the daily limit of every provider it may use', () => {
      h = createCoordinatorHarness({
        limits: { claude: { dailyLimit: 1_000, maxConcurrent: 5 }, openai: { dailyLimit: 800, maxConcurrent: 5 } },
      });
      const a = h.spawn({ estimatedTokens: 1_001, waitMs: 30_000 });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: a.requestId,
          agentId: a.agentId,
          code: 'quota-exhausted',
          retryAfterMs: null,
          waited: false,
          hopeless: true,
        },
      ]);
      expect(h.emittedOf('agent.queued')).toEqual([]);
      // Pinned to a provider whose limit is too small: hopeless too, although the other would do.
      const b = h.spawn({ estimatedTokens: 900, waitMs: 30_000, preferredProvider: 'openai', onlyPreferred: true });
      expect(h.emittedOf('agent.refused')[1]).toMatchObject({
        requestId: b.requestId,
        code: 'quota-exhausted',
        hopeless: true,
      });
      // One that fits some day waits.
      h.spawn({ estimatedTokens: 1_000, waitMs: 30_000 });
      expect(h.emittedOf('agent.refused')).toHaveLength(2);
    });

    it('should refuse at once, even with waitMs, when every provider it may use has limit 0', () => {
      h = createCoordinatorHarness({
        limits: { claude: { dailyLimit: 0, maxConcurrent: 5 }, openai: { dailyLimit: 500, maxConcurrent: 5 } },
      });
      const a = h.spawn({ estimatedTokens: 1, waitMs: 30_000, preferredProvider: 'claude', onlyPreferred: true });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: a.requestId,
          agentId: a.agentId,
          code: 'no-provider',
          retryAfterMs: null,
          waited: false,
          hopeless: true,
        },
      ]);
    });

    it('should treat a daily limit of 0 as a disabled provider even when preferred', () => {
      h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 0, maxConcurrent: 2 }, openai: SMALL.openai } });
      h.spawn({ estimatedTokens: 10, preferredProvider: 'claude' });
      expect(h.emittedOf('agent.admitted')[0]).toMatchObject({ provider: 'openai', allocatedTokens: 10 });
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 0, active: 0, overrun: 0 });
    });

    it('should try the preferred provider first', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 30, preferredProvider: 'openai' });
      expect(h.emittedOf('agent.admitted')[0]).toMatchObject({ provider: 'openai', allocatedTokens: 25 });
    });
  });

  describe('usage', () => {
    it('should move usage within the allocation from reserved to used', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 20, now: T0 + 1 });
      expect(h.counters('claude')).toEqual({ used: 20, reserved: 10, active: 1, overrun: 0 });
      expect(h.emittedOf('quota.overrun')).toEqual([]);
    });

    it('should top up a session that goes beyond its allocation from the free budget', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 30 });
      h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 20, now: T0 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 20, now: T0 });
      // 10 within; overage 10; used 40, reserved 30, free 30: top-up 10 + min(30, 15) = 25.
      expect(h.counters('claude')).toEqual({ used: 40, reserved: 45, active: 2, overrun: 0 });
      expect(h.session(a.sessionId)!.getSnapshot().context.tokens).toEqual({
        allocated: 55,
        usedOnProvider: 40,
        used: 40,
        returned: 0,
      });
      h.toSession(a.sessionId, { type: 'session.release', now: T0 });
      expect(h.counters('claude')).toEqual({ used: 40, reserved: 30, active: 1, overrun: 0 });
    });

    it('should record an overrun, emit quota.overrun and release the session with quota-exhausted', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 80 });
      const b = h.spawn({ estimatedTokens: 30 });
      expect(h.emittedOf('agent.admitted').map((e) => e.allocatedTokens)).toEqual([50, 25]);
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 50, now: T0 + 1 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 40, now: T0 + 2 });
      // 25 tokens were free (100 - 50 - 25); 15 of the 40 could not be covered.
      expect(h.emittedOf('quota.overrun')).toEqual([
        { type: 'quota.overrun', provider: 'claude', sessionId: a.sessionId, overrunTokens: 15 },
      ]);
      expect(h.session(a.sessionId)).toBeUndefined();
      const released = h.emittedOf('agent.released');
      expect(released).toHaveLength(1);
      expect(released[0]!.output).toMatchObject({
        sessionId: a.sessionId,
        usedTokens: 90,
        returnedTokens: 0,
        reason: 'quota-exhausted',
        error: { code: 'quota-exhausted' },
      });
      expect(h.counters('claude')).toEqual({ used: 90, reserved: 25, active: 1, overrun: 15 });
      expect(h.session(b.sessionId)!.getSnapshot().value).toBe('active');
    });

    it('should add to the overrun only what a later report could not cover', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 80 });
      const b = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 50, now: T0 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 40, now: T0 });
      expect(h.counters('claude')).toEqual({ used: 90, reserved: 25, active: 1, overrun: 15 });
      // b has 25 left and reports 30: 25 within its allocation, 5 beyond it and beyond the window.
      h.toSession(b.sessionId, { type: 'session.usage', tokens: 30, now: T0 });
      expect(h.emittedOf('quota.overrun').map((e) => e.overrunTokens)).toEqual([15, 5]);
      expect(h.counters('claude')).toEqual({ used: 120, reserved: 0, active: 0, overrun: 20 });
    });

    it('should announce quota.low once per window', () => {
      h = createCoordinatorHarness({ limits: SMALL, config: { lowWatermark: 0.8 } });
      const a = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 20, now: T0 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 5, now: T0 });
      expect(h.emittedOf('quota.low')).toEqual([
        { type: 'quota.low', provider: 'claude', available: 70, dailyLimit: 100 },
      ]);
      h.tick(NEXT_RESET, { day: '2026-01-02', nextResetAt: NEXT_RESET + 24 * HOUR });
      // used 0 after the reset; 30 more: 5 within, 25 beyond, topped up by 25 + min(30, 35): available 100 - 30 - 30.
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 30, now: NEXT_RESET });
      expect(h.emittedOf('quota.low').map((e) => e.available)).toEqual([70, 40]);
    });
  });

  describe('release', () => {
    it('should settle used tokens and return the unused allocation', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 12, now: T0 + 5 });
      h.toSession(a.sessionId, { type: 'session.release', now: T0 + 9 });
      expect(h.emittedOf('agent.released')[0]!.output).toEqual({
        sessionId: a.sessionId,
        agentId: a.agentId,
        provider: 'claude',
        usedTokens: 12,
        returnedTokens: 18,
        returnedOnProvider: 18,
        usedOnProvider: 12,
        stint: 0,
        heldSlot: true,
        fallbacks: [],
        reason: 'released',
        error: null,
        endedAt: T0 + 9,
      });
      expect(h.counters('claude')).toEqual({ used: 12, reserved: 0, active: 0, overrun: 0 });
      expect(h.context().now).toBe(T0 + 9);
      expect(h.session(a.sessionId)).toBeUndefined();
    });
  });

  describe('fallback', () => {
    it('should return the unused tokens on the old provider and admit on the next with the env swapped', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const a = h.spawn({ estimatedTokens: 30 });
      expect(revealedEnv(h, a.sessionId)).toMatchObject({
        ANTHROPIC_API_KEY: TEST_KEYS.claude,
        CLAUDE_API_KEY: TEST_KEYS.claude,
      });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 10, now: T0 });
      h.toSession(a.sessionId, { type: 'session.failure', reason: 'overloaded', now: T0 + 1 });
      expect(h.emittedOf('agent.fallback')).toEqual([
        {
          type: 'agent.fallback',
          sessionId: a.sessionId,
          agentId: a.agentId,
          from: 'claude',
          to: 'openai',
          reason: 'overloaded',
          allocatedTokens: 25,
          stint: 0,
          usedOnProvider: 10,
        },
      ]);
      expect(h.counters('claude')).toEqual({ used: 10, reserved: 0, active: 0, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 25, active: 1, overrun: 0 });
      const session = h.session(a.sessionId)!.getSnapshot();
      expect(session.value).toBe('active');
      expect(session.context.provider).toBe('openai');
      const env = revealedEnv(h, a.sessionId);
      expect(Object.keys(env).sort()).toEqual([
        'AGENTVISOR_AGENT_ID',
        'AGENTVISOR_SESSION_ID',
        'OPENAI_API_KEY',
        'OPENAI_BASE_URL',
      ]);
      expect(Object.values(env)).not.toContain(TEST_KEYS.claude);
      expect(h.emittedOf('agent.active').map((e) => e.provider)).toEqual(['claude', 'openai']);

      h.toSession(a.sessionId, { type: 'session.usage', tokens: 5, now: T0 + 2 });
      h.toSession(a.sessionId, { type: 'session.release', now: T0 + 3 });
      expect(h.emittedOf('agent.released')[0]!.output).toMatchObject({
        provider: 'openai',
        usedTokens: 15,
        returnedTokens: 20 + 20,
        fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
      });
      expect(h.counters('claude')).toEqual({ used: 10, reserved: 0, active: 0, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 5, reserved: 0, active: 0, overrun: 0 });
    });

    it('should release with no-provider and settle the old provider once when the fallback is refused', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 30, preferredProvider: 'openai' });
      const b = h.spawn({ estimatedTokens: 30 });
      h.toSession(b.sessionId, { type: 'session.usage', tokens: 7, now: T0 });
      h.toSession(b.sessionId, { type: 'session.failure', reason: 'server', now: T0 + 1 });
      expect(h.emittedOf('agent.fallback')).toEqual([
        {
          type: 'agent.fallback',
          sessionId: b.sessionId,
          agentId: b.agentId,
          from: 'claude',
          to: null,
          reason: 'server',
          allocatedTokens: 0,
          stint: 0,
          usedOnProvider: 7,
        },
      ]);
      expect(h.emittedOf('agent.released')[0]!.output).toMatchObject({
        reason: 'no-provider',
        heldSlot: false,
        usedTokens: 7,
        returnedTokens: 23,
        error: {
          code: 'no-provider',
          message: 'no fallback provider can take the session (concurrency-limit on openai)',
        },
      });
      expect(h.counters('claude')).toEqual({ used: 7, reserved: 0, active: 0, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 25, active: 1, overrun: 0 });
    });

    it('should give the allocation on the fallback provider a lease of its own', () => {
      h = createCoordinatorHarness({ limits: SMALL, config: SWEEP_EACH_TICK });
      const a = h.spawn({ estimatedTokens: 30 });
      const failedAt = T0 + LEASE - 60_000;
      h.toSession(a.sessionId, { type: 'session.failure', reason: 'overloaded', now: failedAt });
      expect(h.emittedOf('agent.fallback')[0]).toMatchObject({ to: 'openai', allocatedTokens: 25 });
      // The openai allocation is one minute old here: the claude lease's end must not expire it.
      h.tick(T0 + LEASE);
      expect(h.emittedOf('agent.released')).toEqual([]);
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 25, active: 1, overrun: 0 });
      h.tick(failedAt + LEASE);
      expect(h.emittedOf('agent.released').map((e) => [e.output.provider, e.output.reason])).toEqual([
        ['openai', 'expired'],
      ]);
    });

    it('should fall back when credentials are denied for the first provider', () => {
      h = createCoordinatorHarness({ limits: SMALL, credentials: denyProviders('claude') });
      const a = h.spawn({ estimatedTokens: 30 });
      expect(h.emittedOf('agent.admitted')[0]).toMatchObject({ provider: 'claude', allocatedTokens: 30 });
      expect(h.emittedOf('agent.fallback')[0]).toMatchObject({
        from: 'claude',
        to: 'openai',
        reason: 'auth-failed',
        allocatedTokens: 25,
      });
      expect(h.emittedOf('agent.active')).toEqual([
        { type: 'agent.active', sessionId: a.sessionId, agentId: a.agentId, provider: 'openai' },
      ]);
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 0, active: 0, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 25, active: 1, overrun: 0 });
      expect(Object.values(revealedEnv(h, a.sessionId))).toContain(TEST_KEYS.openai);
    });

    it('should release with auth-failed and return everything when credentials are denied everywhere', () => {
      h = createCoordinatorHarness({ limits: SMALL, credentials: denyProviders('claude', 'openai') });
      const a = h.spawn({ estimatedTokens: 30 });
      expect(h.credentialRequests.map((r) => r.provider)).toEqual(['claude', 'openai']);
      expect(h.emittedOf('agent.released')[0]!.output).toMatchObject({
        sessionId: a.sessionId,
        provider: 'openai',
        reason: 'auth-failed',
        returnedTokens: 55,
        usedTokens: 0,
      });
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 0, active: 0, overrun: 0 });
      expect(h.counters('openai')).toEqual({ used: 0, reserved: 0, active: 0, overrun: 0 });
      expect(h.emittedOf('agent.active')).toEqual([]);
    });
  });

  describe('sweep', () => {
    it('should expire sessions whose lease ended and keep those renewed by usage', () => {
      h = createCoordinatorHarness({ limits: SMALL, config: SWEEP_EACH_TICK });
      const a = h.spawn({ estimatedTokens: 30 });
      const b = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 4, now: T0 + HOUR });
      h.tick(T0 + LEASE - 1);
      expect(h.emittedOf('agent.released')).toEqual([]);
      h.tick(T0 + LEASE);
      expect(
        h.emittedOf('agent.released').map((e) => [e.output.sessionId, e.output.reason, e.output.returnedTokens]),
      ).toEqual([[b.sessionId, 'expired', 30]]);
      expect(h.counters('claude')).toEqual({ used: 4, reserved: 26, active: 1, overrun: 0 });
      h.tick(T0 + HOUR + LEASE);
      expect(h.emittedOf('agent.released').map((e) => e.output.sessionId)).toEqual([b.sessionId, a.sessionId]);
      expect(h.counters('claude')).toEqual({ used: 4, reserved: 0, active: 0, overrun: 0 });
      expect(h.context().now).toBe(T0 + HOUR + LEASE);
    });

    it('should admit a waiting request into the capacity an expiry frees', () => {
      h = createCoordinatorHarness({
        limits: { claude: { dailyLimit: 100, maxConcurrent: 1 } },
        config: SWEEP_EACH_TICK,
      });
      h.spawn({ estimatedTokens: 30 });
      const w = h.spawn({ estimatedTokens: 30, waitMs: 3 * HOUR, now: T0 + 10 });
      expect(h.emittedOf('agent.queued')).toEqual([
        { type: 'agent.queued', requestId: w.requestId, agentId: w.agentId, position: 0, code: 'concurrency-limit' },
      ]);
      h.tick(T0 + LEASE);
      expect(h.emittedOf('agent.admitted')[1]).toMatchObject({
        requestId: w.requestId,
        provider: 'claude',
        allocatedTokens: 30,
        waitedMs: LEASE - 10,
      });
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 30, active: 1, overrun: 0 });
      expect(h.context().queue).toEqual([]);
    });
  });

  describe('daily reset', () => {
    it('should set used back to 0, clear the overrun, move the window and drain the queue', () => {
      h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 100, maxConcurrent: 2 } } });
      const a = h.spawn({ estimatedTokens: 80 });
      const b = h.spawn({ estimatedTokens: 30 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 50, now: T0 });
      h.toSession(a.sessionId, { type: 'session.usage', tokens: 40, now: T0 });
      expect(h.counters('claude')).toEqual({ used: 90, reserved: 25, active: 1, overrun: 15 });
      const w = h.spawn({ estimatedTokens: 40, waitMs: 24 * HOUR, now: T0 + 60_000 });
      expect(h.emittedOf('agent.queued')[0]).toMatchObject({
        requestId: w.requestId,
        code: 'quota-exhausted',
        position: 0,
      });

      h.tick(NEXT_RESET, { day: '2026-01-02', nextResetAt: NEXT_RESET + 24 * HOUR });
      expect(h.emittedOf('quota.reset')).toEqual([{ type: 'quota.reset', day: '2026-01-02' }]);
      // used 0 and b's 25 still reserved: available 75, allocation min(40, 37) = 37.
      expect(h.emittedOf('agent.admitted')[2]).toMatchObject({
        requestId: w.requestId,
        allocatedTokens: 37,
        waitedMs: NEXT_RESET - (T0 + 60_000),
      });
      expect(h.counters('claude')).toEqual({ used: 0, reserved: 25 + 37, active: 2, overrun: 0 });
      expect(h.context()).toMatchObject({
        day: '2026-01-02',
        nextResetAt: NEXT_RESET + 24 * HOUR,
        now: NEXT_RESET,
        queue: [],
      });
      expect(h.session(b.sessionId)!.getSnapshot().value).toBe('active');
    });
  });

  describe('wait queue', () => {
    function fill(harness: CoordinatorHarness): string[] {
      return [
        harness.spawn({ estimatedTokens: 10 }),
        harness.spawn({ estimatedTokens: 10 }),
        harness.spawn({ estimatedTokens: 10 }),
      ].map((s) => s.sessionId);
    }

    it('should admit waiters by priority, then in arrival order, as slots free', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const live = fill(h);
      const q1 = h.spawn({ estimatedTokens: 10, waitMs: 60_000, priority: 0 });
      const q2 = h.spawn({ estimatedTokens: 10, waitMs: 60_000, priority: 5 });
      const q3 = h.spawn({ estimatedTokens: 10, waitMs: 60_000, priority: 0 });
      const q4 = h.spawn({ estimatedTokens: 10, waitMs: 60_000, priority: 5 });
      expect(h.emittedOf('agent.queued').map((e) => [e.requestId, e.position])).toEqual([
        [q1.requestId, 0],
        [q2.requestId, 0],
        [q3.requestId, 2],
        [q4.requestId, 1],
      ]);
      expect(h.context().queue.map((q) => q.requestId)).toEqual([
        q2.requestId,
        q4.requestId,
        q1.requestId,
        q3.requestId,
      ]);
      for (const sessionId of live) h.toSession(sessionId, { type: 'session.release', now: T0 + 1 });
      expect(
        h
          .emittedOf('agent.admitted')
          .slice(3)
          .map((e) => [e.requestId, e.provider]),
      ).toEqual([
        [q2.requestId, 'claude'],
        [q4.requestId, 'claude'],
        [q1.requestId, 'openai'],
      ]);
      expect(h.context().queue.map((q) => q.requestId)).toEqual([q3.requestId]);
    });

    it('should refuse a waiter whose wait expired with waited and drop it from the queue', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      fill(h);
      const q = h.spawn({ estimatedTokens: 10, waitMs: 60_000 });
      h.tick(T0 + 60_000 - 1);
      expect(h.emittedOf('agent.refused')).toEqual([]);
      h.tick(T0 + 60_000);
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: q.requestId,
          agentId: q.agentId,
          code: 'concurrency-limit',
          retryAfterMs: 1_000,
          waited: true,
        },
      ]);
      expect(h.context().queue).toEqual([]);
    });

    it('should refuse queue-full when the queue is at maxQueue', () => {
      h = createCoordinatorHarness({ limits: SMALL, config: { maxQueue: 1 } });
      fill(h);
      h.spawn({ estimatedTokens: 10, waitMs: 60_000 });
      const r = h.spawn({ estimatedTokens: 10, waitMs: 60_000 });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: r.requestId,
          agentId: r.agentId,
          code: 'queue-full',
          retryAfterMs: 1_000,
          waited: false,
        },
      ]);
      expect(h.context().queue).toHaveLength(1);
    });

    it('should give a freed slot to the waiter, not to a newcomer', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const live = fill(h);
      const waiter = h.spawn({ estimatedTokens: 10, waitMs: 60_000 });
      h.toSession(live[0]!, { type: 'session.release', now: T0 + 1 });
      expect(h.emittedOf('agent.admitted')[3]).toMatchObject({ requestId: waiter.requestId, provider: 'claude' });
      const newcomer = h.spawn({ estimatedTokens: 10, now: T0 + 2 });
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: newcomer.requestId,
          agentId: newcomer.agentId,
          code: 'concurrency-limit',
          retryAfterMs: 1_000,
          waited: false,
        },
      ]);
    });
  });

  describe('session supervisor', () => {
    it('should forget ended sessions so the live set stays bounded after many spawn and release cycles', () => {
      h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000_000_000, maxConcurrent: 5 } } });
      let most = 0;
      const ended: string[] = [];
      for (let cycle = 0; cycle < 300; cycle += 1) {
        const live = [
          h.spawn({ estimatedTokens: 10 }),
          h.spawn({ estimatedTokens: 10 }),
          h.spawn({ estimatedTokens: 10 }),
        ];
        most = Math.max(most, h.supervisedSessions().length);
        for (const s of live) {
          h.toSession(s.sessionId, { type: 'session.usage', tokens: 1, now: T0 });
          h.toSession(s.sessionId, { type: 'session.release', now: T0 });
          ended.push(s.sessionId);
        }
      }
      expect(h.emittedOf('agent.admitted')).toHaveLength(900);
      expect(h.emittedOf('agent.released')).toHaveLength(900);
      expect(most).toBe(3);
      expect(h.supervisedSessions()).toEqual([]);
      expect(ended.filter((id) => h.session(id) !== undefined)).toEqual([]);
      expect(h.counters('claude')).toEqual({ used: 900, reserved: 0, active: 0, overrun: 0 });
    });

    it('should forget a session that ends while it starts', () => {
      h = createCoordinatorHarness({ limits: SMALL, credentials: denyProviders('claude', 'openai') });
      const a = h.spawn({ estimatedTokens: 30 });
      expect(h.emittedOf('agent.released')).toHaveLength(1);
      expect(h.supervisedSessions()).toEqual([]);
      expect(h.session(a.sessionId)).toBeUndefined();
    });

    it('should keep sessions under the supervisor, not as children of the coordinator', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const spawned = [
        h.spawn({ estimatedTokens: 10 }),
        h.spawn({ estimatedTokens: 10 }),
        h.spawn({ estimatedTokens: 10 }),
      ];
      expect(Object.keys(h.actor.getSnapshot().children).sort()).toEqual([
        'clock',
        'credentials',
        'ledger',
        'sessions',
      ]);
      expect(h.supervisedSessions()).toEqual(spawned.map((s) => s.sessionId));
      expect(h.session(spawned[0]!.sessionId)!._parent).toBe(h.context().supervisor);
    });

    it('should stop every live session when the coordinator stops', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      const refs = [h.spawn({ estimatedTokens: 10 }), h.spawn({ estimatedTokens: 10 })].map((s) =>
        h.session(s.sessionId)!,
      );
      h.stop();
      expect(refs.map((r) => r.getSnapshot().status)).toEqual(['stopped', 'stopped']);
    });

    it('should keep secrets out of the persisted snapshot', () => {
      h = createCoordinatorHarness({ limits: SMALL });
      h.spawn({ estimatedTokens: 10 });
      h.spawn({ estimatedTokens: 10, preferredProvider: 'openai' });
      const json = JSON.stringify(h.actor.getPersistedSnapshot());
      expect(json).not.toContain(TEST_KEYS.claude);
      expect(json).not.toContain(TEST_KEYS.openai);
      expect(json).toContain('[REDACTED]');
    });
  });

  describe('definition', () => {
    it('should have a running state and a stopping state', () => {
      expect(Object.keys(coordinatorMachine.states)).toEqual(['running', 'stopping']);
    });
  });
});
