/**
 * The two sides of test/machines/coordinator.graph.model.test.ts: the real coordinator machine (with
 * its real supervisor and sessions, a credentials actor that grants at once and no clock: time is the
 * `now` on the events) and the real orchestrator (manual clock, keys in its env), each driven by the
 * same abstract steps and each read back as the same abstract state, so a path can be compared
 * step by step.
 */
import { createActor } from 'xstate';
import type { ActorRefFrom, InspectionEvent } from 'xstate';
import { fromCallback } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEvent } from '../../machines/coordinator.types';
import { nextDueAt } from '../../machines/nextDueAt';
import { circuitState } from '../../machines/providerHealth';
import type { CircuitConfig } from '../../machines/providerHealth';
import { PROVIDER_IDS } from '../../machines/providers';
import { createManualClock, createOrchestrator } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, ProviderId } from '../../src';
import { createEnvAuthenticator } from '../../src/credentials';
import {
  DAY0,
  DEFAULT_CONFIG,
  NEXT_RESET,
  T0,
  budgetsOf,
  createTestCredentialsActor,
  grantAll,
} from './machineHarness';
import { flush, keyEnv, track } from './orchestratorDriver';

export const ESTIMATE = 100;
export const WAIT_MS = 45_000;
export const TICK_MS = 30_000;
export const PAUSE_MS = 60_000;
export const USAGE = 10;
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
const LEASE_MS = 10 * 24 * 60 * 60 * 1000;

/** The failures a host reports on its oldest active agent, and what the orchestrator classifies them as. */
export const FAILURES = {
  overloaded: { status: 529, countsForHealth: true },
  auth: { status: 401, countsForHealth: false },
} as const;
export type FailureKind = keyof typeof FAILURES;

/** One abstract step of a path. */
export type GraphStep =
  | { readonly type: 'spawn'; readonly waitMs: number; readonly estimatedTokens: number }
  | { readonly type: 'fail'; readonly kind: FailureKind }
  | { readonly type: 'pause' }
  | { readonly type: 'release' }
  | { readonly type: 'tick' }
  | { readonly type: 'stop' };

export interface ProviderView {
  readonly active: number;
  readonly used: number;
  readonly reserved: number;
  readonly circuit: string;
  readonly paused: boolean;
}

/** What both sides are compared on: the state the model-based test dedupes by. */
export interface GraphView {
  readonly stopped: boolean;
  readonly queued: number;
  readonly providers: Readonly<Record<ProviderId, ProviderView>>;
  /** Live agents in spawn order: provider and fallbacks taken. */
  readonly agents: readonly string[];
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

  constructor(inspect?: (event: InspectionEvent) => void) {
    const machine = coordinatorMachine.provide({
      actors: {
        clock: fromCallback<CoordinatorEvent>(() => undefined),
        credentials: createTestCredentialsActor(grantAll, []),
      },
    });
    this.actor = createActor(machine, {
      systemId: 'coordinator',
      inspect,
      input: {
        config: { ...DEFAULT_CONFIG, circuit: CIRCUIT, leaseMs: LEASE_MS },
        budgets: budgetsOf(LIMITS),
        now: T0,
        day: DAY0,
        nextResetAt: NEXT_RESET,
      },
    });
    this.actor.start();
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
        const provider = oldest!.getSnapshot().context.provider;
        const since = now;
        this.actor.send({
          type: 'provider.failed',
          provider,
          kind: step.kind,
          countsForHealth: FAILURES[step.kind].countsForHealth,
          throttle: null,
          resetAt: null,
          since,
          now,
        });
        oldest!.send({ type: 'session.failure', reason: step.kind, now });
        return;
      }
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
        return;
      }
      case 'stop':
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
        return [
          p,
          {
            active: b.active,
            used: b.used,
            reserved: b.reserved,
            circuit: circuitState(health[p], this.now),
            paused: health[p].pausedUntil > this.now,
          },
        ];
      }),
    ) as Record<ProviderId, ProviderView>;
    const agents = this.live().map(
      (s) => `${s.getSnapshot().context.provider}/${s.getSnapshot().context.fallbacks.length}`,
    );
    return { stopped: snapshot.value === 'stopping', queued: queue.length, providers, agents };
  }

  stop(): void {
    this.actor.stop();
  }
}

/** The real orchestrator, stepped through its public API. */
export class OrchestratorSide {
  private readonly agents: { id: string; agent: ManagedAgent | null; spawn: ReturnType<typeof track<ManagedAgent>> }[] =
    [];
  private stopped = false;
  private seq = 0;
  private readonly fallbacks = new Map<string, number>();
  private constructor(
    readonly orch: Orchestrator,
    private readonly clock: ManualClock,
  ) {
    orch.on('agent.fallback', (e) => {
      if (e.to !== null) this.fallbacks.set(e.agentId, (this.fallbacks.get(e.agentId) ?? 0) + 1);
    });
  }

  static async start(): Promise<OrchestratorSide> {
    const env = keyEnv();
    const clock = createManualClock(T0);
    const side = new OrchestratorSide(
      createOrchestrator({
        env,
        authenticate: createEnvAuthenticator({ env }),
        limits: LIMITS,
        circuit: CIRCUIT,
        maxFallbacks: DEFAULT_CONFIG.maxFallbacks,
        maxQueue: DEFAULT_CONFIG.maxQueue,
        leaseMs: LEASE_MS,
        sweepIntervalMs: LEASE_MS,
        clock,
      }),
      clock,
    );
    await side.orch.start();
    return side;
  }

  private live(): ManagedAgent[] {
    return this.agents.flatMap((a) => (a.agent !== null && a.agent.isLive ? [a.agent] : []));
  }

  /** Authentication is immediate (keys in the env): a live agent whose spawn resolved is active. */
  private oldestActive(): ManagedAgent | undefined {
    return (
      this.agents.find((a) => a.agent !== null && a.agent.isLive && a.spawn.current().state === 'resolved')?.agent ??
      undefined
    );
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
        track(oldest!.reportFailure({ status: FAILURES[step.kind].status }));
        break;
      case 'pause':
        oldest!.reportUsage({
          inputTokens: USAGE,
          outputTokens: 0,
          headers: exhaustedHeaders(this.clock.now() + PAUSE_MS),
        });
        break;
      case 'release':
        await this.live()[0]!.release();
        break;
      case 'tick':
        this.clock.advance(TICK_MS);
        break;
      case 'stop':
        this.stopped = true;
        await this.orch.stop();
        break;
    }
    await flush();
    this.adoptAdmitted();
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

  view(): GraphView {
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
    const agents = this.live().map((a) => `${a.provider}/${this.fallbacks.get(a.id) ?? 0}`);
    return { stopped: this.stopped, queued: stats.queued, providers, agents };
  }

  async stop(): Promise<void> {
    if (!this.stopped) await this.orch.stop();
  }
}
