/**
 * Model-based test of the coordinator over its REAL graph on a shared ledger, with throttling, usage
 * limits and retries: a second, smaller exploration beside coordinator.graph.model.test.ts, with the
 * same two sides (test/helpers/coordinatorGraph.ts, graphMachineSide.ts, graphOrchestratorSide.ts).
 * The orchestrator runs on a real file ledger in a temp folder, which a second writer (another
 * FileLedger on the same file) takes slots of; the
 * machine side is answered by the ledger model (test/helpers/sharedLedgerModel.ts) in the order the
 * orchestrator's link answers. Both sides run with the failure policy below (an overload is retried
 * once before falling back). The view compared after every step adds the ledger's live reservations.
 *
 * | step             | machine (events, as the orchestrator sends them)                   | orchestrator (public API, the file)         |
 * |------------------|--------------------------------------------------------------------|---------------------------------------------|
 * | spawn (wait/now) | agent.spawn; each ledger.reserveAsked answered by the model        | spawnAgent({ estimatedTokens, waitMs })     |
 * | grab / letGo p   | the model's other holder takes / gives back one slot of p          | second writer: reserve / settle on the file |
 * | fail throttle    | provider.failed (server) + session.failure rate-limit, 10 s        | reportFailure({ 429, retry-after: 10 })     |
 * | fail usageLimit  | provider.failed (usage-limit) + session.failure quota              | reportFailure({ 429, insufficient_quota })  |
 * | fail overloaded  | provider.failed (server) + session.failure overloaded              | reportFailure({ 529 })                      |
 * | fail auth        | provider.failed + session.failure auth                             | reportFailure({ 401 })                      |
 * | overuse          | session.usage(150) on the oldest active: the top-up granted        | reportUsage(150 tokens): ledger record      |
 * | release          | session.release on the oldest live session                         | oldest live agent: release()                |
 * | tick             | clock.tick at each due time of the next 30 s, then ledger.limits   | clock.advance(30 s): the link syncs at 30 s |
 * | stop             | coordinator.stop + session.release(stopped) on each                | orch.stop()                                 |
 *
 * Each later stint (a fallback, a requeue) is reserved through the session's `reserving` step
 * (reservation.request, answered by the model as by src/orchestrator/ledgerActor.ts).
 */
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { PROVIDER_IDS } from '../../machines/providers';
import { ESTIMATE, LIMITS, WAIT_MS } from '../helpers/coordinatorGraph';
import type { FailureKind, GraphSetup, GraphStep } from '../helpers/coordinatorGraph';
import type { MachineSide } from '../helpers/graphMachineSide';
import { countOf, expectSameAlong, explore, nameOf } from '../helpers/graphExploration';
import { MODEL_REACH } from '../helpers/modelReach';
import { createTransitionCoverage } from '../helpers/transitionCoverage';

const MAX_DEPTH = 4;
const MAX_SPAWNS = 2;
const MAX_TICKS = 2;
const MAX_GRABS = 2;
const MAX_OVERUSES = 1;

const SETUP: GraphSetup = {
  shared: true,
  failurePolicy: { baseDelayMs: 1, maxDelayMs: 1, kinds: { overloaded: { action: 'retry', maxRetries: 1 } } },
};
const FAILS: readonly FailureKind[] = ['throttle', 'usageLimit', 'overloaded', 'auth'];

/** The steps a host (and the second writer) can take in this state. */
function stepsFrom(side: MachineSide, path: readonly GraphStep[]): GraphStep[] {
  const view = side.view();
  if (view.stopped) return [];
  const steps: GraphStep[] = [];
  if (countOf(path, 'spawn') < MAX_SPAWNS)
    steps.push(
      { type: 'spawn', waitMs: WAIT_MS, estimatedTokens: ESTIMATE },
      { type: 'spawn', waitMs: 0, estimatedTokens: ESTIMATE },
    );
  for (const provider of PROVIDER_IDS) {
    const held = view.ledger![provider];
    if (countOf(path, 'grab') < MAX_GRABS && held < LIMITS[provider].maxConcurrent)
      steps.push({ type: 'grab', provider });
    if (side.otherHolds(provider) > 0) steps.push({ type: 'letGo', provider });
  }
  if (side.oldestActive() !== undefined) steps.push(...FAILS.map((kind) => ({ type: 'fail', kind }) as const));
  if (side.oldestActive() !== undefined && countOf(path, 'overuse') < MAX_OVERUSES) steps.push({ type: 'overuse' });
  if (view.agents.length > 0) steps.push({ type: 'release' });
  if (countOf(path, 'tick') < MAX_TICKS) steps.push({ type: 'tick' });
  steps.push({ type: 'stop' });
  return steps;
}

describe('coordinator over its real graph, on a shared ledger', () => {
  const coordinator = createTransitionCoverage(coordinatorMachine);
  const session = createTransitionCoverage(agentSessionMachine);
  const { leaves, states } = explore(SETUP, stepsFrom, MAX_DEPTH, (event) => {
    coordinator.inspect(event);
    session.inspect(event);
  });

  it('should explore a bounded graph', () => {
    expect(states).toBeGreaterThan(50);
    expect(leaves.length).toBeLessThan(1_000);
  });

  it('should take every coordinator transition but the listed ones', () => {
    expect(coordinator.all.filter((t) => !coordinator.taken().has(t.id)).map((t) => t.id)).toEqual(
      coordinator.all.map((t) => t.id).filter((id) => id in MODEL_REACH.ledger.coordinator),
    );
  });

  it('should take every session transition but the listed ones', () => {
    expect(session.all.filter((t) => !session.taken().has(t.id)).map((t) => t.id)).toEqual(
      session.all.map((t) => t.id).filter((id) => id in MODEL_REACH.ledger.session),
    );
  });

  it.each(leaves.map((p) => [nameOf(p), p] as const))('should show what the machine shows along %s', (_name, path) =>
    expectSameAlong(SETUP, path),
  );
});
