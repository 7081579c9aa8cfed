/**
 * Model-based tests of one agent's session: every shortest and every simple path through
 * authenticating → active ⇄ fallingBack → released, each driven against the real orchestrator.
 *
 * The model IS the real agentSessionMachine (its states, events, guards and assigns), with the
 * five named actions that talk to other actors provided as no-ops so the graph can be traversed
 * without a system. Its events are limited to what a host can cause through the public API, plus
 * the coordinator's answer in fallingBack, which is fixed by the scenario's limits:
 *
 * | model event                | done to the orchestrator                                       |
 * |----------------------------|----------------------------------------------------------------|
 * | credentials.granted        | open the authentication gate: the real env lookup finds the key |
 * | credentials.denied         | revoke the key from the env, open the gate: the lookup fails    |
 * | session.usage              | agent.reportUsage({ inputTokens: 500, outputTokens: 200 })      |
 * | session.failure            | agent.reportFailure({ status: 401 }) (auth: fallback, or the end) |
 * | session.release            | agent.release()                                                 |
 * | session.sweep (expired)    | clock.advance(lease + sweep interval)                           |
 * | session.fallbackAdmitted / | nothing: the coordinator answered inside the failure step; the  |
 * |   session.fallbackRefused  | step asserts the agent.fallback event it emitted                |
 *
 * After every step the orchestrator's observable state (stats(), agent.provider, agent.env,
 * isLive, usedTokens, allocatedTokens, the spawn and failure promises) is compared with the model
 * snapshot, replayed exactly along the path. fallingBack is transient in the orchestrator (the
 * coordinator answers the fallback request in the same step), so its check asserts what entering
 * fallingBack guarantees: the failed provider's slot and unused allocation are back and the env
 * holds no secret; the next step checks the rest.
 */
import { initialTransition, transition } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, createTestModel } from 'xstate/graph';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import type { EndReason, SessionEvent, SessionInput } from '../../machines/agentSession.types';
import { PROVIDER_IDS } from '../../machines/providers';
import { createManualClock, createOrchestrator } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, OrchestratorEventMap, ProviderId, ReleaseResult, UsageReceipt } from '../../src';
import { KEY_VARS, MODEL_KEYS, codeOf, createGatedAuthenticator, flush, keyEnv, track } from '../helpers/orchestratorDriver';
import type { Tracked } from '../helpers/orchestratorDriver';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const LEASE = 2 * HOUR;
const SWEEP = HOUR;
const ESTIMATE = 10_000;
/** claude: 100,000/day: min(10,000, floor(100,000 / 2)). */
const CLAUDE_ALLOCATION = 10_000;
/** openai: 12,000/day: min(10,000, floor(12,000 / 2)). */
const OPENAI_ALLOCATION = 6_000;
const USAGE_REPORT = { inputTokens: 500, outputTokens: 200 } as const;
const USAGE = USAGE_REPORT.inputTokens + USAGE_REPORT.outputTokens;
const AGENT_ID = 'model-agent';
/** Every active agent also gets these (src/providers AGENT_QUIET_ENV), each set to '1'. */
const QUIET_VARS = ['DISABLE_TELEMETRY', 'DISABLE_AUTOUPDATER', 'DISABLE_ERROR_REPORTING', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'];

const noop = () => undefined;
const sessionModel = agentSessionMachine.provide({
  actions: { requestCredentials: noop, notifyActivated: noop, notifyUsage: noop, requestFallback: noop, notifyEnded: noop },
});
type ModelSnapshot = SnapshotFrom<typeof sessionModel>;

const MODEL_INPUT: SessionInput = {
  sessionId: 'model-session',
  agentId: AGENT_ID,
  provider: 'claude',
  fallbackProviders: ['openai'],
  maxFallbacks: 1,
  estimatedTokens: ESTIMATE,
  allocatedTokens: CLAUDE_ALLOCATION,
  leaseMs: LEASE,
  now: 0,
};

interface Scenario {
  readonly name: string;
  readonly openai: { readonly dailyLimit: number; readonly maxConcurrent: number };
  /** The coordinator's answer to a fallback request under these limits. */
  readonly answer: SessionEvent;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'openai can take the session',
    openai: { dailyLimit: 12_000, maxConcurrent: 1 },
    answer: { type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: OPENAI_ALLOCATION },
  },
  {
    name: 'openai is disabled (daily limit 0)',
    openai: { dailyLimit: 0, maxConcurrent: 1 },
    answer: { type: 'session.fallbackRefused', code: 'no-provider', message: 'refused' },
  },
];

