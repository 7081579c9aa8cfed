/**
 * The two sides of the coordinator's graph model tests (test/machines/coordinator.graph.model.test.ts,
 * coordinator.ledger.model.test.ts): the real coordinator machine (with its real supervisor and
 * sessions, a credentials actor that grants at once and no clock: time is the `now` on the events)
 * and the real orchestrator (manual clock, keys in its env), each driven by the same abstract steps
 * and each read back as the same abstract state, so a path can be compared step by step. Both sides
 * run with the same failure policy (the machine gets it resolved as the orchestrator resolves it).
 * With `shared`, the orchestrator runs on a real file ledger in a temp folder that a second writer
 * (another FileLedger on the same file) takes slots of, and the machine side is answered by
 * test/helpers/sharedLedgerModel.ts as the orchestrator's ledger actor and link answer it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActor } from 'xstate';
import type { ActorRefFrom, InspectionEvent } from 'xstate';
import { fromCallback } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { ReservationRequest } from '../../machines/agentSession.types';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEvent, SideEffectParams } from '../../machines/coordinator.types';
import type { FailureFacts } from '../../machines/failureDecision';
import { nextDueAt } from '../../machines/nextDueAt';
import { circuitState } from '../../machines/providerHealth';
import type { CircuitConfig } from '../../machines/providerHealth';
import { PROVIDER_IDS } from '../../machines/providers';
import { createManualClock, createOrchestrator } from '../../src';
import type { FailureReport, ManagedAgent, ManualClock, Orchestrator, ProviderId } from '../../src';
import { createEnvAuthenticator } from '../../src/credentials';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import type { FailurePolicyOptions } from '../../src/providers';
import { createFileLedger } from '../../src/quota/fileLedger';
import type { QuotaLedger } from '../../src/quota/ledger';
import { DEFAULT_CONFIG, budgetsOf, createTestCredentialsActor, grantAll } from './machineHarness';
import { flush, keyEnv, track } from './orchestratorDriver';
import { LedgerModel, OTHER_TOKENS, stintId, watchLedger } from './sharedLedgerModel';
import type { WatchedLedger } from './sharedLedgerModel';
import { DAY, DAY0, NEXT_RESET, SECOND, T0 } from './timeOrigin';

export const ESTIMATE = 100;
export const WAIT_MS = 45_000;
export const TICK_MS = 30_000;
export const PAUSE_MS = 60_000;
export const USAGE = 10;
export const OVERUSE = 150;
/** The orchestrator's default `requeueThrottled.maxRequeues`. */
const MAX_REQUEUES = 10;
export const LIMITS = {
  claude: { dailyLimit: 1_000, maxConcurrent: 1 },
  openai: { dailyLimit: 1_000, maxConcurrent: 1 },
} as const;
/** One failure in the window opens the circuit; a half-open circuit lets one probe through. */
export const CIRCUIT: CircuitConfig = {
  windowMs: 60_000,
  allowedFailures: 0,
  minRequests: 1,
  cooldownMs: TICK_MS,
  halfOpenProbes: 1,
};
/** Leases (the coordinator's and the shared ledger's) outlast every path. */
const LEASE_MS = 10 * DAY;
/** The Retry-After of a throttle (seconds): shorter than a tick, so the requeued session comes back within one. */
const RETRY_AFTER_S = 10;

/**
 * The failures a host reports on its oldest active agent, and what the orchestrator classifies them
 * as (src/providers/failureClassifier.ts): a 529 and a 429 are server throttling, a 429 with
 * `insufficient_quota` is the plan's usage limit.
 */
