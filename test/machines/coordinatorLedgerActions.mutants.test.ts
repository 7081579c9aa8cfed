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

  it('should refuse a waiter the ledger refuses at its deadline as having waited', () => {
    const h = shared({ dailyLimit: 0, maxConcurrent: 0 });
    const a = h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    h.actor.send(refusal(a.requestId, 'quota-exhausted', T0 + 10_000));
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: a.requestId,
        agentId: a.agentId,
        code: 'quota-exhausted',
        retryAfterMs: 2_000,
        waited: true,
      },
    ]);
    expect(h.emittedOf('agent.queued')).toEqual([]);
    h.stop();
  });

  it('should refuse a waiter at once when the ledger cannot be reached, as not having waited', () => {
    const h = shared();
    const a = h.spawn({ estimatedTokens: 100, waitMs: 10_000 });
    h.actor.send({
      type: 'ledger.reserveAnswered',
      requestId: a.requestId,
      granted: false,
      code: 'ledger-unavailable',
      retryAfterMs: 2_000,
      now: T0 + 5,
    });
    expect(h.emittedOf('agent.refused')).toEqual([
      {
        type: 'agent.refused',
        requestId: a.requestId,
        agentId: a.agentId,
        code: 'ledger-unavailable',
        retryAfterMs: 2_000,
        waited: false,
      },
    ]);
    expect(h.emittedOf('ledger.reserveAsked')).toHaveLength(1);
    expect(h.context()).toMatchObject({ confirming: {}, queue: [], now: T0 + 5 });
    // Nothing learnt from an unreachable ledger: the limits stay as they were.
    expect(h.context().budgets.claude).toMatchObject({ reserved: 0, active: 0, dailyLimit: 1_000, maxConcurrent: 2 });
    h.stop();
  });
});

/**
 * A session on a shared ledger that went 30 tokens beyond its allocation of 100: a top-up of the overage
 * and a fresh share (100 of claude's 1,000, 85 of 300) is asked, and the share is held for it.
 */
function toppingUp(claude = { dailyLimit: 1_000, maxConcurrent: 2 }) {
  const h = createCoordinatorHarness({ limits: { claude }, config: { sharedLedger: true }, now: T0 + 50 });
  const a = h.spawn({ estimatedTokens: 100 });
  h.actor.send({ type: 'ledger.reserveAnswered', requestId: a.requestId, granted: true, now: T0 });
  h.toSession(a.sessionId, { type: 'session.usage', tokens: 130, now: T0 + 1 });
  expect(h.emittedOf('quota.topUpAsked')).toHaveLength(1);
  // The share held: min(estimate, floor(free / 2)).
  expect(h.counters('claude')).toMatchObject({ used: 130, reserved: Math.min(100, (claude.dailyLimit - 130) / 2) });
  const answer = (granted: boolean, now = T0 + 10, stint = 0) =>
    h.actor.send({ type: 'ledger.topUpAnswered', sessionId: a.sessionId, stint, granted, now });
  const allocated = () => h.session(a.sessionId)?.getSnapshot().context.tokens.allocated;
  return { h, a, answer, allocated };
}

describe('coordinator ledger top-up answers (mutation edges)', () => {
  it('should add a granted top-up to the session and ask nothing more', () => {
    const { h, a, answer, allocated } = toppingUp();
    expect(allocated()).toBe(100);
    answer(true);
    expect(allocated()).toBe(230);
    expect(h.emittedOf('quota.topUpAsked')).toHaveLength(1);
    expect(h.emittedOf('quota.overrun')).toEqual([]);
    expect(h.context()).toMatchObject({ topUps: {}, now: T0 + 50 });
    expect(h.counters('claude')).toMatchObject({ used: 130, reserved: 100, overrun: 0 });
    expect(h.supervisedSessions()).toEqual([a.sessionId]);
    h.stop();
  });

  it('should ignore an answer for another stint, changing nothing', () => {
    const { h, answer, allocated } = toppingUp();
    const before = h.context();
    answer(true, T0 + 100, 1);
    expect(allocated()).toBe(100);
    expect(h.context()).toBe(before);
    // The coordinator took it in its stride: the answer for the stint asked still counts.
    expect(h.actor.getSnapshot().status).toBe('active');
    answer(true);
    expect(allocated()).toBe(230);
    h.stop();
  });

  it('should grant the top-up and ask again for usage that went beyond it while waiting', () => {
    const { h, a, answer, allocated } = toppingUp();
    // 150 more, all beyond the allocation: the 100 held cover 100 of it, 50 stay uncovered.
    h.toSession(a.sessionId, { type: 'session.usage', tokens: 150, now: T0 + 2 });
    answer(true);
    expect(allocated()).toBe(230);
    expect(h.emittedOf('quota.topUpAsked').at(-1)).toEqual({
      type: 'quota.topUpAsked',
      sessionId: a.sessionId,
      provider: 'claude',
      stint: 0,
      tokens: 150,
      usedOnProvider: 280,
    });
    expect(h.context().topUps[a.sessionId]).toMatchObject({ asked: 150, extra: 100, uncovered: 0 });
    expect(h.emittedOf('quota.overrun')).toEqual([]);
    h.stop();
  });

  it('should end the session on a refused top-up, report the overrun and admit a waiter the share makes room for', () => {
    const { h, a, answer, allocated } = toppingUp({ dailyLimit: 300, maxConcurrent: 2 });
    // 300 - 130 used - 85 held leaves 85: a waiter of 100 does not fit until the share comes back.
    const waiter = h.spawn({ estimatedTokens: 100, waitMs: 60_000, now: T0 + 5 });
    expect(h.context().queue).toMatchObject([{ requestId: waiter.requestId }]);
    answer(false);
    expect(allocated()).toBeUndefined();
    expect(h.emittedOf('quota.overrun')).toEqual([
      { type: 'quota.overrun', provider: 'claude', sessionId: a.sessionId, overrunTokens: 30 },
    ]);
    expect(h.emittedOf('agent.released')).toMatchObject([
      { output: { sessionId: a.sessionId, reason: 'quota-exhausted' } },
    ]);
    expect(h.emittedOf('quota.topUpAsked')).toHaveLength(1);
    expect(h.context()).toMatchObject({ topUps: {}, queue: [] });
    expect(h.context().confirming[waiter.requestId]).toMatchObject({ provider: 'claude', allocation: 85 });
    h.stop();
  });
});