/** What a host can cause in each state (and the coordinator's answer in fallingBack). */
function eventsFor(scenario: Scenario, snapshot: ModelSnapshot): SessionEvent[] {
  const { provider, tokens } = snapshot.context;
  // One usage report per provider keeps the graph finite; the count is in the serialised state.
  const usage: SessionEvent[] = tokens.usedOnProvider === 0 ? [{ type: 'session.usage', tokens: USAGE, now: 0 }] : [];
  const release: SessionEvent = { type: 'session.release', now: 0 };
  const sweep: SessionEvent = { type: 'session.sweep', now: Number.MAX_SAFE_INTEGER };
  switch (snapshot.value) {
    case 'authenticating':
      return [
        { type: 'credentials.granted', provider, result: { source: 'model', hint: 'model', secretEnv: {}, env: {} } },
        { type: 'credentials.denied', provider, code: 'auth-failed', message: 'denied' },
        ...usage,
        release,
        sweep,
      ];
    case 'active':
      return [...usage, { type: 'session.failure', reason: 'auth', now: 0 }, release, sweep];
    case 'fallingBack':
      return [scenario.answer];
    default:
      return [];
  }
}

/** The state plus the context that decides what the orchestrator must show. */
function serialize(snapshot: ModelSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    provider: c.provider,
    fallbacks: c.fallbacks.length,
    holdsSlot: c.holdsSlot,
    allocated: c.tokens.allocated,
    usedOnProvider: c.tokens.usedOnProvider,
    used: c.tokens.used,
    reason: c.outcome?.reason ?? null,
  });
}

function modelFor(scenario: Scenario) {
  const events = (snapshot: ModelSnapshot) => eventsFor(scenario, snapshot);
  return createTestModel(sessionModel, {
    input: MODEL_INPUT,
    events,
    // createTestModel adds a bare `{ type }` for every other event the state accepts; keep only ours.
    filterEvents: (snapshot, event) => events(snapshot).some((e) => JSON.stringify(e) === JSON.stringify(event)),
    serializeState: (snapshot) => serialize(snapshot),
  });
}

const SPAWN_CODE_FOR_HOST_RELEASE: Partial<Record<EndReason, string>> = { released: 'agent-released' };

function expectedEndCode(snapshot: ModelSnapshot): string {
  const outcome = snapshot.context.outcome!;
  return outcome.error?.code ?? SPAWN_CODE_FOR_HOST_RELEASE[outcome.reason] ?? `unexpected reason ${outcome.reason}`;
}

function other(provider: ProviderId): ProviderId {
  return provider === 'claude' ? 'openai' : 'claude';
}

/** One orchestrator driven along one path, with the model replayed beside it. */
class SessionPathRunner {
  readonly fallbacks: OrchestratorEventMap['agent.fallback'][0][] = [];
  readonly visited: string[] = [];
  replayed: ModelSnapshot;
  everActive = false;
  failure: { current(): Tracked<unknown> } | null = null;

  private constructor(
    readonly orch: Orchestrator,
    readonly clock: ManualClock,
    readonly gate: ReturnType<typeof createGatedAuthenticator>,
    readonly agent: ManagedAgent,
    readonly spawn: { current(): Tracked<ManagedAgent> },
  ) {
    this.replayed = initialTransition(sessionModel, MODEL_INPUT)[0];
    orch.on('agent.fallback', (e) => this.fallbacks.push(e));
  }

  static async start(scenario: Scenario): Promise<SessionPathRunner> {
    const clock = createManualClock(T0);
    const env = keyEnv();
    const gate = createGatedAuthenticator(env);
    const orch = createOrchestrator({
      env,
      authenticate: gate.authenticate,
      authTimeoutMs: 2 ** 31 - 1,
      clock,
      leaseMs: LEASE,
      sweepIntervalMs: SWEEP,
      limits: { claude: { dailyLimit: 100_000, maxConcurrent: 2 }, openai: scenario.openai },
    });
    await orch.start();
    const spawn = track(orch.spawnAgent({ estimatedTokens: ESTIMATE, agentId: AGENT_ID }));
    // Admission is one synchronous step: the agent is live (and authenticating) at once.
    const agent = orch.getAgent(AGENT_ID);
    await flush();
    return new SessionPathRunner(orch, clock, gate, agent, spawn);
  }

