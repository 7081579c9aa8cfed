import { candidatesFor, enqueueOrdered, planDrain } from '../../machines/admissionQueue';
import { withBudget } from '../../machines/budget';
import type { QueuedRequest } from '../../machines/coordinator.types';
import { T0, budgetsOf } from '../helpers/machineHarness';

let seq = 0;
function queued(patch: Partial<QueuedRequest> & { requestId: string }): QueuedRequest {
  seq += 1;
  return {
    sessionId: `s-${patch.requestId}`,
    agentId: `a-${patch.requestId}`,
    estimatedTokens: 10,
    preferredProvider: null,
    onlyPreferred: false,
    waitMs: 60_000,
    priority: 0,
    now: T0,
    deadline: T0 + 60_000,
    seq,
    ...patch,
  };
}

function ids(queue: readonly QueuedRequest[]): string[] {
  return queue.map((q) => q.requestId);
}

describe('admissionQueue', () => {
  describe('candidatesFor', () => {
    it('should put the preferred provider first, then the chain in order', () => {
      expect(candidatesFor(['claude', 'openai'], null)).toEqual(['claude', 'openai']);
      expect(candidatesFor(['claude', 'openai'], 'openai')).toEqual(['openai', 'claude']);
      expect(candidatesFor(['openai'], 'claude')).toEqual(['claude', 'openai']);
      expect(candidatesFor([], null)).toEqual([]);
    });
  });

  describe('enqueueOrdered', () => {
    it('should order by priority, then by arrival', () => {
      let q: readonly QueuedRequest[] = [];
      q = enqueueOrdered(q, queued({ requestId: 'a', priority: 0 }));
      q = enqueueOrdered(q, queued({ requestId: 'b', priority: 5 }));
      q = enqueueOrdered(q, queued({ requestId: 'c', priority: 0 }));
      q = enqueueOrdered(q, queued({ requestId: 'd', priority: 5 }));
      q = enqueueOrdered(q, queued({ requestId: 'e', priority: -1 }));
      q = enqueueOrdered(q, queued({ requestId: 'f', priority: 10 }));
      expect(ids(q)).toEqual(['f', 'b', 'd', 'a', 'c', 'e']);
    });

    it('should not change the queue it is given', () => {
      const q = [queued({ requestId: 'a' })];
      enqueueOrdered(q, queued({ requestId: 'b', priority: 9 }));
      expect(ids(q)).toEqual(['a']);
    });
  });

  describe('planDrain', () => {
    const budgets = budgetsOf({
      claude: { dailyLimit: 100, maxConcurrent: 2 },
      openai: { dailyLimit: 50, maxConcurrent: 1 },
    });

    it('should admit in queue order through the admission rule and reserve as it goes', () => {
      const q = [
        queued({ requestId: 'a', estimatedTokens: 30 }),
        queued({ requestId: 'b', estimatedTokens: 30 }),
        queued({ requestId: 'c', estimatedTokens: 30 }),
        queued({ requestId: 'd', estimatedTokens: 30 }),
      ];
      const plan = planDrain(budgets, q, ['claude', 'openai']);
      expect(plan.admitted.map((a) => [a.request.requestId, a.provider, a.allocation])).toEqual([
        ['a', 'claude', 30],
        ['b', 'claude', 30],
        ['c', 'openai', 25],
      ]);
      expect(ids(plan.queue)).toEqual(['d']);
      expect(plan.budgets.claude).toMatchObject({ reserved: 60, active: 2 });
      expect(plan.budgets.openai).toMatchObject({ reserved: 25, active: 1 });
    });

    it('should let a later request in when an earlier one does not fit yet', () => {
      const tight = withBudget(withBudget(budgets, 'claude', { used: 70 }), 'openai', { dailyLimit: 0 });
      const q = [
        queued({ requestId: 'big', estimatedTokens: 40 }),
        queued({ requestId: 'small', estimatedTokens: 10 }),
      ];
      const plan = planDrain(tight, q, ['claude', 'openai']);
      expect(plan.admitted.map((a) => [a.request.requestId, a.allocation])).toEqual([['small', 10]]);
      expect(ids(plan.queue)).toEqual(['big']);
    });

    it('should return the same budgets and queue when nothing fits', () => {
      const full = withBudget(withBudget(budgets, 'claude', { active: 2 }), 'openai', { active: 1 });
      const q = [queued({ requestId: 'a' })];
      const plan = planDrain(full, q, ['claude', 'openai']);
      expect(plan.budgets).toBe(full);
      expect(plan.queue).toBe(q);
      expect(plan.admitted).toEqual([]);
    });

    it('should honour the preferred provider of a waiting request', () => {
      const plan = planDrain(
        budgets,
        [queued({ requestId: 'a', estimatedTokens: 30, preferredProvider: 'openai' })],
        ['claude', 'openai'],
      );
      expect(plan.admitted.map((a) => [a.provider, a.allocation])).toEqual([['openai', 25]]);
    });
  });
});
