/**
 * Model-based tests of the coordinator's budget, concurrency and wait queue, driven against the
 * real orchestrator along every shortest path of a small model, plus one path for each kind of
 * transition (see transitionPaths).
 *
 * Limits are tiny (claude 100 tokens/day and 2 at once, openai 50 and 1) so the state space stays
 * small. The model is written here, from the rules in docs (allocation min(estimate,
 * floor(available / 2)); refusals concurrency over quota over no-provider; usage within the
 * allocation moves reserved to used; usage beyond it is topped up with the overage plus
 * min(estimate, floor(free / 2)) or, when the window cannot cover it, counted as overrun and the
 * session ended; release returns the unused allocation and admits waiters in order; the reset
 * sets used to 0; an expired lease releases the session). It does not import machines/budget.ts,
 * so a slip in that arithmetic shows up as a difference.
 *
 * | model event     | done to the orchestrator                                                  |
 * |-----------------|---------------------------------------------------------------------------|
 * | spawn(30 / 80)  | orch.spawnAgent({ estimatedTokens })                                      |
 * | spawn(30, wait) | orch.spawnAgent({ estimatedTokens: 30, waitMs: 60 s })                    |
 * | usage           | oldest live agent: reportUsage({ inputTokens: 40, outputTokens: 10 })     |
 * | release         | oldest live agent: release()                                              |
 * | reset           | clock.set(next 00:00 UTC): waits expire first, then the daily reset       |
 * | sweep           | clock.advance(lease + sweep interval): waits expire, resets pass, every   |
 * |                 | live lease ends and the sweep releases it                                 |
 *
 * At most two spawns wait at once (the queue is part of the state). The lease is 20 days so that a
 * reset (at most a day away) never expires a session; a sweep step
 * therefore also passes resets. The runner checks that no reset step crosses a lease.
 * States are serialised by value + per-provider {active, used, reserved, overrun} + the queue +
 * each live agent's (provider, estimate, unused allocation): the last decides later top-ups and
 * returns, so without it equal-looking states would behave differently. The model is replayed
 * exactly along each path, and after every step stats(), the live agents and the outcome of the
 * step (admission, refusal code, receipt, release result, promise states) are compared.
 */
import { assign, initialTransition, setup, transition } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, createTestModel } from 'xstate/graph';
import { createManualClock, createOrchestrator, windowAt } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, OrchestratorEventMap, ProviderId } from '../../src';
import { codeOf, flush, keyEnv, track } from '../helpers/orchestratorDriver';
import type { Tracked } from '../helpers/orchestratorDriver';
import { DAY, T0 } from '../helpers/timeOrigin';

const LEASE = 20 * DAY;
const SWEEP = DAY;
const WAIT = 60_000;
const USAGE_REPORT = { inputTokens: 40, outputTokens: 10 } as const;
const USAGE = USAGE_REPORT.inputTokens + USAGE_REPORT.outputTokens;
const PROVIDERS = ['claude', 'openai'] as const;
const CHAIN: readonly ProviderId[] = ['claude', 'openai'];
const LIMITS: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>> = {
  claude: { dailyLimit: 100, maxConcurrent: 2 },
  openai: { dailyLimit: 50, maxConcurrent: 1 },
};
/** Waiting spawns beyond this are left out of the model (the queue length is in the state). */
const MAX_WAITING = 2;

type RefusalCode = 'quota-exhausted' | 'concurrency-limit' | 'no-provider';

interface Counters {
  readonly used: number;
  readonly reserved: number;
  readonly active: number;
  readonly overrun: number;
}

interface LiveAgent {
  readonly id: number;
  readonly provider: ProviderId;
  readonly estimate: number;
  readonly allocated: number;
  readonly usedOnProvider: number;
}

interface Waiter {
  readonly id: number;
  readonly estimate: number;
}

interface Admission {
  readonly id: number;
  readonly provider: ProviderId;
  readonly allocation: number;
}

