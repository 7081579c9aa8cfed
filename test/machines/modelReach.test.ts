/**
 * Every decision of both machines is a transition some model-based test takes: each model test
 * checks that what it leaves untaken is exactly its list in test/helpers/modelReach.ts, and this
 * checks that no transition is on every list, but the ones no host can cause through the orchestrator.
 */
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { MODEL_REACH, NOT_THROUGH_THE_ORCHESTRATOR } from '../helpers/modelReach';
import { listTransitions } from '../helpers/transitionCoverage';

const MACHINES = [
  {
    name: 'coordinator',
    ids: listTransitions(coordinatorMachine).map((t) => t.id),
    lists: [MODEL_REACH.graph.coordinator, MODEL_REACH.ledger.coordinator],
    notThrough: NOT_THROUGH_THE_ORCHESTRATOR.coordinator,
  },
  {
    name: 'agentSession',
    ids: listTransitions(agentSessionMachine).map((t) => t.id),
    lists: [MODEL_REACH.sessionModel.session, MODEL_REACH.graph.session, MODEL_REACH.ledger.session],
    notThrough: NOT_THROUGH_THE_ORCHESTRATOR.session,
  },
] as const;

describe.each(MACHINES)('the model-based tests over $name', ({ ids, lists, notThrough }) => {
  it('should list only transitions the machine has', () => {
    const listed = [...lists, notThrough].flatMap((list) => Object.keys(list));
    expect(listed.filter((id) => !ids.includes(id))).toEqual([]);
  });

  it('should take every transition in at least one model test, but the ones no host can cause', () => {
    const untakenByAll = ids.filter((id) => lists.every((list) => id in list));
    expect(untakenByAll).toEqual(ids.filter((id) => id in notThrough));
  });
});
