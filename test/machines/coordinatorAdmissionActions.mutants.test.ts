/**
 * machines/coordinatorAdmissionActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * a spawn admitted (locally or held for a shared ledger), queued, refused, and the refusals of a stopping
 * coordinator. The coordinator group's tests never stopped the coordinator, never admitted on a shared
 * ledger, and always sent events no older than the coordinator's clock.
 */
import type { CoordinatorConfig } from '../../machines/coordinator.types';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

const LATER = T0 + 1_000;

function coordinator(maxConcurrent: number, config: Partial<CoordinatorConfig> = {}) {
  return createCoordinatorHarness({
    limits: { claude: { dailyLimit: 10_000, maxConcurrent } },
    config: { fallbackChain: ['claude'], ...config },
    now: LATER,
  });
}

describe('coordinator admission actions (mutation edges)', () => {
  it('should count each admission and keep the later time when a spawn arrives with an older one', () => {
    const h = coordinator(2);
    const a = h.spawn({ estimatedTokens: 100, now: T0 });
    expect(h.context()).toMatchObject({ admitted: 1, now: LATER, confirming: {} });
    expect(h.emittedOf('agent.admitted')).toMatchObject([{ requestId: a.requestId, waitedMs: 1_000 }]);
    h.spawn({ estimatedTokens: 100, now: T0 });
    expect(h.context().admitted).toBe(2);
    expect(h.supervisedSessions()).toHaveLength(2);
    h.stop();
  });

  it('should number each queued request and keep the later time when it arrives with an older one', () => {
    const h = coordinator(1);
    h.spawn({ estimatedTokens: 100 });
    const b = h.spawn({ estimatedTokens: 100, waitMs: 5_000, now: T0 });
    expect(h.context()).toMatchObject({ queueSeq: 1, now: LATER, admitted: 1 });
    const c = h.spawn({ estimatedTokens: 100, waitMs: 5_000, now: T0 });
    expect(h.context().queueSeq).toBe(2);
    expect(h.context().queue).toMatchObject([
      { requestId: b.requestId, seq: 0, deadline: T0 + 5_000 },
      { requestId: c.requestId, seq: 1, deadline: T0 + 5_000 },
    ]);
    expect(h.emittedOf('agent.queued')).toMatchObject([
      { requestId: b.requestId, position: 0, code: 'concurrency-limit' },
      { requestId: c.requestId, position: 1, code: 'concurrency-limit' },
    ]);
    h.stop();
  });

  it('should hold a spawn on a shared ledger until the ledger answers, with its deadline and number', () => {
    const h = coordinator(2, { sharedLedger: true });
    const a = h.spawn({ estimatedTokens: 100, waitMs: 5_000, now: T0 + 10 });
    expect(h.emittedOf('ledger.reserveAsked')).toEqual([
      { type: 'ledger.reserveAsked', requestId: a.requestId, sessionId: a.sessionId, provider: 'claude', tokens: 100 },
    ]);
    expect(h.emittedOf('agent.admitted')).toEqual([]);
    expect(h.supervisedSessions()).toEqual([]);
    expect(h.context().confirming[a.requestId]).toMatchObject({
      provider: 'claude',
      allocation: 100,
      request: { requestId: a.requestId, deadline: T0 + 5_010, seq: 0 },
    });
    expect(h.context()).toMatchObject({ queueSeq: 1, admitted: 1, now: LATER });
    expect(h.counters('claude')).toMatchObject({ reserved: 100, active: 1 });
    const b = h.spawn({ estimatedTokens: 100, now: T0 + 20 });
    expect(h.context().confirming[b.requestId]).toMatchObject({ request: { seq: 1, deadline: T0 + 20 } });
    expect(h.context()).toMatchObject({ queueSeq: 2, admitted: 2 });
    h.stop();
  });

  it('should refuse a spawn while stopping, as stopped and without a hint', () => {
    const h = coordinator(2);
    h.actor.send({ type: 'coordinator.stop' });
    const a = h.spawn({ estimatedTokens: 100, waitMs: 5_000 });
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: a.requestId,
        agentId: a.agentId,
        code: 'stopped',
        retryAfterMs: null,
        waited: false,
      },
    ]);
    expect(h.supervisedSessions()).toEqual([]);
    expect(h.context().admitted).toBe(0);
    h.stop();
  });

  it('should refuse every waiting request on stop, as having waited, but not a requeued live session', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 10_000, maxConcurrent: 1 } },
      config: { fallbackChain: ['claude'], failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 },
    });
    const live = h.spawn({ estimatedTokens: 100 });
    const failure = { kind: 'rate-limit', retryAfterMs: 3_000, throttle: 'server' as const };
    h.toSession(live.sessionId, { type: 'session.failure', reason: 'rate-limit', failure, jitter: 0, now: T0 + 10 });
    h.spawn({ estimatedTokens: 100, now: T0 + 20 }); // takes the slot the requeued session left
    const waiter = h.spawn({ estimatedTokens: 100, waitMs: 60_000, now: T0 + 20 });
    expect(h.context().queue.map((q) => q.requestId)).toEqual([`requeue:${live.sessionId}`, waiter.requestId]);
    h.actor.send({ type: 'coordinator.stop' });
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: waiter.requestId,
        agentId: waiter.agentId,
        code: 'stopped',
        retryAfterMs: null,
        waited: true,
      },
    ]);
    expect(h.context().queue).toEqual([]);
    expect(h.actor.getSnapshot().value).toBe('stopping');
    h.stop();
  });
});