/** What one step must make the orchestrator do. */
type Outcome =
  | { readonly kind: 'start' }
  | { readonly kind: 'admitted'; readonly admission: Admission }
  | { readonly kind: 'queued'; readonly id: number; readonly code: RefusalCode; readonly position: number }
  | { readonly kind: 'refused'; readonly id: number; readonly code: RefusalCode }
  | {
      readonly kind: 'usage';
      readonly id: number;
      readonly used: number;
      readonly allocated: number;
      readonly remaining: number;
      readonly topUp: number;
    }
  | { readonly kind: 'overrun'; readonly id: number; readonly overrunTokens: number }
  | {
      readonly kind: 'released';
      readonly id: number;
      readonly usedTokens: number;
      readonly returnedTokens: number;
      readonly drained: readonly Admission[];
    }
  | {
      readonly kind: 'time';
      readonly waitRefusals: readonly { id: number; code: RefusalCode }[];
      readonly expired: readonly number[];
    };

interface CoordinatorModelContext {
  readonly budgets: Readonly<Record<ProviderId, Counters>>;
  readonly agents: readonly LiveAgent[];
  readonly queue: readonly Waiter[];
  readonly nextId: number;
  /** Usage per agent id over its life (for release results). */
  readonly usedBy: Readonly<Record<number, number>>;
  readonly outcome: Outcome;
}

type CoordinatorModelEvent =
  | { readonly type: 'spawn'; readonly estimatedTokens: number; readonly waitMs: number }
  | { readonly type: 'usage' }
  | { readonly type: 'release' }
  | { readonly type: 'reset' }
  | { readonly type: 'sweep' };

const zero: Counters = { used: 0, reserved: 0, active: 0, overrun: 0 };

function withCounters(
  budgets: Readonly<Record<ProviderId, Counters>>,
  p: ProviderId,
  patch: Partial<Counters>,
): Record<ProviderId, Counters> {
  return { ...budgets, [p]: { ...budgets[p], ...patch } };
}

function available(budgets: Readonly<Record<ProviderId, Counters>>, p: ProviderId): number {
  return Math.max(0, LIMITS[p].dailyLimit - budgets[p].used - budgets[p].reserved);
}

/** The admission rule, written from the spec. */
function decide(
  budgets: Readonly<Record<ProviderId, Counters>>,
  estimate: number,
): { provider: ProviderId; allocation: number } | { code: RefusalCode } {
  let code: RefusalCode = 'no-provider';
  for (const p of CHAIN) {
    const limits = LIMITS[p];
    if (limits.dailyLimit === 0 || limits.maxConcurrent === 0) continue;
    if (budgets[p].active >= limits.maxConcurrent) {
      code = 'concurrency-limit';
      continue;
    }
    const free = available(budgets, p);
    const allocation = Math.min(estimate, Math.floor(free / 2));
    if (free >= estimate && allocation > 0) return { provider: p, allocation };
    if (code === 'no-provider') code = 'quota-exhausted';
  }
  return { code };
}

function admit(
  context: CoordinatorModelContext,
  id: number,
  estimate: number,
  provider: ProviderId,
  allocation: number,
): Pick<CoordinatorModelContext, 'budgets' | 'agents'> {
  const b = context.budgets[provider];
  return {
    budgets: withCounters(context.budgets, provider, { reserved: b.reserved + allocation, active: b.active + 1 }),
    agents: [...context.agents, { id, provider, estimate, allocated: allocation, usedOnProvider: 0 }],
  };
}

/** Admits waiters in queue order; one that does not fit stays and later ones may go. */
function drain(context: CoordinatorModelContext): { context: CoordinatorModelContext; drained: Admission[] } {
  let next = context;
  const waiting: Waiter[] = [];
  const drained: Admission[] = [];
  for (const w of context.queue) {
    const d = decide(next.budgets, w.estimate);
    if ('provider' in d) {
      next = { ...next, ...admit(next, w.id, w.estimate, d.provider, d.allocation) };
      drained.push({ id: w.id, provider: d.provider, allocation: d.allocation });
    } else {
      waiting.push(w);
    }
  }
  return { context: { ...next, queue: waiting }, drained };
}

