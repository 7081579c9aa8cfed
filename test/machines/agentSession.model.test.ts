/**
 * Model-based tests of one agent's session: the shortest path to every state, and one path for each
 * other transition of the model (the shortest path to its source, then it), through
 * authenticating → active ⇄ fallingBack → released, each driven against the real orchestrator.
 *
 * The model IS the real agentSessionMachine (test/helpers/sessionModel.ts); its events are what a
 * host can cause through the public API, plus the coordinator's answers where the session waits for
 * one, computed from the scenario's limits by the rules in the docs (not by machines/budget.ts):
 *
 * | model event                  | done to the orchestrator (test/helpers/sessionPathRunner.ts)          |
 * |------------------------------|-----------------------------------------------------------------------|
 * | credentials.granted / denied | open the authentication gate with the key in the env / revoked        |
 * | session.usage (700 / 12,000) | agent.reportUsage(…): within the allocation / beyond it (a top-up)    |
 * | session.toppedUp / refused   | nothing: the coordinator answered inside the usage step; the receipt  |
 * |                              | (or the quota-exhausted error and quota.overrun) is checked here      |
 * | session.heartbeat            | agent.renewLease()                                                    |
 * | session.failure (auth)       | agent.reportFailure({ status: 401 }): fallback, or the end            |
 * | session.failure (rate-limit) | agent.reportFailure({ status: 429, retry-after 20 }) before any usage |
 * | session.failure (overloaded) | agent.reportFailure({ status: 529 }) with no fallback left: a retry   |
 * | session.failure (invalid-…)  | agent.reportFailure({ status: 400 }): rejected, the agent stays       |
 * | session.release              | agent.release()                                                       |
 * | session.sweep (expired)      | clock.advance(lease + sweep interval)                                 |
 * | session.fallbackAdmitted /   | fallback: nothing (answered inside the failure step; agent.fallback   |
 * |   session.fallbackRefused    | is checked); requeue: clock.set(the agent.requeued notBefore)         |
 *
 * After every step the orchestrator's stats(), agent.provider / env / isLive / usedTokens /
 * allocatedTokens and the spawn and failure promises are compared with the model snapshot. Each
 * scenario must take every transition of the machine but the ones it lists as unreached (with why),
 * which is what makes a dropped guard (e.g. the maxFallbacks check of canFallBack) fail here.
 */
import { transition } from 'xstate';
import { adjacencyMapToArray } from 'xstate/graph';
import { createManualClock, createOrchestrator } from '../../src';
import type { OrchestratorEventMap } from '../../src';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import type { SessionEvent } from '../../machines/agentSession.types';
import { createGatedAuthenticator, flush, keyEnv, track } from '../helpers/orchestratorDriver';
import { AGENT_ID, ESTIMATE, eventsFor, serialize, sessionModel, sessionModelFor } from '../helpers/sessionModel';
import type { SessionModelSnapshot, SessionScenario, SessionTestModel, SessionTestPath } from '../helpers/sessionModel';
import { SessionPathRunner } from '../helpers/sessionPathRunner';
import type { StateExpectation } from '../helpers/sessionPathRunner';
import { MODEL_REACH } from '../helpers/modelReach';
import { createTransitionCoverage, listTransitions } from '../helpers/transitionCoverage';
import type { TransitionCoverage } from '../helpers/transitionCoverage';
import { T0 } from '../helpers/timeOrigin';

/** What the orchestrator shows in each state of the session machine (update here when states change). */
const STATES: Readonly<Record<string, StateExpectation>> = {
  authenticating: { env: 'empty', gate: 'waiting' },
  active: { env: 'secrets', gate: 'idle' },
  reserving: { env: 'empty', gate: 'idle' },
  fallingBack: { env: 'empty', gate: 'any' },
  released: { env: 'empty', gate: 'any' },
};

