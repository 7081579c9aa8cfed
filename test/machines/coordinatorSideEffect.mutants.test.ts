/**
 * machines/coordinatorSideEffect.ts and the stop of machines/sessionSupervisor.ts against the mutation
 * run (docs/testing.md "Mutation testing"): the machine tests leave the side-effect slots as the
 * machine's no-ops, so a side effect that was never enqueued went unseen. Here the slots are bound, as
 * src/orchestrator/bindMachines.ts binds them, and record what they are given.
 */
import type { SideEffectParams } from '../../machines/coordinator.types';
import { createCoordinatorHarness, providerFailed, T0 } from '../helpers/machineHarness';

function boundCoordinator() {
  const pauses: SideEffectParams['recordPause'][] = [];
  const { actor } = createCoordinatorHarness({
    limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
    actions: { recordPause: (_, params) => void pauses.push(params) },
  });
  return { actor, pauses };
}

describe('coordinator side effects (mutation edges)', () => {
  it('should hand a usage-limit pause to the recordPause slot', () => {
    const { actor, pauses } = boundCoordinator();
    actor.send(providerFailed('usage-limit', T0, { throttle: 'usage-limit', resetAt: T0 + 5_000 }));
    expect(pauses).toEqual([{ provider: 'claude', pause: { until: T0 + 5_000, reason: 'usage-limit' } }]);
    actor.stop();
  });

  it('should leave the session supervisor stopped when the coordinator stops', () => {
    const { actor } = boundCoordinator();
    const supervisor = actor.getSnapshot().context.supervisor;
    actor.stop();
    expect(supervisor.getSnapshot().status).toBe('stopped');
  });
});
