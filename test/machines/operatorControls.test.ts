/**
 * The coordinator's part of the operator controls: a request's `allowedProviders` (provider
 * switches and canaries, decided by the host) bounds admission and the session's fallback chain;
 * `provider.exhausted` (a provider-reported limit) pauses admission onto a provider until its reset.
 */
import { admissionCandidates, onlyAllowed } from '../../machines/admissionQueue';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';
import type { CoordinatorHarness } from '../helpers/machineHarness';

const LIMITS = {
  claude: { dailyLimit: 1_000, maxConcurrent: 2 },
  openai: { dailyLimit: 1_000, maxConcurrent: 2 },
} as const;

describe('coordinator operator controls', () => {
  let h: CoordinatorHarness;
  afterEach(() => h?.stop());

  describe('admissionCandidates with allowedProviders', () => {
    it('should drop providers outside the allowed list, keeping the order', () => {
      const chain = ['claude', 'openai'] as const;
      expect(admissionCandidates(chain, { preferredProvider: null, onlyPreferred: false })).toEqual([
        'claude',
        'openai',
      ]);
      expect(
        admissionCandidates(chain, { preferredProvider: 'claude', onlyPreferred: false, allowedProviders: ['openai'] }),
      ).toEqual(['openai']);
      expect(
        admissionCandidates(chain, { preferredProvider: 'claude', onlyPreferred: true, allowedProviders: ['openai'] }),
      ).toEqual([]);
      expect(onlyAllowed(['openai', 'claude'], undefined)).toEqual(['openai', 'claude']);
      expect(onlyAllowed(['openai', 'claude'], [])).toEqual([]);
    });
  });

  describe('agent.spawn with allowedProviders', () => {
    it('should admit on an allowed provider only and give the session no fallback outside the list', () => {
      h = createCoordinatorHarness({ limits: LIMITS });
      const a = h.spawn({ estimatedTokens: 100, allowedProviders: ['openai'] });
      expect(h.emittedOf('agent.admitted')).toMatchObject([
        { sessionId: a.sessionId, provider: 'openai', allocatedTokens: 100 },
      ]);
      expect(h.session(a.sessionId)!.getSnapshot().context.fallbackProviders).toEqual([]);
      const b = h.spawn({ estimatedTokens: 100 });
      expect(h.session(b.sessionId)!.getSnapshot().context.fallbackProviders).toEqual(['openai']);
    });

    it('should refuse no-provider at once, without queueing, when no provider is allowed', () => {
      h = createCoordinatorHarness({ limits: LIMITS });
      const a = h.spawn({ estimatedTokens: 100, allowedProviders: [], waitMs: 60_000 });
      expect(h.emittedOf('agent.queued')).toEqual([]);
      expect(h.emittedOf('agent.refused')).toEqual([
        {
          type: 'agent.refused',
          requestId: a.requestId,
          agentId: a.agentId,
          code: 'no-provider',
          retryAfterMs: null,
          waited: false,
        },
      ]);
      expect(h.context().queue).toEqual([]);
    });

    it('should keep a queued request off providers outside its list when capacity frees', () => {
      h = createCoordinatorHarness({
        limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 }, openai: { dailyLimit: 1_000, maxConcurrent: 1 } },
      });
      const first = h.spawn({ estimatedTokens: 100, preferredProvider: 'claude', onlyPreferred: true });
      const waiting = h.spawn({ estimatedTokens: 100, allowedProviders: ['claude'], waitMs: 60_000 });
      expect(h.emittedOf('agent.queued')).toMatchObject([{ requestId: waiting.requestId, code: 'concurrency-limit' }]);
      // openai is free, but not for this request.
      h.spawn({ estimatedTokens: 100, preferredProvider: 'openai', onlyPreferred: true });
      expect(h.context().queue.map((q) => q.requestId)).toEqual([waiting.requestId]);
      h.toSession(first.sessionId, { type: 'session.release', now: T0 + 1 });
      expect(h.emittedOf('agent.admitted').map((e) => [e.requestId, e.provider])).toEqual([
        [first.requestId, 'claude'],
        [`r-3`, 'openai'],
        [waiting.requestId, 'claude'],
      ]);
    });
  });

  describe('provider.exhausted', () => {
    it('should pause admission onto the provider until the reported reset, then resume on the clock.tick at that time', () => {
      h = createCoordinatorHarness({ limits: LIMITS });
      h.actor.send({
        type: 'provider.exhausted',
        provider: 'claude',
        until: T0 + 30_000,
        reason: 'reported-limit',
        now: T0,
      });
      expect(h.emittedOf('provider.paused')).toEqual([
        { type: 'provider.paused', provider: 'claude', until: T0 + 30_000, reason: 'reported-limit' },
      ]);
      const a = h.spawn({ estimatedTokens: 100, now: T0 + 1_000 });
      expect(h.emittedOf('agent.admitted')).toMatchObject([{ requestId: a.requestId, provider: 'openai' }]);
      const waiting = h.spawn({
        estimatedTokens: 100,
        preferredProvider: 'claude',
        onlyPreferred: true,
        waitMs: 60_000,
        now: T0 + 2_000,
      });
      expect(h.emittedOf('agent.queued')).toMatchObject([{ requestId: waiting.requestId, code: 'no-provider' }]);
      h.tick(T0 + 30_000 - 1);
      expect(h.emittedOf('provider.resumed')).toEqual([]);
      h.tick(T0 + 30_000);
      expect(h.emittedOf('provider.resumed')).toEqual([{ type: 'provider.resumed', provider: 'claude' }]);
      expect(h.emittedOf('agent.admitted').map((e) => [e.requestId, e.provider])).toEqual([
        [a.requestId, 'openai'],
        [waiting.requestId, 'claude'],
      ]);
    });

    it('should ignore a reset that is already past, and never shorten a longer pause', () => {
      h = createCoordinatorHarness({ limits: LIMITS });
      h.actor.send({ type: 'provider.exhausted', provider: 'openai', until: T0, reason: 'reported-limit', now: T0 });
      expect(h.emittedOf('provider.paused')).toEqual([]);
      h.actor.send({
        type: 'provider.exhausted',
        provider: 'openai',
        until: T0 + 60_000,
        reason: 'reported-limit',
        now: T0,
      });
      h.actor.send({
        type: 'provider.exhausted',
        provider: 'openai',
        until: T0 + 10_000,
        reason: 'reported-limit',
        now: T0,
      });
      expect(h.emittedOf('provider.paused').map((e) => e.until)).toEqual([T0 + 60_000]);
      expect(h.context().health.openai.pausedUntil).toBe(T0 + 60_000);
    });
  });
});