/** Transition ids (test/helpers/transitionCoverage.ts) some scenarios cannot reach. */
const TOP_UP_REFUSED = 'agentSession session.topUpRefused#0';
const FALLBACK_REFUSED = 'agentSession.fallingBack session.fallbackRefused#0';
const DENIED_FALLS_BACK = 'agentSession.authenticating credentials.denied#0';
const FAILURE_REQUEUES = 'agentSession.active session.failure#0';
const FAILURE_RETRIES = 'agentSession.active session.failure#1';
const FAILURE_FALLS_BACK = 'agentSession.active session.failure#2';
const DENIED_ENDS = 'agentSession.authenticating credentials.denied#1';
const FAILURE_ENDS = 'agentSession.active session.failure#4';
const NOT_SHARED = 'the ledger is not shared: no stint is reserved after admission';
/** Transitions only a shared ledger reaches (a later stint passes through reserving). */
const SHARED_ONLY = {
  'agentSession.authenticating credentials.granted#0': NOT_SHARED,
  'agentSession.reserving reservation.granted#0': NOT_SHARED,
  'agentSession.reserving reservation.refused#0': NOT_SHARED,
  'agentSession.reserving reservation.refused#1': NOT_SHARED,
} as const;

const ROOMY = { dailyLimit: 100_000, maxConcurrent: 2 } as const;
const OPENAI = { dailyLimit: 12_000, maxConcurrent: 1 } as const;

const SCENARIOS: readonly SessionScenario[] = [
  {
    name: 'openai can take the session',
    limits: { claude: ROOMY, openai: OPENAI },
    maxFallbacks: 1,
    requeues: true,
    unreached: {
      ...SHARED_ONLY,
      [TOP_UP_REFUSED]: 'both budgets cover 12,000 tokens',
      [FALLBACK_REFUSED]: 'openai has room',
    },
  },
  {
    name: 'openai is disabled (daily limit 0)',
    limits: { claude: ROOMY, openai: { dailyLimit: 0, maxConcurrent: 1 } },
    maxFallbacks: 1,
    requeues: true,
    unreached: {
      ...SHARED_ONLY,
      [TOP_UP_REFUSED]: 'claude covers 12,000 tokens',
      [DENIED_ENDS]: 'openai is in the chain: the coordinator refuses it (scenario maxFallbacks 0 takes this branch)',
      [FAILURE_ENDS]: 'openai is in the chain: the coordinator refuses it (scenario maxFallbacks 0 takes this branch)',
      [FAILURE_RETRIES]:
        'openai is left in the chain on claude (the coordinator refuses it), and the session never gets to openai',
    },
  },
  {
    name: "claude's daily budget cannot cover usage beyond the allocation",
    limits: { claude: { dailyLimit: 11_000, maxConcurrent: 2 }, openai: OPENAI },
    maxFallbacks: 1,
    requeues: false,
    unreached: {
      ...SHARED_ONLY,
      [FALLBACK_REFUSED]: 'openai has room',
      [FAILURE_REQUEUES]: 'left out to keep the graph small (the other scenarios requeue)',
    },
  },
  {
    name: 'no fallback is allowed (maxFallbacks 0)',
    limits: { claude: ROOMY, openai: OPENAI },
    maxFallbacks: 0,
    requeues: true,
    unreached: {
      ...SHARED_ONLY,
      [DENIED_FALLS_BACK]: 'maxFallbacks 0: a denial ends the session',
      [FAILURE_FALLS_BACK]: 'maxFallbacks 0: a failure ends the session',
      [FALLBACK_REFUSED]: 'only requeues reach fallingBack, and they are re-admitted',
      [TOP_UP_REFUSED]: 'claude covers 12,000 tokens',
    },
  },
];

