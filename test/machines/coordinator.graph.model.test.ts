/**
 * Model-based test of the coordinator over its REAL graph: the real coordinatorMachine (with its
 * real supervisor and sessions, test/helpers/coordinatorGraph.ts) is explored breadth-first over a
 * bounded set of steps, deduplicated by the abstract state both sides can show (per provider:
 * active, used, reserved, circuit state, paused; the queue length; stopped; each live agent's
 * provider and fallbacks). Every path of the exploration tree is then replayed against the real
 * orchestrator beside a fresh machine, and the two are compared after every step.
 *
 * | step              | machine (events, as the orchestrator sends them)          | orchestrator (public API)                       |
 * |-------------------|-----------------------------------------------------------|-------------------------------------------------|
 * | spawn (wait/now)  | agent.spawn (waitMs 45 s or 0; 100 tokens, or 5,000)      | spawnAgent({ estimatedTokens, waitMs })         |
 * | fail overloaded   | provider.failed (server) + session.failure, oldest active | oldest active agent: reportFailure({ 529 })     |
 * | fail auth         | provider.failed + session.failure                         | oldest active agent: reportFailure({ 401 })     |
 * | pause             | provider.exhausted claude +60 s, then session.usage(10)   | reportUsage with 0-remaining claude headers     |
 * | release           | session.release on the oldest live session                | oldest live agent: release()                    |
 * | tick              | clock.tick at each due time of the next 30 s (nextDueAt)  | clock.advance(30 s)                             |
 * | stop              | coordinator.stop + session.release(stopped) on each       | orch.stop()                                     |
 *
 * One failure opens a circuit (CIRCUIT), a tick makes it half-open, the next admission is its probe.
 * Both sides run with the orchestrator's default failure policy. Every transition candidate of the
 * coordinator and of the session machine the exploration takes is recorded
 * (test/helpers/transitionCoverage.ts); the ones it does not take are listed with why in
 * test/helpers/modelReach.ts (the shared ledger, throttling and retries: coordinator.ledger.model.test.ts).
 */
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { ESTIMATE, PLAIN, WAIT_MS } from '../helpers/coordinatorGraph';
import type { GraphStep } from '../helpers/coordinatorGraph';
import type { MachineSide } from '../helpers/graphMachineSide';
import { countOf, expectSameAlong, explore, nameOf } from '../helpers/graphExploration';
import { MODEL_REACH } from '../helpers/modelReach';
import { createTransitionCoverage } from '../helpers/transitionCoverage';

const MAX_DEPTH = 7;
const MAX_SPAWNS = 3;
const MAX_TICKS = 3;

const SPAWN_WAIT: GraphStep = { type: 'spawn', waitMs: WAIT_MS, estimatedTokens: ESTIMATE };
const SPAWN_NOW: GraphStep = { type: 'spawn', waitMs: 0, estimatedTokens: ESTIMATE };
const SPAWN_HOPELESS: GraphStep = { type: 'spawn', waitMs: WAIT_MS, estimatedTokens: 5_000 };

/** The steps a host can take in this state (bounded: spawns, ticks). */
function stepsFrom(side: MachineSide, path: readonly GraphStep[]): GraphStep[] {
  const view = side.view();
  if (view.stopped) return [];
  const oldest = side.oldestActive()?.getSnapshot().context;
  const steps: GraphStep[] = [];
  if (countOf(path, 'spawn') < MAX_SPAWNS) steps.push(SPAWN_WAIT, SPAWN_NOW);
  if (path.length === 0) steps.push(SPAWN_HOPELESS);
  if (oldest !== undefined && oldest.fallbacks.length === 0)
    steps.push({ type: 'fail', kind: 'overloaded' }, { type: 'fail', kind: 'auth' });
  if (oldest !== undefined && oldest.provider === 'claude' && !view.providers.claude.paused)
    steps.push({ type: 'pause' });
  if (view.agents.length > 0) steps.push({ type: 'release' });
  const timed = view.queued > 0 || Object.values(view.providers).some((p) => p.paused || p.circuit !== 'closed');
  if (timed && countOf(path, 'tick') < MAX_TICKS) steps.push({ type: 'tick' });
  steps.push({ type: 'stop' });
  return steps;
}

describe('coordinator over its real graph', () => {
  const coordinator = createTransitionCoverage(coordinatorMachine);
  const session = createTransitionCoverage(agentSessionMachine);
  const { leaves, states } = explore(PLAIN, stepsFrom, MAX_DEPTH, (event) => {
    coordinator.inspect(event);
    session.inspect(event);
  });

  it('should explore a bounded graph', () => {
    expect(states).toBeGreaterThan(50);
    expect(leaves.length).toBeLessThan(1_500);
  });

  it('should take every coordinator transition but the listed ones', () => {
    expect(coordinator.all.filter((t) => !coordinator.taken().has(t.id)).map((t) => t.id)).toEqual(
      coordinator.all.map((t) => t.id).filter((id) => id in MODEL_REACH.graph.coordinator),
    );
  });

  it('should take every session transition but the listed ones', () => {
    expect(session.all.filter((t) => !session.taken().has(t.id)).map((t) => t.id)).toEqual(
      session.all.map((t) => t.id).filter((id) => id in MODEL_REACH.graph.session),
    );
  });

  it.each(leaves.map((p) => [nameOf(p), p] as const))('should show what the machine shows along %s', (_name, path) =>
    expectSameAlong(PLAIN, path),
  );
});
