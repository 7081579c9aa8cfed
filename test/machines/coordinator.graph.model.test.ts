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
 * | fail overloaded   | provider.failed (counts) + session.failure, oldest active | oldest active agent: reportFailure({ 529 })     |
 * | fail auth         | provider.failed (not counted) + session.failure           | oldest active agent: reportFailure({ 401 })     |
 * | pause             | provider.exhausted claude +60 s, then session.usage(10)   | reportUsage with 0-remaining claude headers     |
 * | release           | session.release on the oldest live session                | oldest live agent: release()                    |
 * | tick              | clock.tick at each due time of the next 30 s (nextDueAt)  | clock.advance(30 s)                             |
 * | stop              | coordinator.stop + session.release(stopped) on each       | orch.stop()                                     |
 *
 * One failure opens a circuit (CIRCUIT), a tick makes it half-open, the next admission is its probe.
 * Every transition candidate of the coordinator and of the session machine the exploration takes is
 * recorded (test/helpers/transitionCoverage.ts); the ones it cannot take are listed with why.
 */
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { ESTIMATE, MachineSide, OrchestratorSide, WAIT_MS } from '../helpers/coordinatorGraph';
import type { GraphStep, GraphView } from '../helpers/coordinatorGraph';
import { createTransitionCoverage } from '../helpers/transitionCoverage';
import type { InspectionEvent } from 'xstate';

const MAX_DEPTH = 7;
const MAX_SPAWNS = 3;
const MAX_TICKS = 3;

/** Transitions the exploration cannot take through the orchestrator, and why (ids: transitionCoverage). */
const LEDGER_ANSWERS =
  'shared-ledger only: ledger answers and refusals are not in this model yet (test/orchestrator/ledgerStint.int.test.ts)';
const UNREACHED_COORDINATOR: Readonly<Record<string, string>> = {
  'coordinator provider.failed#0':
    'no throttle step here: the failures are 529 and 401 (the session model reports a 429 and requeues)',
  'coordinator provider.failed#1':
    'no usage-limit failure here: the pause step pauses claude through reported headers (provider.exhausted)',
  'coordinator.running session.fallbackRequested#0':
    'no throttle step here, so no session asks to be requeued (the session model requeues)',
  'coordinator.running ledger.limits#0': 'shared-ledger only (test/quota ledger tests)',
  'coordinator.running ledger.topUpAnswered#0': 'shared-ledger only (test/quota ledger tests)',
  'coordinator.running ledger.reserveAnswered#0': LEDGER_ANSWERS,
  'coordinator.running ledger.reserveAnswered#1': LEDGER_ANSWERS,
  'coordinator.running ledger.reserveAnswered#2': LEDGER_ANSWERS,
  'coordinator.running ledger.reserveAnswered#3': LEDGER_ANSWERS,
  'coordinator.running ledger.reserveAnswered#4': LEDGER_ANSWERS,
  'coordinator.stopping agent.spawn#0': 'a stopped orchestrator refuses spawnAgent itself, before the machine',
  'coordinator.stopping session.fallbackRequested#0':
    'orch.stop() releases every session in the same step: none can fail over after',
};
const UNREACHED_SESSION: Readonly<Record<string, string>> = {
  'agentSession session.heartbeat#0': 'no heartbeat step here (the session model takes it)',
  'agentSession session.toppedUp#0': 'usage stays within the allocation here (the session model tops up)',
  'agentSession session.topUpRefused#0': 'usage stays within the allocation here (the session model refuses top-ups)',
  'agentSession session.sweep#0': 'leases outlast the paths (the session model sweeps)',
  'agentSession.authenticating credentials.denied#0': 'keys are in the env: authentication never fails here',
  'agentSession.authenticating credentials.denied#1': 'keys are in the env: authentication never fails here',
  'agentSession.authenticating credentials.granted#0': 'the ledger is not shared: no stint is reserved after admission',
  'agentSession.reserving reservation.granted#0': 'the ledger is not shared: no stint is reserved after admission',
  'agentSession.reserving reservation.refused#0': 'the ledger is not shared: no stint is reserved after admission',
  'agentSession.reserving reservation.refused#1': 'the ledger is not shared: no stint is reserved after admission',
  'agentSession.active session.failure#0': 'no throttle step here (the session model requeues)',
  'agentSession.active session.failure#1':
    'the machine side runs without failure policies (DEFAULT_CONFIG), where decideFailure only falls back or gives up (the session model retries)',
  'agentSession.active session.failure#3': 'no 400 step here (the session model reports a request at fault)',
  'agentSession.active session.failure#4':
    'failures are reported on first providers only, and a first provider always has a fallback left (the session model ends a session with none)',
};

