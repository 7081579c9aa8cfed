/**
 * The edges of machines/admissionQueue.ts that the mutation run (docs/testing.md "Mutation testing") found
 * untested: an empty chain, `onlyPreferred` without a preferred provider, and a not-before time at, before
 * and after `now` (the tests of planDrain left `now` at its default, +Infinity).
 */
import { admissionCandidates, candidatesFor, planDrain } from '../../machines/admissionQueue';
import type { QueuedRequest } from '../../machines/coordinator.types';
import { T0, budgetsOf } from '../helpers/machineHarness';

const CHAIN = ['claude', 'openai'] as const;
const BUDGETS = budgetsOf({ claude: { dailyLimit: 1_000, maxConcurrent: 4 } });

function queued(requestId: string, notBefore: number): QueuedRequest {
  return {
    requestId,
    sessionId: `s-${requestId}`,
    agentId: `a-${requestId}`,
    estimatedTokens: 10,
    preferredProvider: null,
    onlyPreferred: false,
    waitMs: 60_000,
    priority: 0,
    now: T0,
    deadline: T0 + 60_000,
    seq: 0,
    notBefore,
  };
}

describe('admissionQueue (mutation edges)', () => {
  it('should have no candidate at all on an empty chain without a preferred provider', () => {
    // toEqual([]) would also accept [undefined].
    expect(candidatesFor([], null)).toHaveLength(0);
  });

  it('should take the whole chain when only the preferred provider is asked for but none is named', () => {
    expect(admissionCandidates(CHAIN, { preferredProvider: null, onlyPreferred: true })).toStrictEqual([
      'claude',
      'openai',
    ]);
  });

  it('should admit a request from its not-before time on, and keep it waiting before', () => {
    const admittedAt = (notBefore: number) =>
      planDrain(BUDGETS, [queued('r', notBefore)], CHAIN, undefined, T0).admitted;
    expect(admittedAt(T0 - 1)).toHaveLength(1);
    expect(admittedAt(T0)).toHaveLength(1);
    expect(admittedAt(T0 + 1)).toHaveLength(0);
  });
});