export const FAILURES = {
  overloaded: { report: { status: 529 }, facts: { kind: 'overloaded', retryAfterMs: null, throttle: 'server' } },
  auth: { report: { status: 401 }, facts: { kind: 'auth', retryAfterMs: null, throttle: null } },
  throttle: {
    report: { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } },
    facts: { kind: 'rate-limit', retryAfterMs: RETRY_AFTER_S * SECOND, throttle: 'server' },
  },
  usageLimit: {
    report: {
      status: 429,
      body: { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'quota' } },
    },
    facts: { kind: 'quota', retryAfterMs: null, throttle: 'usage-limit' },
  },
} as const satisfies Record<string, { readonly report: FailureReport; readonly facts: FailureFacts }>;
export type FailureKind = keyof typeof FAILURES;

/** What both sides run with. */
export interface GraphSetup {
  /** On a shared file ledger (orchestrator) and its model (machine), with a second writer. */
  readonly shared: boolean;
  /** The orchestrator's `failurePolicy` option. Backoffs of 0–1 ms leave nothing to the jitter. */
  readonly failurePolicy?: FailurePolicyOptions;
}
export const PLAIN: GraphSetup = { shared: false };

/**
 * The circuit and the usage-limit pause of a setup. On a shared ledger nothing the coordinator times
 * falls due on a tick's last instant (a multiple of 30 s from a step), when the link syncs: a
 * cooldown of 20 s and a pause of 50 s, so the sync reads the ledger after every answer of the tick.
 */
function timingOf(setup: GraphSetup): { readonly circuit: CircuitConfig; readonly usageLimitPauseMs: number } {
  if (!setup.shared) return { circuit: CIRCUIT, usageLimitPauseMs: PAUSE_MS };
  return { circuit: { ...CIRCUIT, cooldownMs: 20 * SECOND }, usageLimitPauseMs: 50 * SECOND };
}

/** One abstract step of a path. */
export type GraphStep =
  | { readonly type: 'spawn'; readonly waitMs: number; readonly estimatedTokens: number }
  | { readonly type: 'fail'; readonly kind: FailureKind }
  | { readonly type: 'pause' }
  /** Usage beyond the allocation (OVERUSE tokens): on a shared ledger the coordinator asks it for a top-up. */
  | { readonly type: 'overuse' }
  | { readonly type: 'release' }
  | { readonly type: 'tick' }
  | { readonly type: 'stop' }
  /** The second writer takes one slot of `provider` in the shared ledger, or gives its oldest back. */
  | { readonly type: 'grab' | 'letGo'; readonly provider: ProviderId };

export interface ProviderView {
  readonly active: number;
  readonly used: number;
  readonly reserved: number;
  readonly circuit: string;
  readonly paused: boolean;
}

export const WAITING = ' (waiting)';

/** What both sides are compared on: the state the model-based test dedupes by. */
export interface GraphView {
  readonly stopped: boolean;
  readonly queued: number;
  readonly providers: Readonly<Record<ProviderId, ProviderView>>;
  /** Live agents in spawn order: provider and fallbacks taken, and WAITING unless active (requeued, falling back). */
  readonly agents: readonly string[];
  /** On a shared ledger: its live reservations per provider (ours and the second writer's). */
  readonly ledger?: Readonly<Record<ProviderId, number>>;
}

/** The headers of an answer saying claude has no tokens left until `resetAt`. */
function exhaustedHeaders(resetAt: number): Record<string, string> {
  const at = new Date(resetAt).toISOString();
  return {
    'anthropic-ratelimit-tokens-remaining': '0',
    'anthropic-ratelimit-tokens-reset': at,
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': at,
  };
}

/** The real coordinator machine, stepped the way the orchestrator steps it. */
export class MachineSide {
  readonly actor;
  now = T0;
  private seq = 0;
  private readonly sessions: string[] = [];
  /** The shared ledger's answers still to give, in the order they were asked (the orchestrator's link answers in turn). */
  private readonly answers: (() => void)[] = [];
  private readonly ledger: LedgerModel | null;
  /** What the other holder held at the last sync: the orchestrator's stats show the ledger's figures as of then. */
  private synced: ReturnType<LedgerModel['othersHold']> | null = null;