/** A readable name: the events after start, and where the path ends. */
function nameOf(path: SessionTestPath): string {
  const events = path.steps.slice(1).map((s) => {
    const event = s.event as SessionEvent;
    const name = event.type.replace(/^(session|credentials)\./, '');
    if (event.type === 'session.failure') return `${name}(${event.reason})`;
    return event.type === 'session.usage' ? `${name}(${event.tokens})` : name;
  });
  const end = path.state.context.outcome
    ? `released (${path.state.context.outcome.reason})`
    : `${String(path.state.value)} on ${path.state.context.provider}`;
  return `${events.join(' → ') || 'start'} ⇒ ${end}`;
}

async function drive(
  scenario: SessionScenario,
  path: SessionTestPath,
  edges: Set<string>,
  coverage: TransitionCoverage,
): Promise<string[]> {
  const runner = await SessionPathRunner.start(scenario, STATES, coverage);
  let from = serialize(runner.replayed);
  try {
    const exec = async (step: { event: { type: string }; state: SessionModelSnapshot }) => {
      // The step's event is one of eventsFor(...): the full event object, typed by its `type` only here.
      const event = step.event as SessionEvent;
      await runner.exec(event, step.state);
      const to = serialize(step.state);
      edges.add(`${from} --${JSON.stringify(event)}--> ${to}`);
      from = to;
    };
    const types: readonly SessionEvent['type'][] = [
      'credentials.granted',
      'credentials.denied',
      'session.usage',
      'session.heartbeat',
      'session.failure',
      'session.release',
      'session.sweep',
      'session.toppedUp',
      'session.topUpRefused',
      'session.fallbackAdmitted',
      'session.fallbackRefused',
    ];
    // Self-loops (a heartbeat) leave the serialised state as it was, so no path has them: each state takes its own.
    const checkWithSelfLoops = async (state: SessionModelSnapshot) => {
      runner.check(state);
      for (const event of eventsFor(scenario, state).filter(
        (e) => serialize(transition(sessionModel, state, e)[0]) === serialize(state),
      )) {
        await runner.exec(event, state);
        runner.check(state);
      }
    };
    await path.test({
      states: { '*': checkWithSelfLoops },
      events: Object.fromEntries(types.map((type) => [type, exec])),
    });
    return runner.visited;
  } finally {
    await runner.stop();
  }
}

function allEdges(model: SessionTestModel): Set<string> {
  const edges = new Set<string>();
  for (const { state, event, nextState } of adjacencyMapToArray(model.getAdjacencyMap())) {
    const from = serialize(state);
    const to = serialize(nextState);
    if (to !== from) edges.add(`${from} --${JSON.stringify(event)}--> ${to}`);
  }
  return edges;
}

/** Every shortest path, then for each edge no shortest path takes: the shortest path to its source plus that edge. */
function edgeCoveringPaths(model: SessionTestModel): SessionTestPath[] {
  const toState = new Map(model.getShortestPaths({ allowDuplicatePaths: true }).map((p) => [serialize(p.state), p]));
  const paths = model.getShortestPaths();
  const onPaths = new Set<string>();
  for (const path of toState.values()) {
    path.steps.forEach(
      (step, i) => i > 0 && onPaths.add(`${serialize(path.steps[i - 1]!.state)} ${JSON.stringify(step.event)}`),
    );
  }
  for (const { state, event } of adjacencyMapToArray(model.getAdjacencyMap())) {
    const [next] = transition(sessionModel, state, event as SessionEvent);
    const from = serialize(state);
    if (serialize(next) === from || onPaths.has(`${from} ${JSON.stringify(event)}`)) continue;
    const prefix = toState.get(from)!;
    const steps = [...prefix.steps, { state: next, event }];
    paths.push({
      ...prefix,
      state: next,
      steps,
      weight: steps.length,
      test: (params) => model.testPath({ ...prefix, state: next, steps, weight: steps.length }, params),
    });
  }
  return paths;
}

/** Each scenario's coverage: together they must take every transition but MODEL_REACH.sessionModel's. */
const coverages: TransitionCoverage[] = [];