const SPAWN_WAIT: GraphStep = { type: 'spawn', waitMs: WAIT_MS, estimatedTokens: ESTIMATE };
const SPAWN_NOW: GraphStep = { type: 'spawn', waitMs: 0, estimatedTokens: ESTIMATE };
const SPAWN_HOPELESS: GraphStep = { type: 'spawn', waitMs: WAIT_MS, estimatedTokens: 5_000 };

function countOf(path: readonly GraphStep[], type: GraphStep['type']): number {
  return path.filter((s) => s.type === type).length;
}

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

function keyOf(view: GraphView, path: readonly GraphStep[]): string {
  return JSON.stringify({ view, spawns: countOf(path, 'spawn'), ticks: countOf(path, 'tick') });
}

function replay(path: readonly GraphStep[], inspect?: (event: InspectionEvent) => void): MachineSide {
  const side = new MachineSide(inspect);
  for (const step of path) side.apply(step);
  return side;
}

function nameOf(path: readonly GraphStep[]): string {
  return path
    .map((s) =>
      s.type === 'spawn'
        ? `spawn(${s.estimatedTokens}${s.waitMs > 0 ? ', wait' : ''})`
        : s.type === 'fail'
          ? `fail(${s.kind})`
          : s.type,
    )
    .join(' → ');
}

/** Breadth-first over the real machine; returns the leaves of the exploration tree (each path ends where nothing new follows). */
function explore(inspect: (event: InspectionEvent) => void): {
  readonly leaves: GraphStep[][];
  readonly states: number;
} {
  const seen = new Set<string>();
  const start = replay([], inspect);
  seen.add(keyOf(start.view(), []));
  start.stop();
  const frontier: GraphStep[][] = [[]];
  const leaves: GraphStep[][] = [];
  while (frontier.length > 0) {
    const path = frontier.shift()!;
    const side = replay(path);
    const steps = path.length < MAX_DEPTH ? stepsFrom(side, path) : [];
    side.stop();
    let grew = false;
    for (const step of steps) {
      const next = [...path, step];
      const after = replay(next, inspect);
      const key = keyOf(after.view(), next);
      after.stop();
      if (seen.has(key)) continue;
      seen.add(key);
      frontier.push(next);
      grew = true;
    }
    if (!grew && path.length > 0) leaves.push(path);
  }
  return { leaves, states: seen.size };
}

describe('coordinator over its real graph', () => {
  const coordinator = createTransitionCoverage(coordinatorMachine);
  const session = createTransitionCoverage(agentSessionMachine);
  const { leaves, states } = explore((event) => {
    coordinator.inspect(event);
    session.inspect(event);
  });

  it('should explore a bounded graph', () => {
    expect(states).toBeGreaterThan(50);
    expect(leaves.length).toBeLessThan(1_500);
  });

  it('should take every coordinator transition but the listed ones', () => {
    expect(coordinator.all.filter((t) => !coordinator.taken().has(t.id)).map((t) => t.id)).toEqual(
      coordinator.all.map((t) => t.id).filter((id) => id in UNREACHED_COORDINATOR),
    );
  });

  it('should take every session transition but the listed ones', () => {
    expect(session.all.filter((t) => !session.taken().has(t.id)).map((t) => t.id)).toEqual(
      session.all.map((t) => t.id).filter((id) => id in UNREACHED_SESSION),
    );
  });

  it.each(leaves.map((p) => [nameOf(p), p] as const))(
    'should show what the machine shows along %s',
    async (_name, path) => {
      const machine = new MachineSide();
      const orch = await OrchestratorSide.start();
      try {
        expect(orch.view()).toEqual(machine.view());
        for (const [i, step] of path.entries()) {
          machine.apply(step);
          await orch.apply(step);
          expect({ step: i, view: orch.view() }).toEqual({ step: i, view: machine.view() });
        }
      } finally {
        machine.stop();
        await orch.stop();
      }
    },
  );
});
