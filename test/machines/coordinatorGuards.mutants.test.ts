/**
 * `afterLedgerRefusal` (machines/coordinatorGuards.ts), which only shared-ledger runs reach: the mutation run
 * (docs/testing.md "Mutation testing") found no machine test that covers it.
 */
import { withBudget } from '../../machines/budget';
import { afterLedgerRefusal } from '../../machines/coordinatorGuards';
import type { CoordinatorContext } from '../../machines/coordinatorContext';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

const LIMITS = { claude: { dailyLimit: 1_000, maxConcurrent: 4 } };

function confirmingContext(): CoordinatorContext {
  const harness = createCoordinatorHarness({ limits: LIMITS });
  const context = harness.context();
  harness.stop();
  const request = {
    requestId: 'r1',
    sessionId: 's1',
    agentId: 'a1',
    estimatedTokens: 100,
    preferredProvider: null,
    onlyPreferred: false,
    waitMs: 1_000,
    priority: 0,
    now: T0,
    deadline: T0 + 1_000,
    seq: 0,
  };
  // Two live sessions held 300 before r1 reserved its 100 locally.
  const budgets = withBudget(context.budgets, 'claude', { used: 200, reserved: 400, active: 3 });
  return { ...context, budgets, now: T0 + 10, confirming: { r1: { request, provider: 'claude', allocation: 100 } } };
}

function refusal(code: 'concurrency-limit' | 'ledger-unavailable', now: number) {
  return { type: 'ledger.reserveAnswered', requestId: 'r1', granted: false, code, retryAfterMs: 1_000, now } as const;
}

describe('afterLedgerRefusal', () => {
  it('should give the local reservation back, clamp the provider and keep the later time', () => {
    const after = afterLedgerRefusal(confirmingContext(), refusal('concurrency-limit', T0 + 20));
    expect(after.confirming).toEqual({});
    expect(after.budgets.claude).toMatchObject({ reserved: 300, active: 2, maxConcurrent: 2, dailyLimit: 1_000 });
    expect(after.now).toBe(T0 + 20);
  });

  it('should learn no limit from an unreachable ledger and never move time back', () => {
    const after = afterLedgerRefusal(confirmingContext(), refusal('ledger-unavailable', T0));
    expect(after.budgets.claude).toMatchObject({ reserved: 300, active: 2, maxConcurrent: 4, dailyLimit: 1_000 });
    expect(after.now).toBe(T0 + 10);
  });
});
