/**
 * The machine side of the coordinator's graph model tests (test/helpers/coordinatorGraph.ts): the
 * real coordinator machine with its real supervisor and sessions, a credentials actor that grants at
 * once and no clock (time is the `now` on the events), stepped the way the orchestrator steps it.
 */
import { createActor } from 'xstate';
import type { ActorRefFrom, InspectionEvent } from 'xstate';
import { fromCallback } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { ReservationRequest } from '../../machines/agentSession.types';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEvent, SideEffectParams } from '../../machines/coordinator.types';
import { nextDueAt } from '../../machines/nextDueAt';
import { circuitState } from '../../machines/providerHealth';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../src';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import {
  FAILURES,
  LEASE_MS,
  LIMITS,
  MAX_REQUEUES,
  OVERUSE,
  PAUSE_MS,
  PLAIN,
  TICK_MS,
  USAGE,
  WAITING,
  timingOf,
} from './coordinatorGraph';
import type { GraphSetup, GraphStep, GraphView, ProviderView } from './coordinatorGraph';
import { DEFAULT_CONFIG, budgetsOf, createTestCredentialsActor, grantAll } from './machineHarness';
import { LedgerModel, stintId } from './sharedLedgerModel';
import { DAY0, NEXT_RESET, T0 } from './timeOrigin';

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