function endAgent(context: CoordinatorModelContext, agent: LiveAgent): CoordinatorModelContext {
  const b = context.budgets[agent.provider];
  const unused = agent.allocated - agent.usedOnProvider;
  return {
    ...context,
    budgets: withCounters(context.budgets, agent.provider, { reserved: b.reserved - unused, active: b.active - 1 }),
    agents: context.agents.filter((a) => a.id !== agent.id),
  };
}

function applySpawn(context: CoordinatorModelContext, estimate: number, waitMs: number): CoordinatorModelContext {
  const id = context.nextId;
  const base = { ...context, nextId: id + 1 };
  const d = decide(context.budgets, estimate);
  if ('provider' in d) {
    return {
      ...base,
      ...admit(context, id, estimate, d.provider, d.allocation),
      outcome: { kind: 'admitted', admission: { id, provider: d.provider, allocation: d.allocation } },
    };
  }
  if (waitMs > 0) {
    return {
      ...base,
      queue: [...context.queue, { id, estimate }],
      outcome: { kind: 'queued', id, code: d.code, position: context.queue.length },
    };
  }
  return { ...base, outcome: { kind: 'refused', id, code: d.code } };
}

function applyUsage(context: CoordinatorModelContext): CoordinatorModelContext {
  const agent = context.agents[0]!;
  const p = agent.provider;
  const within = Math.min(USAGE, agent.allocated - agent.usedOnProvider);
  const overage = USAGE - within;
  const used = context.budgets[p].used + USAGE;
  const reserved = context.budgets[p].reserved - within;
  const usedBy = { ...context.usedBy, [agent.id]: (context.usedBy[agent.id] ?? 0) + USAGE };
  const counted = { ...agent, usedOnProvider: agent.usedOnProvider + USAGE };
  const free = LIMITS[p].dailyLimit - used - reserved;
  if (overage > 0 && free < 0) {
    // Only the part of this report that the window could not cover is overrun.
    const overrunTokens = Math.min(overage, -free);
    const budgets = withCounters(context.budgets, p, {
      used,
      reserved,
      overrun: context.budgets[p].overrun + overrunTokens,
    });
    const ended = endAgent({ ...context, budgets, usedBy }, { ...counted, allocated: counted.usedOnProvider });
    return { ...drain(ended).context, outcome: { kind: 'overrun', id: agent.id, overrunTokens } };
  }
  const extra = overage > 0 ? Math.min(agent.estimate, Math.floor(free / 2)) : 0;
  const toppedUp = { ...counted, allocated: agent.allocated + (overage > 0 ? overage + extra : 0) };
  return {
    ...context,
    usedBy,
    budgets: withCounters(context.budgets, p, { used, reserved: reserved + extra }),
    agents: [toppedUp, ...context.agents.slice(1)],
    outcome: {
      kind: 'usage',
      id: agent.id,
      used: usedBy[agent.id]!,
      allocated: toppedUp.allocated,
      remaining: toppedUp.allocated - toppedUp.usedOnProvider,
      topUp: toppedUp.allocated - agent.allocated,
    },
  };
}

function applyRelease(context: CoordinatorModelContext): CoordinatorModelContext {
  const agent = context.agents[0]!;
  const { context: next, drained } = drain(endAgent(context, agent));
  return {
    ...next,
    outcome: {
      kind: 'released',
      id: agent.id,
      usedTokens: context.usedBy[agent.id] ?? 0,
      returnedTokens: agent.allocated - agent.usedOnProvider,
      drained,
    },
  };
}