  constructor(inspect?: (event: InspectionEvent) => void, setup: GraphSetup = PLAIN) {
    const ledger = setup.shared ? new LedgerModel(LIMITS, LEASE_MS) : null;
    this.ledger = ledger;
    const answers = this.answers;
    const machine = coordinatorMachine.provide({
      actors: {
        clock: fromCallback<CoordinatorEvent>(() => undefined),
        credentials: createTestCredentialsActor(grantAll, []),
        // As src/orchestrator/ledgerActor.ts: a later stint is reserved in the ledger, granted or refused with its code.
        ledger: fromCallback<ReservationRequest>(({ receive, system }) => {
          receive((r) =>
            answers.push(() => {
              const answer = ledger!.reserve(stintId(r.sessionId, r.stint), r.provider);
              system
                .get(r.sessionId)
                ?.send(
                  answer.granted
                    ? { type: 'reservation.granted', stint: r.stint }
                    : { type: 'reservation.refused', stint: r.stint, code: answer.code, message: 'no room' },
                );
            }),
          );
        }),
      },
      actions: {
        settleStint: (_, stint: SideEffectParams['settleStint']) =>
          ledger?.settle(stintId(stint.sessionId, stint.stint)),
      },
    });
    const policies = resolveAgentFailurePolicy(setup.failurePolicy);
    this.actor = createActor(machine, {
      systemId: 'coordinator',
      inspect,
      input: {
        config: {
          ...DEFAULT_CONFIG,
          ...timingOf(setup),
          leaseMs: LEASE_MS,
          failurePolicies: policies,
          maxRequeues: MAX_REQUEUES,
          ...(setup.shared ? { sharedLedger: true, globalLimits: LIMITS } : {}),
        },
        budgets: budgetsOf(LIMITS),
        now: T0,
        day: DAY0,
        nextResetAt: NEXT_RESET,
      },
    });
    // As src/orchestrator/ledgerLifecycle.ts askTopUp: the model's budgets are far above a top-up, so it is granted.
    this.actor.on('quota.topUpAsked', (ask) =>
      answers.push(() =>
        this.actor.send({
          type: 'ledger.topUpAnswered',
          sessionId: ask.sessionId,
          stint: ask.stint,
          granted: true,
          now: this.now,
        }),
      ),
    );
    // As src/orchestrator/ledgerLifecycle.ts askReserve: a new admission is confirmed by the ledger.
    this.actor.on('ledger.reserveAsked', (ask) =>
      answers.push(() => {
        const answer = ledger!.reserve(stintId(ask.sessionId, 0), ask.provider);
        this.actor.send(
          answer.granted
            ? { type: 'ledger.reserveAnswered', requestId: ask.requestId, granted: true, now: this.now }
            : { type: 'ledger.reserveAnswered', requestId: ask.requestId, ...answer, now: this.now },
        );
      }),
    );
    this.actor.start();
  }

  /** Refusals the ledger model says the coordinator should have seen coming (see LedgerModel.reserve). */
  unforeseenRefusals(): readonly string[] {
    return this.ledger?.unforeseen ?? [];
  }

  /**
   * Breaks of the shared ledger's rules on the machine side alone: unforeseen refusals, and active
   * sessions beyond the stints the ledger model holds for us. Zero unless a decision is wrong; part
   * of the exploration's key, so a path that breaks them is not merged into one that does not.
   */
  ledgerBreaks(): number {
    if (this.ledger === null) return 0;
    const active = this.live().filter((s) => s.getSnapshot().matches('active'));
    const unbacked = PROVIDER_IDS.map((p) => {
      const ours = active.filter((s) => s.getSnapshot().context.provider === p).length;
      return Math.max(0, ours + this.ledger!.otherHolds(p) - this.ledger!.active(p));
    });
    return this.ledger.unforeseen.length + unbacked.reduce((a, b) => a + b, 0);
  }

