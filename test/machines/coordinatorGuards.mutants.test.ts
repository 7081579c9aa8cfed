/**
 * `afterLedgerRefusal` and the guards of ledger answers and provider failures (machines/coordinatorGuards.ts), which
 * only shared-ledger runs and the model tests reach: the mutation run's fast pass (docs/testing.md "Mutation
 * testing") found no other machine test that covers them.
 */
import { withBudget } from '../../machines/budget';
import { afterLedgerRefusal, coordinatorGuards } from '../../machines/coordinatorGuards';
import type { CoordinatorEvent } from '../../machines/coordinator.types';
import type { CoordinatorContext } from '../../machines/coordinatorContext';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

const LIMITS = { claude: { dailyLimit: 1_000, maxConcurrent: 4 } };

function confirmingContext(
  limits: Parameters<typeof createCoordinatorHarness>[0]['limits'] = LIMITS,
): CoordinatorContext {
  const harness = createCoordinatorHarness({ limits });
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

describe('the guards of ledger answers', () => {
  const granted = { ...refusal('concurrency-limit', T0 + 20), granted: true } as const;

  it('should await only the requests being confirmed, and tell a grant from a refusal', () => {
    const context = confirmingContext();
    expect(coordinatorGuards.isAwaitedReservation({ context, event: granted })).toBe(true);
    expect(coordinatorGuards.isAwaitedReservation({ context, event: { ...granted, requestId: 'r2' } })).toBe(false);
    expect(coordinatorGuards.isReservationGranted({ context, event: granted })).toBe(true);
    expect(coordinatorGuards.isReservationGranted({ context, event: refusal('concurrency-limit', T0) })).toBe(false);
  });

  it('should ask the ledger elsewhere only after a refusal, never after a grant or an unreachable ledger', () => {
    const both = confirmingContext({ ...LIMITS, openai: { dailyLimit: 1_000, maxConcurrent: 4 } });
    expect(coordinatorGuards.canReserveElsewhere({ context: both, event: refusal('concurrency-limit', T0 + 20) })).toBe(
      true,
    );
    expect(coordinatorGuards.canReserveElsewhere({ context: both, event: granted })).toBe(false);
    expect(
      coordinatorGuards.canReserveElsewhere({ context: both, event: refusal('ledger-unavailable', T0 + 20) }),
    ).toBe(false);
    // Claude only, clamped to the two sessions it holds: nowhere else to go.
    expect(
      coordinatorGuards.canReserveElsewhere({
        context: confirmingContext(),
        event: refusal('concurrency-limit', T0 + 20),
      }),
    ).toBe(false);
  });

  it('should let a refused request wait only while it may wait and before its deadline (the later clock counts)', () => {
    const context = confirmingContext();
    const deadline = context.confirming['r1']!.request.deadline;
    const waitable = (event: CoordinatorEvent, at = context) =>
      coordinatorGuards.canWaitAfterRefusal({ context: at, event });
    expect(waitable(refusal('concurrency-limit', T0 + 20))).toBe(true);
    expect(waitable(refusal('concurrency-limit', deadline))).toBe(false);
    expect(waitable(refusal('concurrency-limit', deadline - 1))).toBe(true);
    expect(waitable(refusal('concurrency-limit', T0), { ...context, now: deadline })).toBe(false);
    expect(waitable(granted)).toBe(false);
    expect(waitable(refusal('ledger-unavailable', T0 + 20))).toBe(false);
    const entry = context.confirming['r1']!;
    const noWait = { ...context, confirming: { r1: { ...entry, request: { ...entry.request, waitMs: 0 } } } };
    expect(waitable(refusal('concurrency-limit', T0 + 20), noWait)).toBe(false);
  });
});

describe('the guards of provider failures', () => {
  it.each([
    ['server', true, false],
    ['usage-limit', false, true],
    [null, false, false],
  ] as const)(
    'should read throttle %s as server throttling %s and a usage limit %s',
    (throttle, server, usageLimit) => {
      const context = confirmingContext();
      const event = {
        type: 'provider.failed',
        provider: 'claude',
        kind: 'rate-limit',
        throttle,
        resetAt: null,
        now: T0,
      } as const;
      expect(coordinatorGuards.isServerThrottle({ context, event })).toBe(server);
      expect(coordinatorGuards.isUsageLimit({ context, event })).toBe(usageLimit);
    },
  );
});
