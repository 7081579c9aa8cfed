/**
 * The edge of machines/budget.ts that the mutation run (docs/testing.md "Mutation testing") found
 * untested: an overage that uses the window up exactly is covered by a top-up, not counted as overrun.
 */
import { recordUsage, reserve } from '../../machines/budget';
import { budgetsOf } from '../helpers/machineHarness';

describe('budget (mutation edges)', () => {
  it('should top up an overage that leaves exactly nothing free, with no overrun', () => {
    // claude limit 100: one session of 40 reports 100 tokens, 40 of them within: used 100, reserved 0, free 0.
    const b = reserve(budgetsOf({ claude: { dailyLimit: 100, maxConcurrent: 1 } }), 'claude', 40);
    const out = recordUsage(b, 'claude', 100, 40, 30);
    expect(out.topUp).toBe(60);
    expect(out.overrun).toBe(0);
    expect(out.budgets.claude).toMatchObject({ used: 100, reserved: 0, overrun: 0 });
  });
});