  /** Slots the second writer holds on a provider (0 without a shared ledger). */
  otherHolds(provider: ProviderId): number {
    return this.ledger?.otherHolds(provider) ?? 0;
  }

  /** Gives the ledger's answers, each in turn (an answer may lead to another ask). */
  private answer(): void {
    for (let next = this.answers.shift(); next !== undefined; next = this.answers.shift()) next();
  }

  private session(id: string): ActorRefFrom<AgentSessionMachine> | undefined {
    return this.actor.system.get(id) as ActorRefFrom<AgentSessionMachine> | undefined;
  }

  /** Live sessions in spawn order (queued requests have none yet). */
  live(): ActorRefFrom<AgentSessionMachine>[] {
    return this.sessions
      .map((id) => this.session(id))
      .filter((s): s is ActorRefFrom<AgentSessionMachine> => s !== undefined && s.getSnapshot().status === 'active');
  }

  oldestActive(): ActorRefFrom<AgentSessionMachine> | undefined {
    return this.live().find((s) => s.getSnapshot().matches('active'));
  }

  apply(step: GraphStep): void {
    this.step(step);
    this.answer();
  }

  private step(step: GraphStep): void {
    const now = this.now;
    const oldest = this.oldestActive();
    switch (step.type) {
      case 'spawn': {
        this.seq += 1;
        const ids = { requestId: `r-${this.seq}`, sessionId: `s-${this.seq}`, agentId: `a-${this.seq}` };
        this.sessions.push(ids.sessionId);
        this.actor.send({
          type: 'agent.spawn',
          preferredProvider: null,
          onlyPreferred: false,
          waitMs: step.waitMs,
          priority: 0,
          estimatedTokens: step.estimatedTokens,
          now,
          ...ids,
        });
        return;
      }
      case 'fail': {
        // As ManagedAgent.reportFailure: the classified failure to the coordinator, then to the session.
        const { provider } = oldest!.getSnapshot().context;
        const facts = FAILURES[step.kind].facts;
        this.actor.send({
          type: 'provider.failed',
          provider,
          kind: facts.kind,
          throttle: facts.throttle,
          resetAt: null,
          now,
        });
        oldest!.send({ type: 'session.failure', reason: facts.kind, failure: facts, jitter: 0.5, now });
        return;
      }
      case 'overuse':
        oldest!.send({ type: 'session.usage', tokens: OVERUSE, now });
        return;
      case 'grab':
        this.ledger!.grab(step.provider);
        return;
      case 'letGo':
        this.ledger!.letGo(step.provider);
        return;
      case 'pause':
        this.actor.send({
          type: 'provider.exhausted',
          provider: 'claude',
          until: now + PAUSE_MS,
          reason: 'reported-limit',
          now,
        });
        oldest!.send({ type: 'session.usage', tokens: USAGE, now });
        return;
      case 'release':
        this.live()[0]!.send({ type: 'session.release', now });
        return;
      case 'tick': {
        // As the clock actor does: one tick at each due time on the way, so what falls due first goes first.
        const target = now + TICK_MS;
        for (;;) {
          const due = nextDueAt(this.actor.getSnapshot().context);
          if (due === null || due > target || due <= this.now) break;
          this.now = due;
          this.actor.send({ type: 'clock.tick', now: due, day: DAY0, nextResetAt: NEXT_RESET });
        }
        this.now = target;
        if (this.ledger === null) return;
        // The link's sync at the end of the tick: the ledger's figures lower the local limits.
        this.answer();
        this.synced = this.ledger.othersHold();
        this.actor.send({ type: 'ledger.limits', limits: this.ledger.synced(), now: target });
        return;
      }
      case 'stop':
        // A stopped orchestrator's stats no longer add what other holders hold (its link is closed).
        this.synced = null;
        this.actor.send({ type: 'coordinator.stop' });
        for (const s of this.live()) s.send({ type: 'session.release', reason: 'stopped', now });
        return;
    }
  }

