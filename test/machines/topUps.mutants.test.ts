/**
 * machines/topUps.ts against the mutation run (docs/testing.md "Mutation testing"): the pending
 * top-ups of a shared ledger. The machine tests reach these functions only through a shared-ledger
 * coordinator (the ledger model test, outside the fast runs), so each branch is pinned here, with
 * whole outcomes so that a changed field or a dropped entry fails.
 */
import type { Budgets } from '../../machines/budget';
import { withBudget } from '../../machines/budget';
import { answerTopUp, dropTopUp, recordSharedUsage } from '../../machines/topUps';
import type { PendingTopUp, PendingTopUps, SharedUsage } from '../../machines/topUps';
import { budgetsOf } from '../helpers/machineHarness';

const LIMITS = budgetsOf({
  claude: { dailyLimit: 100, maxConcurrent: 2 },
  openai: { dailyLimit: 50, maxConcurrent: 1 },
});

/** claude with `used` and `reserved` set, the other providers untouched. */
function claude(used: number, reserved: number, overrun = 0): Budgets {
  return withBudget(LIMITS, 'claude', { used, reserved, overrun });
}

function usage(patch: Partial<SharedUsage>): SharedUsage {
  return {
    sessionId: 's1',
    provider: 'claude',
    stint: 1,
    tokens: 10,
    withinTokens: 10,
    estimate: 30,
    usedOnProvider: 10,
    ...patch,
  };
}

function pending(patch: Partial<PendingTopUp>): PendingTopUp {
  return {
    provider: 'claude',
    stint: 1,
    asked: 25,
    extra: 15,
    uncovered: 0,
    estimate: 30,
    usedOnProvider: 20,
    ...patch,
  };
}