/** Time passes: every wait ends first (60 s is shorter than any other timer), then resets, then (sweep) every lease. */
function applyTime(context: CoordinatorModelContext, expireLeases: boolean): CoordinatorModelContext {
  const waitRefusals = context.queue.map((w) => {
    const d = decide(context.budgets, w.estimate);
    return { id: w.id, code: 'code' in d ? d.code : ('concurrency-limit' as const) };
  });
  let budgets: Record<ProviderId, Counters> = { ...context.budgets };
  for (const p of PROVIDERS) budgets = withCounters(budgets, p, { used: 0, overrun: 0 });
  let next: CoordinatorModelContext = { ...context, budgets, queue: [] };
  const expired = expireLeases ? context.agents.map((a) => a.id) : [];
  if (expireLeases) for (const agent of context.agents) next = endAgent(next, agent);
  return { ...next, outcome: { kind: 'time', waitRefusals, expired } };
}

const coordinatorModel = setup({
  types: { context: {} as CoordinatorModelContext, events: {} as CoordinatorModelEvent },
}).createMachine({
  id: 'coordinatorModel',
  context: {
    budgets: { claude: zero, openai: zero },
    agents: [],
    queue: [],
    nextId: 1,
    usedBy: {},
    outcome: { kind: 'start' },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        spawn: { actions: assign(({ context, event }) => applySpawn(context, event.estimatedTokens, event.waitMs)) },
        usage: { actions: assign(({ context }) => applyUsage(context)) },
        release: { actions: assign(({ context }) => applyRelease(context)) },
        reset: { actions: assign(({ context }) => applyTime(context, false)) },
        sweep: { actions: assign(({ context }) => applyTime(context, true)) },
      },
    },
  },
});
type ModelSnapshot = SnapshotFrom<typeof coordinatorModel>;

const SPAWN_30 = { type: 'spawn', estimatedTokens: 30, waitMs: 0 } as const;
const SPAWN_80 = { type: 'spawn', estimatedTokens: 80, waitMs: 0 } as const;
const SPAWN_30_WAIT = { type: 'spawn', estimatedTokens: 30, waitMs: WAIT } as const;
const USAGE_EVENT = { type: 'usage' } as const;
const RELEASE = { type: 'release' } as const;
const RESET = { type: 'reset' } as const;
const SWEEP_EVENT = { type: 'sweep' } as const;

function eventsFor(snapshot: ModelSnapshot): CoordinatorModelEvent[] {
  const { agents, queue } = snapshot.context;
  return [
    SPAWN_30,
    SPAWN_80,
    ...(queue.length < MAX_WAITING ? [SPAWN_30_WAIT] : []),
    ...(agents.length > 0 ? [USAGE_EVENT, RELEASE] : []),
    RESET,
    SWEEP_EVENT,
  ];
}

function serialize(snapshot: ModelSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    budgets: PROVIDERS.map((p) => [
      c.budgets[p].active,
      c.budgets[p].used,
      c.budgets[p].reserved,
      c.budgets[p].overrun,
    ]),
    queue: c.queue.map((w) => w.estimate),
    agents: c.agents.map((a) => [a.provider, a.estimate, a.allocated - a.usedOnProvider]),
  });
}

const model = createTestModel(coordinatorModel, {
  events: eventsFor,
  filterEvents: (snapshot, event) => eventsFor(snapshot).some((e) => JSON.stringify(e) === JSON.stringify(event)),
  serializeState: (snapshot) => serialize(snapshot),
});

/** One orchestrator driven along one path, with the model replayed beside it. */
class CoordinatorPathRunner {
  replayed: ModelSnapshot = initialTransition(coordinatorModel)[0];
  readonly spawns = new Map<number, { current(): Tracked<ManagedAgent> }>();
  readonly agents = new Map<number, ManagedAgent>();
  readonly lastActivity = new Map<number, number>();
  readonly queued: OrchestratorEventMap['agent.queued'][0][] = [];
  readonly overruns: OrchestratorEventMap['quota.overrun'][0][] = [];
  readonly resets: string[] = [];

  private constructor(
    readonly orch: Orchestrator,
    readonly clock: ManualClock,
  ) {
    orch.on('agent.queued', (e) => this.queued.push(e));
    orch.on('quota.overrun', (e) => this.overruns.push(e));
    orch.on('quota.reset', (e) => this.resets.push(e.day));
  }