  view(): GraphView {
    const snapshot = this.actor.getSnapshot();
    const { budgets, health, queue } = snapshot.context;
    const providers = Object.fromEntries(
      PROVIDER_IDS.map((p) => {
        const b = budgets[p];
        const others = this.synced?.[p] ?? { active: 0, reserved: 0 };
        return [
          p,
          {
            active: b.active + others.active,
            used: b.used,
            reserved: b.reserved + others.reserved,
            circuit: circuitState(health[p], this.now),
            paused: health[p].pausedUntil > this.now,
          },
        ];
      }),
    ) as Record<ProviderId, ProviderView>;
    const agents = this.live().map((s) => {
      const snapshot = s.getSnapshot();
      return `${snapshot.context.provider}/${snapshot.context.fallbacks.length}${snapshot.matches('active') ? '' : WAITING}`;
    });
    const view = { stopped: snapshot.value === 'stopping', queued: queue.length, providers, agents };
    return this.ledger === null ? view : { ...view, ledger: this.ledger.held() };
  }

  stop(): void {
    this.actor.stop();
  }
}

/** The shared file ledger of one orchestrator side: its own (watched) handle and a second writer's. */
interface SharedFile {
  readonly dir: string;
  readonly own: WatchedLedger;
  readonly other: QuotaLedger;
  /** The second writer's live reservations per provider, oldest first. */
  readonly held: Record<ProviderId, string[]>;
}

function openShared(clock: ManualClock): SharedFile {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coordinator-ledger-model-'));
  const file = path.join(dir, 'ledger.json');
  const now = () => clock.now();
  return {
    dir,
    own: watchLedger(createFileLedger({ file, limits: LIMITS, now })),
    other: createFileLedger({ file, limits: LIMITS, now }),
    held: { claude: [], openai: [] },
  };
}

/** The real orchestrator, stepped through its public API. */
export class OrchestratorSide {
  private readonly agents: { id: string; agent: ManagedAgent | null; spawn: ReturnType<typeof track<ManagedAgent>> }[] =
    [];
  private stopped = false;
  private seq = 0;
  private grabs = 0;
  private readonly fallbacks = new Map<string, number>();
  private constructor(
    readonly orch: Orchestrator,
    private readonly clock: ManualClock,
    private readonly shared: SharedFile | null,
  ) {
    orch.on('agent.fallback', (e) => {
      if (e.to !== null) this.fallbacks.set(e.agentId, (this.fallbacks.get(e.agentId) ?? 0) + 1);
    });
  }

  static async start(setup: GraphSetup = PLAIN): Promise<OrchestratorSide> {
    const env = keyEnv();
    const clock = createManualClock(T0);
    const shared = setup.shared ? openShared(clock) : null;
    const side = new OrchestratorSide(
      createOrchestrator({
        env,
        authenticate: createEnvAuthenticator({ env }),
        limits: LIMITS,
        ...timingOf(setup),
        maxFallbacks: DEFAULT_CONFIG.maxFallbacks,
        maxQueue: DEFAULT_CONFIG.maxQueue,
        leaseMs: LEASE_MS,
        sweepIntervalMs: LEASE_MS,
        requeueThrottled: { maxRequeues: MAX_REQUEUES },
        ...(setup.failurePolicy === undefined ? {} : { failurePolicy: setup.failurePolicy }),
        ...(shared === null ? {} : { ledger: { instance: shared.own, leaseMs: LEASE_MS, syncIntervalMs: TICK_MS } }),
        clock,
      }),
      clock,
      shared,
    );
    await side.orch.start();
    return side;
  }

  private live(): ManagedAgent[] {
    return this.agents.flatMap((a) => (a.agent !== null && a.agent.isLive ? [a.agent] : []));
  }