describe('agentSession model', () => {
  it('should take its states from the real session machine', () => {
    expect(Object.keys(sessionModel.states)).toEqual([
      'authenticating',
      'reserving',
      'active',
      'fallingBack',
      'released',
    ]);
    expect(Object.keys(sessionModel.states)).toEqual(Object.keys(agentSessionMachine.states));
    expect(Object.keys(STATES).sort()).toEqual(Object.keys(agentSessionMachine.states).sort());
    expect(sessionModel.states.released!.type).toBe('final');
  });

  describe.each(SCENARIOS)('when $name', (scenario) => {
    const model = sessionModelFor(scenario);
    const shortest = model.getShortestPaths();
    const paths = edgeCoveringPaths(model);
    const edges = new Set<string>();
    const visited = new Set<string>();
    const coverage = createTransitionCoverage(sessionModel);
    coverages.push(coverage);

    it('should have a small, finite graph', () => {
      expect(Object.keys(model.getAdjacencyMap()).length).toBeLessThan(140);
      expect(shortest.length).toBeGreaterThan(5);
      expect(paths.length).toBeGreaterThan(shortest.length);
    });

    it.each(paths.map((p) => [nameOf(p), p] as const))('should follow the path: %s', async (_name, path) => {
      (await drive(scenario, path, edges, coverage)).forEach((v) => visited.add(v));
    });

    it('should have visited every state and taken every transition of the model', () => {
      expect([...visited].sort()).toEqual(['active', 'authenticating', 'fallingBack', 'released']);
      expect([...allEdges(model)].filter((edge) => !edges.has(edge))).toEqual([]);
    });

    it("should have taken every transition of the machine but the scenario's unreached ones", () => {
      const missing = coverage.all.filter((t) => !coverage.taken().has(t.id)).map((t) => t.id);
      expect(missing).toEqual(coverage.all.map((t) => t.id).filter((id) => id in scenario.unreached));
    });
  });
});

describe('agentSession model, every scenario together', () => {
  it('should take every transition of the machine but the listed ones (test/helpers/modelReach.ts)', () => {
    const all = listTransitions(agentSessionMachine).map((t) => t.id);
    expect(coverages).toHaveLength(SCENARIOS.length);
    const untaken = all.filter((id) => coverages.every((c) => !c.taken().has(id)));
    expect(untaken).toEqual(all.filter((id) => id in MODEL_REACH.sessionModel.session));
  });
});

describe('agentSession outside the model', () => {
  // session.failure is not in the model while authenticating: the machine accepts it only in
  // active. Through the orchestrator a host can still report one (the agent is live from admission).
  it('should not resolve a failure reported while authenticating as if the agent had fallen back', async () => {
    const env = keyEnv();
    const gate = createGatedAuthenticator(env);
    const orch = createOrchestrator({
      env,
      authenticate: gate.authenticate,
      authTimeoutMs: 2 ** 31 - 1,
      clock: createManualClock(T0),
    });
    await orch.start();
    const fallbacks: OrchestratorEventMap['agent.fallback'][0][] = [];
    orch.on('agent.fallback', (e) => fallbacks.push(e));
    const spawn = track(orch.spawnAgent({ estimatedTokens: ESTIMATE, agentId: AGENT_ID }));
    const agent = orch.getAgent(AGENT_ID);
    const failure = track(agent.reportFailure({ status: 529 }));
    await flush();
    gate.grant('claude');
    await flush();
    expect(spawn.current().state).toBe('resolved');
    // Either the failure moves the agent to openai, or the report is refused; it must not resolve
    // with the agent still on the provider that failed and no fallback having happened.
    expect({ provider: agent.provider, failure: failure.current().state, fallbacks: fallbacks.length }).not.toEqual({
      provider: 'claude',
      failure: 'resolved',
      fallbacks: 0,
    });
    await orch.stop();
  });
});