  static async start(): Promise<CoordinatorPathRunner> {
    const clock = createManualClock(T0);
    const orch = createOrchestrator({
      env: keyEnv(),
      clock,
      limits: LIMITS,
      fallbackChain: CHAIN,
      leaseMs: LEASE,
      sweepIntervalMs: SWEEP,
    });
    await orch.start();
    return new CoordinatorPathRunner(orch, clock);
  }

  async exec(event: CoordinatorModelEvent, target: ModelSnapshot): Promise<void> {
    const before = this.replayed;
    const [next] = transition(coordinatorModel, before, event);
    expect(serialize(next)).toBe(serialize(target));
    this.replayed = next;
    const outcome = next.context.outcome;
    switch (event.type) {
      case 'spawn': {
        const id = before.context.nextId;
        this.spawns.set(
          id,
          track(
            this.orch.spawnAgent({ estimatedTokens: event.estimatedTokens, waitMs: event.waitMs, agentId: `m${id}` }),
          ),
        );
        await flush();
        const spawned = this.spawns.get(id)!.current();
        if (outcome.kind === 'admitted') {
          this.expectAdmitted(outcome.admission);
        } else if (outcome.kind === 'queued') {
          expect(spawned.state).toBe('pending');
          expect(this.queued.at(-1)).toEqual({ agentId: `m${id}`, position: outcome.position, code: outcome.code });
        } else if (outcome.kind === 'refused') {
          expect(spawned.state).toBe('rejected');
          if (spawned.state === 'rejected') expect(codeOf(spawned.error)).toBe(outcome.code);
        } else {
          throw new Error(`a spawn cannot end with ${outcome.kind}`);
        }
        return;
      }
      case 'usage': {
        const oldest = before.context.agents[0]!;
        const agent = this.agents.get(oldest.id)!;
        this.lastActivity.set(oldest.id, this.clock.now());
        let thrown: unknown = null;
        let receipt: unknown = null;
        try {
          receipt = agent.reportUsage(USAGE_REPORT);
        } catch (error) {
          thrown = error;
        }
        await flush();
        if (outcome.kind === 'usage') {
          expect(thrown).toBeNull();
          expect(receipt).toEqual({
            usedTokens: outcome.used,
            allocatedTokens: outcome.allocated,
            remainingTokens: outcome.remaining,
          });
        } else if (outcome.kind === 'overrun') {
          expect(codeOf(thrown)).toBe('quota-exhausted');
          expect(this.overruns.at(-1)).toEqual({
            provider: oldest.provider,
            agentId: `m${oldest.id}`,
            sessionId: agent.sessionId,
            overrunTokens: outcome.overrunTokens,
          });
          expect(agent.isLive).toBe(false);
        } else {
          throw new Error(`usage cannot end with ${outcome.kind}`);
        }
        return;
      }
      case 'release': {
        if (outcome.kind !== 'released') throw new Error(`release cannot end with ${outcome.kind}`);
        const agent = this.agents.get(outcome.id)!;
        const result = await agent.release();
        await flush();
        expect({ usedTokens: result.usedTokens, returnedTokens: result.returnedTokens, reason: result.reason }).toEqual(
          {
            usedTokens: outcome.usedTokens,
            returnedTokens: outcome.returnedTokens,
            reason: 'released',
          },
        );
        for (const admission of outcome.drained) this.expectAdmitted(admission);
        return;
      }
      case 'reset':
      case 'sweep': {
        if (outcome.kind !== 'time') throw new Error(`time cannot end with ${outcome.kind}`);
        const resetsBefore = this.resets.length;
        if (event.type === 'reset') {
          const at = windowAt(this.clock.now()).nextResetAt;
          // Guard of the harness, not of the system: a reset step must not also end a lease.
          for (const [id, since] of this.lastActivity)
            expect({ id, leaseEndsAfterReset: since + LEASE > at }).toEqual({ id, leaseEndsAfterReset: true });
          this.clock.set(at);
        } else {
          this.clock.advance(LEASE + SWEEP);
        }
        await flush();
        expect(this.resets.length).toBeGreaterThan(resetsBefore);
        for (const { id, code } of outcome.waitRefusals) {
          const spawned = this.spawns.get(id)!.current();
          expect({
            id,
            state: spawned.state,
            code: spawned.state === 'rejected' ? codeOf(spawned.error) : null,
          }).toEqual({ id, state: 'rejected', code });
        }
        for (const id of outcome.expired) {
          expect({ id, live: this.agents.get(id)!.isLive }).toEqual({ id, live: false });
          this.lastActivity.delete(id);
        }
        return;
      }
    }
  }