  /** An active agent holds its provider's secrets in its env; one falling back or requeued holds none. */
  private oldestActive(): ManagedAgent | undefined {
    return this.live().find((a) => Object.keys(a.env).length > 0);
  }

  async apply(step: GraphStep): Promise<void> {
    this.adoptAdmitted();
    const oldest = this.oldestActive();
    switch (step.type) {
      case 'spawn': {
        this.seq += 1;
        const id = `a-${this.seq}`;
        const spawn = track(
          this.orch.spawnAgent({ agentId: id, estimatedTokens: step.estimatedTokens, waitMs: step.waitMs }),
        );
        this.agents.push({ id, agent: null, spawn });
        break;
      }
      case 'fail':
        track(oldest!.reportFailure(FAILURES[step.kind].report));
        break;
      case 'pause':
        oldest!.reportUsage({
          inputTokens: USAGE,
          outputTokens: 0,
          headers: exhaustedHeaders(this.clock.now() + PAUSE_MS),
        });
        break;
      case 'overuse':
        oldest!.reportUsage({ inputTokens: OVERUSE, outputTokens: 0 });
        break;
      case 'release':
        await this.live()[0]!.release();
        break;
      case 'tick':
        // What falls due within the tick first; then, alone on its last instant, the link's sync (shared ledger).
        this.clock.advance(TICK_MS - 1);
        await this.settle();
        this.clock.advance(1);
        break;
      case 'stop':
        this.stopped = true;
        await this.orch.stop();
        break;
      case 'grab': {
        this.grabs += 1;
        const id = `other-${this.grabs}`;
        const outcome = await this.shared!.other.reserve({
          provider: step.provider,
          sessionId: id,
          tokens: OTHER_TOKENS,
          leaseMs: LEASE_MS,
        });
        if (outcome.status === 'reserved') this.shared!.held[step.provider].push(id);
        break;
      }
      case 'letGo':
        await this.shared!.other.settle(this.shared!.held[step.provider].shift()!, 0, step.provider);
        break;
    }
    await this.settle();
    this.adoptAdmitted();
  }

  /** Waits until the orchestrator has nothing left to do: no promise callback and no ledger operation pending. */
  private async settle(): Promise<void> {
    for (;;) {
      await flush();
      const own = this.shared?.own;
      if (own === undefined || own.inFlight === 0) return;
      await own.idle();
    }
  }

  /** An agent exists once admitted (queued spawns have none yet). */
  private adoptAdmitted(): void {
    for (const a of this.agents) {
      if (a.agent !== null) continue;
      try {
        a.agent = this.orch.getAgent(a.id);
      } catch {
        // Still queued, or refused: its spawn promise says which.
      }
    }
  }

  async view(): Promise<GraphView> {
    const stats = this.orch.stats();
    const now = this.clock.now();
    const providers = Object.fromEntries(
      PROVIDER_IDS.map((p) => {
        const s = stats.providers[p];
        return [
          p,
          {
            active: s.active,
            used: s.used,
            reserved: s.reserved,
            circuit: s.circuit.state,
            paused: s.pausedUntil !== null && s.pausedUntil > now,
          },
        ];
      }),
    ) as Record<ProviderId, ProviderView>;
    const agents = this.live().map(
      (a) => `${a.provider}/${this.fallbacks.get(a.id) ?? 0}${Object.keys(a.env).length > 0 ? '' : WAITING}`,
    );
    const view = { stopped: this.stopped, queued: stats.queued, providers, agents };
    if (this.shared === null) return view;
    const { providers: held } = await this.shared.other.snapshot();
    return { ...view, ledger: { claude: held.claude.active, openai: held.openai.active } };
  }

  /** Stops the orchestrator and removes the ledger's folder. */
  async stop(): Promise<void> {
    if (!this.stopped) await this.orch.stop();
    if (this.shared === null) return;
    await this.shared.own.close();
    await this.shared.other.close();
    fs.rmSync(this.shared.dir, { recursive: true, force: true });
  }
}
