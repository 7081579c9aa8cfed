/**
 * dropTopUp (machines/topUps.ts): a session that leaves its provider gives back the share its
 * pending top-up held; with no top-up pending (every session without a shared ledger) nothing is
 * looked up and the same objects come back.
 */
import type { Budgets } from '../../machines/budget';
import { dropTopUp } from '../../machines/topUps';
import type { PendingTopUp, PendingTopUps } from '../../machines/topUps';
import { budgetsOf } from '../helpers/machineHarness';

const pending: PendingTopUp = {
  provider: 'claude',
  stint: 0,
  asked: 700,
  extra: 500,
  uncovered: 0,
  estimate: 1_000,
  usedOnProvider: 1_200,
};

function withReserved(reserved: number): Budgets {
  const budgets = budgetsOf({ claude: { dailyLimit: 10_000, maxConcurrent: 4 } });
  return { ...budgets, claude: { ...budgets.claude, reserved } };
}

describe('dropTopUp', () => {
  it('should give back the pending share and forget the top-up of the session that left', () => {
    const topUps: PendingTopUps = { s1: pending, s2: { ...pending, extra: 300 } };
    const dropped = dropTopUp(withReserved(2_000), topUps, 's1');
    expect(dropped.budgets.claude.reserved).toBe(1_500);
    expect(dropped.topUps).toEqual({ s2: { ...pending, extra: 300 } });
  });

  it('should change nothing when only other sessions have a top-up pending', () => {
    const budgets = withReserved(2_000);
    const topUps: PendingTopUps = { s2: pending };
    const dropped = dropTopUp(budgets, topUps, 's1');
    expect(dropped.budgets).toBe(budgets);
    expect(dropped.topUps).toBe(topUps);
  });

  it('should return the same objects when no top-up is pending', () => {
    const budgets = withReserved(2_000);
    const topUps: PendingTopUps = {};
    const dropped = dropTopUp(budgets, topUps, 's1');
    expect(dropped.budgets).toBe(budgets);
    expect(dropped.topUps).toBe(topUps);
  });
});