  private expectAdmitted(admission: Admission): void {
    const spawned = this.spawns.get(admission.id)!.current();
    expect(spawned.state).toBe('resolved');
    if (spawned.state !== 'resolved') return;
    const agent = spawned.value;
    expect({ id: agent.id, provider: agent.provider, allocatedTokens: agent.allocatedTokens }).toEqual({
      id: `m${admission.id}`,
      provider: admission.provider,
      allocatedTokens: admission.allocation,
    });
    this.agents.set(admission.id, agent);
    this.lastActivity.set(admission.id, this.clock.now());
  }

  check(target: ModelSnapshot): void {
    const m = this.replayed;
    expect(serialize(m)).toBe(serialize(target));
    const stats = this.orch.stats();
    for (const p of PROVIDERS) {
      const s = stats.providers[p];
      expect({ provider: p, used: s.used, reserved: s.reserved, active: s.active, overrun: s.overrun }).toEqual({
        provider: p,
        ...m.context.budgets[p],
      });
    }
    expect(stats.queued).toBe(m.context.queue.length);
    const live = this.orch.agents().map((a) => ({
      id: a.id,
      provider: a.provider,
      allocatedTokens: a.allocatedTokens,
      usedTokens: a.usedTokens,
      isLive: a.isLive,
    }));
    expect(live).toEqual(
      m.context.agents.map((a) => ({
        id: `m${a.id}`,
        provider: a.provider,
        allocatedTokens: a.allocated,
        usedTokens: m.context.usedBy[a.id] ?? 0,
        isLive: true,
      })),
    );
    for (const w of m.context.queue)
      expect({ id: w.id, state: this.spawns.get(w.id)!.current().state }).toEqual({ id: w.id, state: 'pending' });
  }

  async stop(): Promise<void> {
    await this.orch.stop();
  }
}

type TestPath = ReturnType<typeof model.getShortestPaths>[number];
/** A path as model.testPath takes it: each step is an event and the state it leads to. */
type StatePath = Pick<TestPath, 'state' | 'steps' | 'weight'>;

function nameOf(path: StatePath): string {
  return (
    path.steps
      .slice(1)
      .map(({ event }) => nameOfEvent(event))
      .join(' → ') || 'start'
  );
}

async function drive(path: StatePath, coverage: Set<string>): Promise<void> {
  const runner = await CoordinatorPathRunner.start();
  let from = serialize(runner.replayed);
  try {
    const exec = async (step: { event: { type: string }; state: ModelSnapshot }) => {
      // The step's event is one of eventsFor(...): the full event object, typed by its `type` only here.
      const event = step.event as CoordinatorModelEvent;
      await runner.exec(event, step.state);
      coverage.add(from);
      from = serialize(step.state);
      coverage.add(from);
    };
    await model.testPath(path, {
      states: { '*': (state) => runner.check(state) },
      events: { spawn: exec, usage: exec, release: exec, reset: exec, sweep: exec },
    });
  } finally {
    await runner.stop();
  }
}

