import { withBudget } from '../../machines/budget';
import type { QueuedRequest } from '../../machines/coordinator.types';
import { clampAfterRefusal, requeueAtPlace, sharedRefusalCode } from '../../machines/ledgerAdmission';
import { T0, budgetsOf } from '../helpers/machineHarness';

const LIMITS = { claude: { dailyLimit: 1_000, maxConcurrent: 4 }, openai: { dailyLimit: 1_000, maxConcurrent: 4 } };
// claude as this host sees it: 300 used, 200 reserved by 2 live sessions.
const HELD = withBudget(budgetsOf(LIMITS), 'claude', { used: 300, reserved: 200, active: 2 });

function request(requestId: string, priority: number, seq: number): QueuedRequest {
  return {
    requestId,
    sessionId: `s-${requestId}`,
    agentId: `a-${requestId}`,
    estimatedTokens: 100,
    preferredProvider: null,
    onlyPreferred: false,
    waitMs: 1_000,
    priority,
    now: T0,
    deadline: T0 + 1_000,
    seq,
  };
}

describe('ledgerAdmission', () => {
  describe('clampAfterRefusal', () => {
    it('should cap concurrency at the sessions this host holds on a concurrency refusal', () => {
      const after = clampAfterRefusal(HELD, 'claude', 'concurrency-limit');
      expect(after.claude).toEqual({ ...HELD.claude, maxConcurrent: 2 });
      expect(after.openai).toBe(HELD.openai);
    });

    it('should cap the daily limit at used + reserved on a quota refusal', () => {
      expect(clampAfterRefusal(HELD, 'claude', 'quota-exhausted').claude).toEqual({ ...HELD.claude, dailyLimit: 500 });
    });

    it('should never raise a limit that is already lower', () => {
      const low = withBudget(HELD, 'claude', { maxConcurrent: 1, dailyLimit: 400 });
      expect(clampAfterRefusal(low, 'claude', 'concurrency-limit').claude.maxConcurrent).toBe(1);
      expect(clampAfterRefusal(low, 'claude', 'quota-exhausted').claude.dailyLimit).toBe(400);
    });

    it('should close the provider on a no-provider refusal', () => {
      expect(clampAfterRefusal(HELD, 'claude', 'no-provider').claude).toEqual({ ...HELD.claude, dailyLimit: 0 });
    });
  });

  describe('sharedRefusalCode', () => {
    const both = ['claude', 'openai'] as const;

    it('should keep a concurrency or quota refusal as it is', () => {
      const closed = budgetsOf({});
      expect(sharedRefusalCode('concurrency-limit', closed, both, LIMITS)).toBe('concurrency-limit');
      expect(sharedRefusalCode('quota-exhausted', closed, both, LIMITS)).toBe('quota-exhausted');
    });

    it('should report a provider other hosts fill as concurrency-limit before one they used up as quota-exhausted', () => {
      const noBudget = withBudget(budgetsOf(LIMITS), 'claude', { dailyLimit: 0 });
      expect(sharedRefusalCode('no-provider', noBudget, both, LIMITS)).toBe('quota-exhausted');
      const noSlot = withBudget(noBudget, 'openai', { maxConcurrent: 0 });
      expect(sharedRefusalCode('no-provider', noSlot, both, LIMITS)).toBe('concurrency-limit');
    });

    it('should stay no-provider for providers switched off in the configuration', () => {
      const closed = budgetsOf({});
      const offDaily = { ...LIMITS, claude: { dailyLimit: 0, maxConcurrent: 4 } };
      expect(sharedRefusalCode('no-provider', closed, ['claude'], offDaily)).toBe('no-provider');
      const offSlots = { ...LIMITS, claude: { dailyLimit: 1_000, maxConcurrent: 0 } };
      expect(sharedRefusalCode('no-provider', closed, ['claude'], offSlots)).toBe('no-provider');
      expect(sharedRefusalCode('no-provider', budgetsOf(LIMITS), both, LIMITS)).toBe('no-provider');
    });
  });

  describe('requeueAtPlace', () => {
    const queue = [request('high', 2, 5), request('a', 1, 1), request('c', 1, 3), request('low', 0, 0)];

    it('should put a request back by priority, then by its original arrival', () => {
      expect(requeueAtPlace(queue, request('b', 1, 2)).map((q) => q.requestId)).toEqual(['high', 'a', 'b', 'c', 'low']);
      expect(requeueAtPlace(queue, request('top', 3, 9)).map((q) => q.requestId)).toEqual([
        'top',
        'high',
        'a',
        'c',
        'low',
      ]);
    });

    it('should append a request that comes after every waiting one', () => {
      expect(requeueAtPlace(queue, request('last', 0, 7)).map((q) => q.requestId)).toEqual([
        'high',
        'a',
        'c',
        'low',
        'last',
      ]);
      expect(requeueAtPlace([], request('only', 0, 0)).map((q) => q.requestId)).toEqual(['only']);
    });
  });
});
