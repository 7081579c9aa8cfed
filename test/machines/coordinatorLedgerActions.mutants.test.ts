/**
 * machines/coordinatorLedgerActions.ts against the mutation run (docs/testing.md "Mutation testing"):
 * the answers of a shared ledger (a reservation granted, refused with room elsewhere, refused for a
 * waiter, refused outright) and new limits from it. The coordinator group's tests never answered for
 * the ledger; the real coordinator and its sessions do here.
 */
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

function shared(openai = { dailyLimit: 1_000, maxConcurrent: 2 }) {
  return createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 }, openai },
    config: { sharedLedger: true },
  });
}

function refusal(requestId: string, code: 'concurrency-limit' | 'quota-exhausted', now = T0 + 5) {
  return { type: 'ledger.reserveAnswered', requestId, granted: false, code, retryAfterMs: 2_000, now } as const;
}

describe('coordinator ledger actions (mutation edges)', () => {
  it('should start a reserved session once the ledger grants it, at the later time', () => {
    const h = shared();
    const a = h.spawn({ estimatedTokens: 100 });
    expect(h.supervisedSessions()).toEqual([]);
    h.actor.send({ type: 'ledger.reserveAnswered', requestId: a.requestId, granted: true, now: T0 + 5 });
    expect(h.supervisedSessions()).toEqual([a.sessionId]);
    expect(h.context()).toMatchObject({ confirming: {}, now: T0 + 5 });
    expect(h.emittedOf('agent.admitted')).toMatchObject([
      { requestId: a.requestId, provider: 'claude', allocatedTokens: 100 },
    ]);
    h.stop();
  });

  it('should ask the ledger for the next provider when it refuses the first', () => {
    const h = shared();
    const a = h.spawn({ estimatedTokens: 100 });
    h.actor.send(refusal(a.requestId, 'concurrency-limit'));
    expect(h.emittedOf('ledger.reserveAsked')).toMatchObject([
      { provider: 'claude' },
      { provider: 'openai', tokens: 100 },
    ]);
    expect(h.context().confirming[a.requestId]).toMatchObject({ provider: 'openai', allocation: 100 });
    expect(h.context().budgets.openai).toMatchObject({ reserved: 100, active: 1 });
    expect(h.context().budgets.claude).toMatchObject({ reserved: 0, active: 0, maxConcurrent: 0 });
    expect(h.context().now).toBe(T0 + 5);
    h.stop();
  });

  it('should put a refused waiter back in the queue and say why', () => {
    const h = shared({ dailyLimit: 0, maxConcurrent: 0 });
    const a = h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    h.actor.send(refusal(a.requestId, 'concurrency-limit'));
    expect(h.emittedOf('agent.queued').at(-1)).toEqual({
      type: 'agent.queued',
      requestId: a.requestId,
      agentId: a.agentId,
      position: 0,
      code: 'concurrency-limit',
    });
    expect(h.context().queue).toMatchObject([{ requestId: a.requestId }]);
    expect(h.context().confirming).toEqual({});
    h.stop();
  });

  it('should refuse a request that cannot wait with the ledger code and hint', () => {
    const h = shared({ dailyLimit: 0, maxConcurrent: 0 });
    const a = h.spawn({ estimatedTokens: 100 });
    h.actor.send(refusal(a.requestId, 'quota-exhausted'));
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: a.requestId,
        agentId: a.agentId,
        code: 'quota-exhausted',
        retryAfterMs: 2_000,
        waited: false,
      },
    ]);
    expect(h.context()).toMatchObject({ confirming: {}, queue: [] });
    expect(h.context().budgets.claude).toMatchObject({ reserved: 0, active: 0 });
    h.stop();
  });

  it('should take the limits the ledger gives and admit a waiter they make room for', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } } });
    h.spawn({ estimatedTokens: 100 });
    const b = h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    h.actor.send({
      type: 'ledger.limits',
      limits: { claude: { dailyLimit: 800, maxConcurrent: 2 }, openai: { dailyLimit: 300, maxConcurrent: 1 } },
      now: T0 + 7,
    });
    expect(h.context().budgets.claude).toMatchObject({ dailyLimit: 800, maxConcurrent: 2, active: 2 });
    expect(h.context().budgets.openai).toMatchObject({ dailyLimit: 300, maxConcurrent: 1 });
    expect(h.context()).toMatchObject({ queue: [], now: T0 + 7 });
    expect(h.emittedOf('agent.admitted').map((e) => e.requestId)).toContain(b.requestId);
    h.stop();
  });
});