/** The kind of transition an edge is: its event and what it made happen. */
function signatureOf(event: CoordinatorModelEvent, outcome: Outcome): string {
  const what = (() => {
    switch (outcome.kind) {
      case 'admitted':
        return `admitted on ${outcome.admission.provider}`;
      case 'queued':
      case 'refused':
        return `${outcome.kind} ${outcome.code}`;
      case 'released':
        return `released${outcome.drained.length > 0 ? ' and admitted a waiter' : ''}${outcome.returnedTokens > 0 ? ' returning tokens' : ''}`;
      case 'usage':
        return outcome.topUp > 0 ? 'topped up' : 'within the allocation';
      case 'overrun':
        return 'overrun';
      case 'time': {
        const codes = [...new Set(outcome.waitRefusals.map((w) => w.code))].sort().join(', ');
        const waits = outcome.waitRefusals.length > 0 ? `waits refused (${codes})` : 'no waits';
        return `${waits}, ${outcome.expired.length > 0 ? 'leases expired' : 'no leases'}`;
      }
      default:
        return outcome.kind;
    }
  })();
  return `${nameOfEvent(event)}: ${what}`;
}

function nameOfEvent(event: CoordinatorModelEvent): string {
  return event.type === 'spawn' ? `spawn(${event.estimatedTokens}${event.waitMs > 0 ? ', wait' : ''})` : event.type;
}

/**
 * Shortest paths reach every state but not every kind of transition (a sweep that empties
 * everything lands on the start state, which no shortest path needs). For each kind of transition
 * in the graph, one more path: the shortest path to the nearest state that has it, then the event.
 */
function transitionPaths(paths: readonly TestPath[]): Map<string, StatePath> {
  const toState = new Map(paths.map((p) => [serialize(p.state), p] as const));
  const best = new Map<string, StatePath>();
  for (const { state: from, event, nextState: state } of adjacencyMapToArray(model.getAdjacencyMap())) {
    const prefix = toState.get(serialize(from));
    if (!prefix) throw new Error(`no shortest path reaches ${serialize(from)}`);
    const signature = signatureOf(event, state.context.outcome);
    if ((best.get(signature)?.steps.length ?? Infinity) > prefix.steps.length + 1) {
      best.set(signature, { state, steps: [...prefix.steps, { state, event }], weight: prefix.weight + 1 });
    }
  }
  return new Map([...best.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

describe('coordinator model', () => {
  const shortest = model.getShortestPaths();
  const byTransition = transitionPaths(model.getShortestPaths({ allowDuplicatePaths: true }));
  const states = Object.keys(model.getAdjacencyMap());
  const visited = new Set<string>();

  it('should have a graph small enough to drive every shortest path', () => {
    expect(states.length).toBeGreaterThan(100);
    expect(states.length).toBeLessThan(1_000);
  });

  it('should include every kind of transition the spec describes', () => {
    expect([...byTransition.keys()]).toEqual(
      expect.arrayContaining([
        'release: released and admitted a waiter returning tokens',
        'reset: waits refused (concurrency-limit), no leases',
        'reset: waits refused (quota-exhausted), no leases',
        'spawn(30): admitted on claude',
        'spawn(30): admitted on openai',
        'spawn(30): refused concurrency-limit',
        'spawn(30, wait): queued concurrency-limit',
        'spawn(30, wait): queued quota-exhausted',
        'spawn(80): refused quota-exhausted',
        'sweep: no waits, leases expired',
        'sweep: waits refused (concurrency-limit), leases expired',
        'usage: overrun',
        'usage: topped up',
        'usage: within the allocation',
      ]),
    );
  });

  it.each(shortest.map((p) => [nameOf(p), p] as const))('should follow the shortest path: %s', async (_name, path) => {
    await drive(path, visited);
  });

  it.each([...byTransition.entries()].map(([signature, p]) => [signature, nameOf(p), p] as const))(
    'should take the transition %s: %s',
    async (_signature, _name, path) => {
      await drive(path, visited);
    },
  );

  it('should have reached every state of the model', () => {
    expect(states.filter((s) => !visited.has(s))).toEqual([]);
  });
});
