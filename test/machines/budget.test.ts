import {
  allocationFor,
  availableTokens,
  decideAdmission,
  recordUsage,
  refusalFor,
  reserve,
  settle,
  withBudget,
} from '../../machines/budget';
import type { Budgets, ProviderBudget } from '../../machines/budget';
import { budgetsOf } from '../helpers/machineHarness';

function budget(patch: Partial<ProviderBudget>): ProviderBudget {
  return {
    dailyLimit: 100,
    used: 0,
    reserved: 0,
    active: 0,
    maxConcurrent: 2,
    overrun: 0,
    lowAnnounced: false,
    ...patch,
  };
}

const small: Budgets = budgetsOf({
  claude: { dailyLimit: 100, maxConcurrent: 2 },
  openai: { dailyLimit: 50, maxConcurrent: 1 },
});

describe('budget', () => {
  describe('availableTokens', () => {
    it('should be the limit minus used minus reserved', () => {
      expect(availableTokens(budget({ used: 30, reserved: 25 }))).toBe(45);
    });

    it('should never be negative after an overrun', () => {
      expect(availableTokens(budget({ used: 90, reserved: 30 }))).toBe(0);
    });
  });

  describe('allocationFor', () => {
    it('should give min(estimate, floor(available / 2))', () => {
      expect(allocationFor(30, 100)).toBe(30);
      expect(allocationFor(80, 100)).toBe(50);
      expect(allocationFor(80, 51)).toBe(25);
      expect(allocationFor(10, 1)).toBe(0);
    });
  });

  describe('refusalFor', () => {
    it('should refuse no-provider when the daily limit is 0', () => {
      expect(refusalFor(budget({ dailyLimit: 0 }), 1)).toBe('no-provider');
    });

    it('should refuse no-provider when maxConcurrent is 0', () => {
      expect(refusalFor(budget({ maxConcurrent: 0 }), 1)).toBe('no-provider');
    });

    it('should refuse concurrency-limit at maxConcurrent even with budget left', () => {
      expect(refusalFor(budget({ active: 2 }), 1)).toBe('concurrency-limit');
    });

    it('should refuse quota-exhausted when available is below the estimate', () => {
      expect(refusalFor(budget({ used: 60, reserved: 11 }), 30)).toBe('quota-exhausted');
      expect(refusalFor(budget({ used: 60, reserved: 10 }), 30)).toBeNull();
    });

    it('should refuse quota-exhausted when half of the available rounds down to 0', () => {
      expect(refusalFor(budget({ used: 99 }), 1)).toBe('quota-exhausted');
      expect(refusalFor(budget({ used: 98 }), 1)).toBeNull();
    });
  });

  describe('decideAdmission', () => {
    it('should admit on the first candidate that fits with the allocation rule', () => {
      expect(decideAdmission(small, ['claude', 'openai'], 80)).toEqual({
        status: 'admit',
        provider: 'claude',
        allocation: 50,
      });
      expect(decideAdmission(small, ['openai', 'claude'], 30)).toEqual({
        status: 'admit',
        provider: 'openai',
        allocation: 25,
      });
    });

    it('should skip a full provider and admit on the next', () => {
      const full = withBudget(small, 'claude', { active: 2 });
      expect(decideAdmission(full, ['claude', 'openai'], 30)).toEqual({
        status: 'admit',
        provider: 'openai',
        allocation: 25,
      });
    });

    it('should name concurrency over quota over no-provider', () => {
      const claudeFull = withBudget(withBudget(small, 'claude', { active: 2 }), 'openai', { used: 50 });
      expect(decideAdmission(claudeFull, ['claude', 'openai'], 30)).toEqual({
        status: 'refuse',
        code: 'concurrency-limit',
      });
      expect(decideAdmission(claudeFull, ['openai', 'claude'], 30)).toEqual({
        status: 'refuse',
        code: 'concurrency-limit',
      });
      expect(decideAdmission(small, ['claude', 'openai'], 101)).toEqual({ status: 'refuse', code: 'quota-exhausted' });
      const openaiOff = withBudget(small, 'openai', { dailyLimit: 0 });
      expect(decideAdmission(openaiOff, ['openai'], 1)).toEqual({ status: 'refuse', code: 'no-provider' });
      expect(decideAdmission(openaiOff, ['openai', 'claude'], 101)).toEqual({
        status: 'refuse',
        code: 'quota-exhausted',
      });
    });

    it('should refuse no-provider with no candidates', () => {
      expect(decideAdmission(small, [], 1)).toEqual({ status: 'refuse', code: 'no-provider' });
    });
  });

  describe('reserve and settle', () => {
    it('should take a slot and reserve, then free the slot and return the unused part', () => {
      const reserved = reserve(small, 'claude', 30);
      expect(reserved.claude).toMatchObject({ reserved: 30, active: 1, used: 0 });
      expect(reserved.openai).toBe(small.openai);
      const settled = settle(reserved, 'claude', 12);
      expect(settled.claude).toMatchObject({ reserved: 18, active: 0, used: 0 });
    });
  });

  describe('recordUsage', () => {
    it('should move usage within the allocation from reserved to used', () => {
      const b = reserve(small, 'claude', 30);
      const out = recordUsage(b, 'claude', 20, 20, 30);
      expect(out.topUp).toBe(0);
      expect(out.overrun).toBe(0);
      expect(out.budgets.claude).toMatchObject({ used: 20, reserved: 10, active: 1 });
    });

    it('should top up the overage plus min(estimate, floor(free / 2))', () => {
      // claude: two sessions of 30 reserved; the first used 20, then reports 20 with 10 left.
      let b = reserve(reserve(small, 'claude', 30), 'claude', 30);
      b = recordUsage(b, 'claude', 20, 20, 30).budgets;
      const out = recordUsage(b, 'claude', 20, 10, 30);
      // used 40, reserved 60 - 20 - 10 = 30, free = 100 - 40 - 30 = 30, extra = min(30, 15) = 15.
      expect(out.topUp).toBe(10 + 15);
      expect(out.overrun).toBe(0);
      expect(out.budgets.claude).toMatchObject({ used: 40, reserved: 45, overrun: 0 });
    });

    it('should count usage beyond what the window covers as overrun and never drop it', () => {
      // claude limit 100: used 90, another session reserves 5; this one has nothing left and reports 20.
      const b = withBudget(small, 'claude', { used: 90, reserved: 5, active: 2 });
      const out = recordUsage(b, 'claude', 20, 0, 30);
      // 5 tokens of the window were free before (100 - 90 - 5), so 15 of the 20 could not be covered.
      expect(out.topUp).toBe(0);
      expect(out.overrun).toBe(15);
      expect(out.budgets.claude).toMatchObject({ used: 110, reserved: 5, overrun: 15 });
    });

    it('should count as overrun only the part of a report the window could not cover, after an earlier overrun', () => {
      // After the overrun above (used 110, reserved 5, overrun 15), the other session reports 10 tokens:
      // 5 come out of its allocation, 5 are beyond it and beyond the window. Only those 5 are new overrun.
      const b = withBudget(small, 'claude', { used: 110, reserved: 5, active: 1, overrun: 15 });
      const out = recordUsage(b, 'claude', 10, 5, 30);
      expect(out.budgets.claude.used).toBe(120);
      expect(out.budgets.claude.reserved).toBe(0);
      expect(out.overrun).toBe(5);
      expect(out.budgets.claude.overrun).toBe(20);
      // Invariant: used + reserved never exceeds dailyLimit + overrun, and the overrun is exactly that excess.
      expect(out.budgets.claude.used + out.budgets.claude.reserved - out.budgets.claude.dailyLimit).toBe(
        out.budgets.claude.overrun,
      );
    });
  });
});