  async exec(event: SessionEvent, target: ModelSnapshot): Promise<void> {
    const before = this.replayed;
    const [next] = transition(sessionModel, before, event);
    expect(serialize(next)).toBe(serialize(target));
    this.replayed = next;
    switch (event.type) {
      case 'credentials.granted':
        this.gate.grant(before.context.provider);
        break;
      case 'credentials.denied':
        this.gate.deny(before.context.provider);
        break;
      case 'session.usage': {
        const receipt: UsageReceipt = this.agent.reportUsage(USAGE_REPORT);
        const t = next.context.tokens;
        expect(receipt).toEqual({ usedTokens: t.used, allocatedTokens: t.allocated, remainingTokens: t.allocated - t.usedOnProvider });
        break;
      }
      case 'session.failure':
        this.failure = track(this.agent.reportFailure({ status: 401 }));
        break;
      case 'session.release': {
        const result: ReleaseResult = await this.agent.release();
        expect(result).toEqual({
          usedTokens: next.output!.usedTokens,
          returnedTokens: next.output!.returnedTokens,
          provider: next.context.provider,
          fallbacks: next.context.fallbacks,
          reason: 'released',
        });
        break;
      }
      case 'session.sweep':
        this.clock.advance(LEASE + SWEEP);
        break;
      case 'session.fallbackAdmitted':
      case 'session.fallbackRefused':
        // The coordinator answered inside the step that entered fallingBack; this is what it said.
        expect(this.fallbacks.at(-1)).toEqual({
          agentId: AGENT_ID,
          sessionId: this.agent.sessionId,
          from: before.context.provider,
          to: event.type === 'session.fallbackAdmitted' ? event.provider : null,
          reason: before.context.pending.reason,
          latencyMs: 0,
        });
        expect(this.fallbacks).toHaveLength(next.context.fallbacks.length + (event.type === 'session.fallbackRefused' ? 1 : 0));
        break;
      default:
        throw new Error(`the model produced an event the host cannot cause: ${event.type}`);
    }
    await flush();
  }

  check(target: ModelSnapshot): void {
    const m = this.replayed;
    expect(serialize(m)).toBe(serialize(target));
    this.visited.push(String(m.value));
    const c = m.context;
    const stats = this.orch.stats();
    expect(stats.queued).toBe(0);
    if (m.value === 'fallingBack') {
      // The failed provider got its slot and unused allocation back; its usage stays counted.
      expect(stats.providers[c.provider]).toMatchObject({ active: 0, reserved: 0, used: c.tokens.usedOnProvider });
      expect(this.agent.env).toEqual({});
      return;
    }
    if (m.value === 'active') this.everActive = true;
    const done = m.status === 'done';
    const holds = c.holdsSlot && !done;
    const used: Record<ProviderId, number> = { claude: 0, openai: 0 };
    used[c.provider] = c.tokens.usedOnProvider;
    used[other(c.provider)] = c.tokens.used - c.tokens.usedOnProvider;
    for (const p of PROVIDER_IDS) {
      const mine = p === c.provider && holds;
      expect({ provider: p, ...pick(stats.providers[p]) }).toEqual({
        provider: p,
        active: mine ? 1 : 0,
        reserved: mine ? c.tokens.allocated - c.tokens.usedOnProvider : 0,
        used: used[p],
        overrun: 0,
      });
    }

    expect(this.agent.isLive).toBe(!done);
    expect(this.agent.provider).toBe(c.provider);
    expect(this.agent.usedTokens).toBe(c.tokens.used);
    if (!done) expect(this.agent.allocatedTokens).toBe(c.tokens.allocated);
    expect(this.orch.agents().map((a) => a.id)).toEqual(done ? [] : [AGENT_ID]);

    const env = this.agent.env;
    if (m.value === 'active') {
      const secretVars = KEY_VARS[c.provider];
      expect(Object.keys(env).sort()).toEqual(['AGENTVISOR_AGENT_ID', 'AGENTVISOR_SESSION_ID', ...QUIET_VARS, ...secretVars].sort());
      for (const name of secretVars) expect(env[name]).toBe(MODEL_KEYS[c.provider]);
      expect(env.AGENTVISOR_AGENT_ID).toBe(AGENT_ID);
      expect(env.AGENTVISOR_SESSION_ID).toBe(this.agent.sessionId);
      for (const name of QUIET_VARS) expect(env[name]).toBe('1');
    } else {
      expect(env).toEqual({});
    }
    expect(Object.values(env)).not.toContain(MODEL_KEYS[other(c.provider)]);

    const spawn = this.spawn.current();
    if (this.everActive) {
      expect(spawn).toEqual({ state: 'resolved', value: this.agent });
    } else if (done) {
      expect(spawn.state).toBe('rejected');
      if (spawn.state === 'rejected') expect(codeOf(spawn.error)).toBe(expectedEndCode(m));
    } else {
      expect(spawn.state).toBe('pending');
    }

    if (this.failure) {
      const failure = this.failure.current();
      if (m.value === 'active') {
        expect(failure).toEqual({ state: 'resolved', value: { action: 'fallback', kind: 'auth', from: 'claude', to: m.context.provider, latencyMs: 0 } });
        this.failure = null;
      } else if (done) {
        expect(failure.state).toBe('rejected');
        if (failure.state === 'rejected') expect(codeOf(failure.error)).toBe(expectedEndCode(m));
      } else {
        expect(failure.state).toBe('pending');
      }
    }

    if (m.value === 'authenticating') expect(this.gate.waiting()).toEqual([c.provider]);
    if (m.value === 'active') expect(this.gate.waiting()).toEqual([]);
  }

