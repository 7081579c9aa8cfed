import { agentSessionMachine } from '../../machines/agentSession.machine';
import type { Secret } from '../../machines/secret';
import { HOUR, T0, TEST_KEYS, authResultFor, createSessionHarness, denyProviders } from '../helpers/machineHarness';

const LEASE = 2 * HOUR;

describe('agentSessionMachine', () => {
  describe('authenticating', () => {
    it('should ask the credentials actor for the assigned provider on start', () => {
      const h = createSessionHarness({ credentials: () => 'hold' });
      expect(h.credentialRequests).toEqual([
        {
          type: 'credentials.request',
          provider: 'claude',
          sessionId: 'session-1',
          agentId: 'agent-1',
          allocatedTokens: 1_000,
          stint: 0,
        },
      ]);
      expect(h.snapshot().value).toBe('authenticating');
      expect(h.snapshot().context.env).toEqual({});
      expect(h.notices).toEqual([]);
      h.stop();
    });

    it('should become active with the provider env and tell the coordinator', () => {
      const h = createSessionHarness();
      const s = h.snapshot();
      expect(s.value).toBe('active');
      expect(s.context.env).toEqual({
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:1/claude',
        AGENTVISOR_SESSION_ID: 'session-1',
        AGENTVISOR_AGENT_ID: 'agent-1',
      });
      expect(Object.keys(s.context.secretEnv).sort()).toEqual(['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY']);
      expect(s.context.secretEnv.ANTHROPIC_API_KEY?.reveal()).toBe(TEST_KEYS.claude);
      expect(s.context.credential).toEqual({ source: 'test:claude', hint: '…0001' });
      expect(h.notices).toEqual([
        { type: 'session.activated', sessionId: 'session-1', agentId: 'agent-1', provider: 'claude' },
      ]);
      h.stop();
    });

    it('should never put a secret in its serialised snapshot', () => {
      const h = createSessionHarness();
      const json = JSON.stringify(h.session.getPersistedSnapshot());
      expect(json).not.toContain(TEST_KEYS.claude);
      expect(json).toContain('[REDACTED]');
      h.stop();
    });

    it('should ignore a late credentials answer for another provider', () => {
      const h = createSessionHarness({ credentials: () => 'hold' });
      h.send({ type: 'credentials.granted', provider: 'openai', result: authResultFor('openai') });
      h.send({ type: 'credentials.denied', provider: 'openai', code: 'auth-failed', message: 'late' });
      expect(h.snapshot().value).toBe('authenticating');
      expect(h.snapshot().context.secretEnv).toEqual({});
      h.send({ type: 'credentials.granted', provider: 'claude', result: authResultFor('claude') });
      expect(h.snapshot().value).toBe('active');
      h.stop();
    });

    it('should fall back when the credentials are denied and another provider is left', () => {
      const h = createSessionHarness({ credentials: denyProviders('claude') });
      expect(h.snapshot().value).toBe('fallingBack');
      expect(h.noticesOf('session.fallbackRequested')).toEqual([
        {
          type: 'session.fallbackRequested',
          sessionId: 'session-1',
          agentId: 'agent-1',
          from: 'claude',
          returnedTokens: 1_000,
          usedOnProvider: 0,
          stint: 0,
          candidates: ['openai'],
          estimatedTokens: 1_000,
          reason: 'auth-failed',
          notBefore: null,
          now: T0,
        },
      ]);
      expect(h.snapshot().context.holdsSlot).toBe(false);
      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 600 });
      const s = h.snapshot();
      expect(s.value).toBe('active');
      expect(s.context.provider).toBe('openai');
      expect(s.context.tokens).toEqual({ allocated: 600, usedOnProvider: 0, used: 0, returned: 1_000 });
      expect(s.context.fallbacks).toEqual([{ from: 'claude', to: 'openai', reason: 'auth-failed' }]);
      expect(h.credentialRequests.map((r) => r.provider)).toEqual(['claude', 'openai']);
      h.stop();
    });

    it('should end with auth-failed when the credentials are denied and no provider is left', () => {
      const h = createSessionHarness({ input: { fallbackProviders: [] }, credentials: denyProviders('claude') });
      const s = h.snapshot();
      expect(s.status).toBe('done');
      expect(s.output).toEqual({
        sessionId: 'session-1',
        agentId: 'agent-1',
        provider: 'claude',
        usedTokens: 0,
        returnedTokens: 1_000,
        returnedOnProvider: 1_000,
        usedOnProvider: 0,
        stint: 0,
        heldSlot: true,
        fallbacks: [],
        reason: 'auth-failed',
        error: { code: 'auth-failed', message: 'no credentials for claude' },
        endedAt: T0,
      });
      expect(h.noticesOf('session.activated')).toEqual([]);
      expect(h.noticesOf('session.ended')).toHaveLength(1);
      h.stop();
    });

    it('should end with auth-failed when maxFallbacks is 0 even if providers are left', () => {
      const h = createSessionHarness({ input: { maxFallbacks: 0 }, credentials: denyProviders('claude') });
      expect(h.snapshot().output?.reason).toBe('auth-failed');
      expect(h.noticesOf('session.fallbackRequested')).toEqual([]);
      h.stop();
    });
  });

  describe('usage', () => {
    it('should count usage within the allocation and report it as within', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 300, now: T0 + 10 });
      h.send({ type: 'session.usage', tokens: 200, now: T0 + 20 });
      expect(h.snapshot().context.tokens).toEqual({ allocated: 1_000, usedOnProvider: 500, used: 500, returned: 0 });
      expect(h.noticesOf('session.usageReported')).toEqual([
        {
          type: 'session.usageReported',
          sessionId: 'session-1',
          provider: 'claude',
          tokens: 300,
          withinTokens: 300,
          estimatedTokens: 1_000,
          stint: 0,
          usedOnProvider: 300,
          now: T0 + 10,
        },
        {
          type: 'session.usageReported',
          sessionId: 'session-1',
          provider: 'claude',
          tokens: 200,
          withinTokens: 200,
          estimatedTokens: 1_000,
          stint: 0,
          usedOnProvider: 500,
          now: T0 + 20,
        },
      ]);
      expect(h.snapshot().value).toBe('active');
      h.stop();
    });

    it('should report only what is left of the allocation as within when usage goes beyond it', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 900, now: T0 });
      h.send({ type: 'session.usage', tokens: 250, now: T0 });
      h.send({ type: 'session.usage', tokens: 40, now: T0 });
      expect(h.noticesOf('session.usageReported').map((n) => [n.tokens, n.withinTokens])).toEqual([
        [900, 900],
        [250, 100],
        [40, 0],
      ]);
      expect(h.snapshot().context.tokens.used).toBe(1_190);
      h.stop();
    });

    it('should add a top-up to the allocation', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 1_200, now: T0 });
      h.send({ type: 'session.toppedUp', tokens: 700 });
      expect(h.snapshot().context.tokens).toEqual({
        allocated: 1_700,
        usedOnProvider: 1_200,
        used: 1_200,
        returned: 0,
      });
      h.send({ type: 'session.release', now: T0 + 5 });
      expect(h.snapshot().output).toMatchObject({
        usedTokens: 1_200,
        returnedTokens: 500,
        returnedOnProvider: 500,
        reason: 'released',
        error: null,
        endedAt: T0 + 5,
      });
      h.stop();
    });

    it('should end with quota-exhausted and nothing to return when a top-up is refused', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 1_300, now: T0 + 1 });
      h.send({ type: 'session.topUpRefused', overrunTokens: 300 });
      const s = h.snapshot();
      expect(s.status).toBe('done');
      expect(s.context.tokens.allocated).toBe(1_300);
      expect(s.context.outcome).toEqual({
        reason: 'quota-exhausted',
        error: { code: 'quota-exhausted', message: expect.stringContaining('daily budget has no room') },
        overrunTokens: 300,
      });
      expect(s.output).toMatchObject({
        usedTokens: 1_300,
        returnedTokens: 0,
        returnedOnProvider: 0,
        heldSlot: true,
        reason: 'quota-exhausted',
      });
      expect(s.context.env).toEqual({});
      expect(s.context.secretEnv).toEqual({});
      h.stop();
    });
  });

  describe('release', () => {
    it('should end with the used and returned tokens and tell the coordinator once', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 420, now: T0 + 1_000 });
      h.send({ type: 'session.release', now: T0 + 2_000 });
      h.send({ type: 'session.release', now: T0 + 3_000 });
      const ended = h.noticesOf('session.ended');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.output).toEqual({
        sessionId: 'session-1',
        agentId: 'agent-1',
        provider: 'claude',
        usedTokens: 420,
        returnedTokens: 580,
        returnedOnProvider: 580,
        usedOnProvider: 420,
        stint: 0,
        heldSlot: true,
        fallbacks: [],
        reason: 'released',
        error: null,
        endedAt: T0 + 2_000,
      });
      expect(h.snapshot().output).toEqual(ended[0]!.output);
      expect(h.snapshot().context.env).toEqual({});
      h.stop();
    });

    it('should take the reason stopped from the release command', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.release', now: T0, reason: 'stopped' });
      expect(h.snapshot().output?.reason).toBe('stopped');
      h.stop();
    });

    it('should release while still authenticating and return the whole allocation', () => {
      const h = createSessionHarness({ credentials: () => 'hold' });
      h.send({ type: 'session.release', now: T0 + 7 });
      expect(h.snapshot().output).toMatchObject({
        usedTokens: 0,
        returnedTokens: 1_000,
        returnedOnProvider: 1_000,
        heldSlot: true,
        reason: 'released',
      });
      expect(h.noticesOf('session.activated')).toEqual([]);
      h.stop();
    });
  });

  describe('fallingBack', () => {
    it('should return the unused allocation, clear the env, then run on the next provider without the old secret', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 250, now: T0 + 1 });
      h.send({ type: 'session.failure', reason: 'overloaded', now: T0 + 2 });
      let s = h.snapshot();
      expect(s.value).toBe('fallingBack');
      expect(s.context.env).toEqual({});
      expect(s.context.secretEnv).toEqual({});
      expect(s.context.holdsSlot).toBe(false);
      expect(s.context.tokens).toEqual({ allocated: 1_000, usedOnProvider: 250, used: 250, returned: 750 });
      expect(h.noticesOf('session.fallbackRequested')).toEqual([
        {
          type: 'session.fallbackRequested',
          sessionId: 'session-1',
          agentId: 'agent-1',
          from: 'claude',
          returnedTokens: 750,
          usedOnProvider: 250,
          stint: 0,
          candidates: ['openai'],
          estimatedTokens: 1_000,
          reason: 'overloaded',
          notBefore: null,
          now: T0 + 2,
        },
      ]);

      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 400 });
      s = h.snapshot();
      expect(s.value).toBe('active');
      expect(s.context.provider).toBe('openai');
      expect(s.context.fallbackProviders).toEqual([]);
      expect(s.context.sessionId).toBe('session-1');
      expect(s.context.agentId).toBe('agent-1');
      expect(s.context.tokens).toEqual({ allocated: 400, usedOnProvider: 0, used: 250, returned: 750 });
      expect(s.context.fallbacks).toEqual([{ from: 'claude', to: 'openai', reason: 'overloaded' }]);
      expect(Object.keys(s.context.secretEnv)).toEqual(['OPENAI_API_KEY']);
      expect(s.context.env).toEqual({
        OPENAI_BASE_URL: 'http://127.0.0.1:1/openai',
        AGENTVISOR_SESSION_ID: 'session-1',
        AGENTVISOR_AGENT_ID: 'agent-1',
      });
      const revealed = Object.values(s.context.secretEnv).map((v: Secret) => v.reveal());
      expect(revealed).toEqual([TEST_KEYS.openai]);
      expect(h.noticesOf('session.activated').map((n) => n.provider)).toEqual(['claude', 'openai']);

      h.send({ type: 'session.usage', tokens: 100, now: T0 + 3 });
      h.send({ type: 'session.release', now: T0 + 4 });
      expect(h.snapshot().output).toMatchObject({
        provider: 'openai',
        usedTokens: 350,
        returnedTokens: 750 + 300,
        returnedOnProvider: 300,
        usedOnProvider: 100,
        stint: 1,
        heldSlot: true,
        fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
        reason: 'released',
      });
      h.stop();
    });

    it('should end with no-provider and no slot held when the fallback is refused', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.failure', reason: 'server', now: T0 + 9 });
      h.send({ type: 'session.fallbackRefused', code: 'no-provider', message: 'nothing left' });
      expect(h.snapshot().output).toEqual({
        sessionId: 'session-1',
        agentId: 'agent-1',
        provider: 'claude',
        usedTokens: 0,
        returnedTokens: 1_000,
        returnedOnProvider: 0,
        usedOnProvider: 0,
        stint: 0,
        heldSlot: false,
        fallbacks: [],
        reason: 'no-provider',
        error: { code: 'no-provider', message: 'nothing left' },
        endedAt: T0 + 9,
      });
      h.stop();
    });

    it('should end failed with no-provider when a failure arrives and no fallback is left', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.failure', reason: 'rate-limit', now: T0 + 1 });
      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 400 });
      h.send({ type: 'session.failure', reason: 'server', now: T0 + 2 });
      const s = h.snapshot();
      expect(s.status).toBe('done');
      expect(s.output).toMatchObject({
        provider: 'openai',
        reason: 'failed',
        error: { code: 'no-provider', message: 'the provider failed (server) and no fallback provider is left' },
        returnedTokens: 1_000 + 400,
        returnedOnProvider: 400,
        usedOnProvider: 0,
        stint: 1,
        heldSlot: true,
      });
      expect(h.noticesOf('session.fallbackRequested')).toHaveLength(1);
      h.stop();
    });

    it('should drop a skipped provider from the chain when the coordinator admits a later one', () => {
      const h = createSessionHarness({ input: { fallbackProviders: ['openai', 'claude'], maxFallbacks: 2 } });
      h.send({ type: 'session.failure', reason: 'auth', now: T0 });
      h.send({ type: 'session.fallbackAdmitted', provider: 'claude', allocatedTokens: 10 });
      expect(h.snapshot().context.fallbackProviders).toEqual([]);
      h.stop();
    });
  });

  describe('lease', () => {
    it('should not expire on a sweep before the lease ends', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.sweep', now: T0 + LEASE - 1 });
      expect(h.snapshot().value).toBe('active');
      h.stop();
    });

    it('should expire on a sweep at the end of the lease', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 10, now: T0 });
      h.send({ type: 'session.sweep', now: T0 + LEASE });
      expect(h.snapshot().output).toMatchObject({
        reason: 'expired',
        error: { code: 'allocation-expired', message: 'the allocation lease expired with no activity' },
        usedTokens: 10,
        returnedTokens: 990,
        endedAt: T0 + LEASE,
      });
      h.stop();
    });

    it('should renew the lease on usage', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 10, now: T0 + HOUR });
      expect(h.snapshot().context.expiresAt).toBe(T0 + HOUR + LEASE);
      h.send({ type: 'session.sweep', now: T0 + LEASE });
      expect(h.snapshot().value).toBe('active');
      h.send({ type: 'session.sweep', now: T0 + HOUR + LEASE });
      expect(h.snapshot().output?.reason).toBe('expired');
      h.stop();
    });

    it('should renew the lease on a heartbeat without counting usage, and never shorten it', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.heartbeat', now: T0 + HOUR });
      expect(h.snapshot().context.expiresAt).toBe(T0 + HOUR + LEASE);
      expect(h.snapshot().context.tokens.used).toBe(0);
      h.send({ type: 'session.heartbeat', now: T0 });
      expect(h.snapshot().context.expiresAt).toBe(T0 + HOUR + LEASE);
      h.send({ type: 'session.sweep', now: T0 + LEASE });
      expect(h.snapshot().value).toBe('active');
      h.send({ type: 'session.sweep', now: T0 + HOUR + LEASE });
      expect(h.snapshot().output?.reason).toBe('expired');
      h.stop();
    });

    it('should expire a session that is still authenticating', () => {
      const h = createSessionHarness({ credentials: () => 'hold' });
      h.send({ type: 'session.sweep', now: T0 + LEASE });
      expect(h.snapshot().output).toMatchObject({ reason: 'expired', returnedTokens: 1_000 });
      h.stop();
    });
  });

  describe('definition', () => {
    it('should have the states authenticating, reserving, active, fallingBack and released', () => {
      expect(Object.keys(agentSessionMachine.states)).toEqual([
        'authenticating',
        'reserving',
        'active',
        'fallingBack',
        'released',
      ]);
      expect(agentSessionMachine.states.released!.type).toBe('final');
    });
  });
});