describe('topUps (mutation edges)', () => {
  describe('recordSharedUsage', () => {
    it('should count usage within the allocation and ask nothing', () => {
      const topUps: PendingTopUps = { s2: pending({}) };
      const out = recordSharedUsage(claude(0, 30), topUps, usage({ tokens: 20, withinTokens: 20 }));
      expect(out).toEqual({ budgets: claude(20, 10), topUps, ask: null, overrun: 0 });
      expect(out.topUps).toBe(topUps);
      expect(out.budgets.openai).toBe(LIMITS.openai);
    });

    it('should ask for the overage plus min(estimate, floor(free / 2)) and reserve the extra', () => {
      // claude: reserved 30; the session used its 30 and 10 more: used 40, reserved 0, free 60, extra min(30, 30).
      const out = recordSharedUsage(claude(0, 30), {}, usage({ tokens: 40, withinTokens: 30, usedOnProvider: 40 }));
      const asked: PendingTopUp = {
        provider: 'claude',
        stint: 1,
        estimate: 30,
        usedOnProvider: 40,
        asked: 40,
        extra: 30,
        uncovered: 0,
      };
      expect(out).toEqual({ budgets: claude(40, 30), topUps: { s1: asked }, ask: 40, overrun: 0 });
    });

    it('should ask with a free window of exactly 0: the overage alone', () => {
      // limit 100: used 70 + 30 more, 0 within, reserved 0: free 0, extra 0.
      const out = recordSharedUsage(claude(70, 0), {}, usage({ tokens: 30, withinTokens: 0, estimate: 30 }));
      expect(out.ask).toBe(30);
      expect(out.overrun).toBe(0);
      expect(out.topUps.s1).toMatchObject({ asked: 30, extra: 0, uncovered: 0 });
      expect(out.budgets).toEqual(claude(100, 0));
    });

    it('should count an overage beyond the window as overrun and ask nothing', () => {
      // used 90 + 20 (0 within), reserved 5: free -15; the whole overage of 20 is reported, 15 of it is new overrun.
      const out = recordSharedUsage(claude(90, 5, 3), {}, usage({ tokens: 20, withinTokens: 0 }));
      expect(out).toEqual({ budgets: claude(110, 5, 3 + 15), topUps: {}, ask: null, overrun: 20 });
    });

    it('should let a pending top-up absorb a new overage from its extra, the rest left uncovered', () => {
      const topUps: PendingTopUps = { s1: pending({ extra: 15 }), s2: pending({ stint: 2 }) };
      // 30 tokens, 10 within: overage 20, 15 absorbed by the extra, 5 uncovered.
      const out = recordSharedUsage(claude(0, 40), topUps, usage({ tokens: 30, withinTokens: 10, usedOnProvider: 50 }));
      expect(out).toEqual({
        budgets: claude(30, 40 - 10 - 15),
        topUps: { s1: pending({ extra: 0, uncovered: 5, usedOnProvider: 50 }), s2: pending({ stint: 2 }) },
        ask: null,
        overrun: 0,
      });
    });

    it('should let a pending top-up absorb a small overage whole', () => {
      const topUps: PendingTopUps = { s1: pending({ extra: 15, uncovered: 2 }) };
      const out = recordSharedUsage(claude(0, 40), topUps, usage({ tokens: 14, withinTokens: 10 }));
      expect(out.topUps.s1).toEqual(pending({ extra: 11, uncovered: 2, usedOnProvider: 10 }));
      expect(out.budgets).toEqual(claude(14, 40 - 10 - 4));
    });
  });

  describe('answerTopUp', () => {
    const topUps: PendingTopUps = { s1: pending({ asked: 25, extra: 15, uncovered: 4 }), s2: pending({ stint: 2 }) };

    it('should ignore an answer for no pending top-up or for another stint', () => {
      expect(answerTopUp(claude(0, 40), topUps, 's3', 1, true)).toBeNull();
      expect(answerTopUp(claude(0, 40), topUps, 's1', 2, true)).toBeNull();
    });

    it('should on a refusal return the extra and count the asked overage and the uncovered part as overrun', () => {
      const out = answerTopUp(claude(0, 40, 1), topUps, 's1', 1, false);
      // beyond = asked 25 - extra 15 + uncovered 4 = 14.
      expect(out).toEqual({
        budgets: claude(0, 25, 1 + 14),
        topUps: { s2: pending({ stint: 2 }) },
        grant: 0,
        ask: null,
        overrun: 14,
      });
    });

    it('should on a grant with nothing uncovered grant what was asked and leave the budgets', () => {
      const budgets = claude(0, 40);
      const out = answerTopUp(budgets, { s1: pending({ asked: 25, uncovered: 0 }) }, 's1', 1, true);
      expect(out).toEqual({ budgets, topUps: {}, grant: 25, ask: null, overrun: 0 });
      expect(out?.budgets).toBe(budgets);
    });

    it('should on a grant ask again for what the extra could not cover', () => {
      // used 20, reserved 40: free 40; ask again for uncovered 4 plus min(30, 20).
      const out = answerTopUp(claude(20, 40), topUps, 's1', 1, true);
      const again = pending({ asked: 4 + 20, extra: 20, uncovered: 0 });
      expect(out).toEqual({
        budgets: claude(20, 60),
        topUps: { s2: pending({ stint: 2 }), s1: again },
        grant: 25,
        ask: 24,
        overrun: 0,
      });
    });
  });

  describe('dropTopUp', () => {
    it('should return the extra of a dropped top-up and keep the others', () => {
      const topUps: PendingTopUps = { s1: pending({ extra: 15 }), s2: pending({ stint: 2 }) };
      expect(dropTopUp(claude(0, 40), topUps, 's1')).toEqual({
        budgets: claude(0, 25),
        topUps: { s2: pending({ stint: 2 }) },
      });
    });

    it('should change nothing without a pending top-up', () => {
      const budgets = claude(0, 40);
      const topUps: PendingTopUps = { s2: pending({}) };
      const out = dropTopUp(budgets, topUps, 's1');
      expect(out.budgets).toBe(budgets);
      expect(out.topUps).toBe(topUps);
    });
  });
});