  async stop(): Promise<void> {
    await this.orch.stop();
  }
}

function pick(s: { active: number; reserved: number; used: number; overrun: number }) {
  return { active: s.active, reserved: s.reserved, used: s.used, overrun: s.overrun };
}

type TestPath = ReturnType<ReturnType<typeof modelFor>['getShortestPaths']>[number];

/** A readable name: the events after start, and where the path ends. */
function nameOf(path: TestPath): string {
  const events = path.steps.slice(1).map((s) => s.event.type.replace(/^(session|credentials)\./, ''));
  const end = path.state.context.outcome ? `released (${path.state.context.outcome.reason})` : `${String(path.state.value)} on ${path.state.context.provider}`;
  return `${events.join(' → ') || 'start'} ⇒ ${end}`;
}

async function drive(scenario: Scenario, path: TestPath, coverage: Set<string>): Promise<string[]> {
  const runner = await SessionPathRunner.start(scenario);
  let from = serialize(runner.replayed);
  try {
    const exec = async (step: { event: { type: string }; state: ModelSnapshot }) => {
      // The step's event is one of eventsFor(...): the full event object, typed by its `type` only here.
      const event = step.event as SessionEvent;
      await runner.exec(event, step.state);
      const to = serialize(step.state);
      coverage.add(`${from} --${JSON.stringify(event)}--> ${to}`);
      from = to;
    };
    await path.test({
      states: { '*': (state) => runner.check(state) },
      events: {
        'credentials.granted': exec,
        'credentials.denied': exec,
        'session.usage': exec,
        'session.failure': exec,
        'session.release': exec,
        'session.sweep': exec,
        'session.fallbackAdmitted': exec,
        'session.fallbackRefused': exec,
      },
    });
    return runner.visited;
  } finally {
    await runner.stop();
  }
}

function allEdges(model: ReturnType<typeof modelFor>): Set<string> {
  const edges = new Set<string>();
  for (const { state, event, nextState } of adjacencyMapToArray(model.getAdjacencyMap())) {
    const from = serialize(state);
    const to = serialize(nextState);
    if (to !== from) edges.add(`${from} --${JSON.stringify(event)}--> ${to}`);
  }
  return edges;
}

describe('agentSession model', () => {
  it('should take its states from the real session machine', () => {
    expect(Object.keys(sessionModel.states)).toEqual(['authenticating', 'reserving', 'active', 'fallingBack', 'released']);
    expect(Object.keys(sessionModel.states)).toEqual(Object.keys(agentSessionMachine.states));
    expect(sessionModel.states.released!.type).toBe('final');
  });

  describe.each(SCENARIOS)('when $name', (scenario) => {
    const model = modelFor(scenario);
    const shortest = model.getShortestPaths();
    const simple = model.getSimplePaths();
    const coverage = new Set<string>();
    const visited = new Set<string>();

    it('should have a small, finite graph', () => {
      expect(Object.keys(model.getAdjacencyMap()).length).toBeLessThan(60);
      expect(shortest.length).toBeGreaterThan(5);
      expect(simple.length).toBeGreaterThanOrEqual(shortest.length);
    });

    it.each(shortest.map((p) => [nameOf(p), p] as const))('should follow the shortest path: %s', async (_name, path) => {
      (await drive(scenario, path, coverage)).forEach((v) => visited.add(v));
    });

    it.each(simple.map((p) => [nameOf(p), p] as const))('should follow the simple path: %s', async (_name, path) => {
      (await drive(scenario, path, coverage)).forEach((v) => visited.add(v));
    });

    it('should have visited every state and taken every transition of the model', () => {
      expect([...visited].sort()).toEqual(['active', 'authenticating', 'fallingBack', 'released']);
      const missing = [...allEdges(model)].filter((edge) => !coverage.has(edge));
      expect(missing).toEqual([]);
    });
  });
});

describe('agentSession outside the model', () => {
  // session.failure is not in the model while authenticating: the machine accepts it only in
  // active. Through the orchestrator a host can still report one (the agent is live from admission).
  it('should not resolve a failure reported while authenticating as if the agent had fallen back', async () => {
    const env = keyEnv();
    const gate = createGatedAuthenticator(env);
    const orch = createOrchestrator({ env, authenticate: gate.authenticate, authTimeoutMs: 2 ** 31 - 1, clock: createManualClock(T0) });
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
