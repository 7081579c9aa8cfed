/**
 * Drives one real orchestrator along one path of the session model (test/helpers/sessionModel.ts),
 * replaying the model beside it, and compares what the orchestrator shows after every step.
 */
import { initialTransition, transition } from 'xstate';
import type { EndReason, SessionEvent } from '../../machines/agentSession.types';
import { PROVIDER_IDS } from '../../machines/providers';
import { createManualClock, createOrchestrator } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, OrchestratorEventMap, ProviderId } from '../../src';
import { KEY_VARS, MODEL_KEYS, codeOf, createGatedAuthenticator, flush, keyEnv, track } from './orchestratorDriver';
import type { Tracked } from './orchestratorDriver';
import {
  AGENT_ID,
  BIG_USAGE,
  BIG_USAGE_REPORT,
  ESTIMATE,
  SMALL_USAGE_REPORT,
  awaitsTopUp,
  modelInput,
  serialize,
  sessionModel,
} from './sessionModel';
import type { SessionModelSnapshot, SessionScenario } from './sessionModel';
import { HOUR, T0 } from './timeOrigin';
import type { TransitionCoverage } from './transitionCoverage';

const SWEEP = HOUR;
/** The Retry-After of the throttling that requeues a session (seconds). */
const RETRY_AFTER_S = 20;

/** What the orchestrator shows in a state of the model (the table at the top of the test file). */
export interface StateExpectation {
  /** The agent's env: the provider's secrets and the agentvisor and quiet variables, or nothing. */
  readonly env: 'secrets' | 'empty';
  /** An authentication is waiting at the gate for the session's provider, none is, or either. */
  readonly gate: 'waiting' | 'idle' | 'any';
}

/** Every active agent also gets these (src/providers AGENT_QUIET_ENV), each set to '1'. */
const QUIET_VARS = [
  'DISABLE_TELEMETRY',
  'DISABLE_AUTOUPDATER',
  'DISABLE_ERROR_REPORTING',
  'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
];

function other(provider: ProviderId): ProviderId {
  return provider === 'claude' ? 'openai' : 'claude';
}

function expectedEndCode(snapshot: SessionModelSnapshot): string {
  const outcome = snapshot.context.outcome!;
  return (
    outcome.error?.code ??
    (outcome.reason === 'released' ? 'agent-released' : `unexpected reason ${outcome.reason as EndReason}`)
  );
}

export class SessionPathRunner {
  readonly fallbacks: OrchestratorEventMap['agent.fallback'][0][] = [];
  readonly requeues: OrchestratorEventMap['agent.requeued'][0][] = [];
  readonly overruns: OrchestratorEventMap['quota.overrun'][0][] = [];
  readonly visited: string[] = [];
  replayed: SessionModelSnapshot;
  everActive = false;
  failure: { kind: 'fallback' | 'requeue'; at: number; promise: { current(): Tracked<unknown> } } | null = null;
  bigUsage: { receipt: unknown; error: unknown } | null = null;
  answered: { expected: Readonly<Record<string, unknown>>; promise: { current(): Tracked<unknown> } } | null = null;

  private constructor(
    readonly scenario: SessionScenario,
    readonly states: Readonly<Record<string, StateExpectation>>,
    readonly coverage: TransitionCoverage,
    readonly orch: Orchestrator,
    readonly clock: ManualClock,
    readonly gate: ReturnType<typeof createGatedAuthenticator>,
    readonly agent: ManagedAgent,
    readonly spawn: { current(): Tracked<ManagedAgent> },
  ) {
    this.replayed = initialTransition(sessionModel, modelInput(scenario))[0];
    orch.on('agent.fallback', (e) => this.fallbacks.push(e));
    orch.on('agent.requeued', (e) => this.requeues.push(e));
    orch.on('quota.overrun', (e) => this.overruns.push(e));
  }

  static async start(
    scenario: SessionScenario,
    states: Readonly<Record<string, StateExpectation>>,
    coverage: TransitionCoverage,
  ): Promise<SessionPathRunner> {
    const clock = createManualClock(T0);
    const env = keyEnv();
    const gate = createGatedAuthenticator(env);
    const input = modelInput(scenario);
    const orch = createOrchestrator({
      env,
      authenticate: gate.authenticate,
      authTimeoutMs: 2 ** 31 - 1,
      clock,
      leaseMs: input.leaseMs,
      sweepIntervalMs: SWEEP,
      maxFallbacks: scenario.maxFallbacks,
      limits: scenario.limits,
    });
    await orch.start();
    const spawn = track(orch.spawnAgent({ estimatedTokens: ESTIMATE, agentId: AGENT_ID }));
    // Admission is one synchronous step: the agent is live (and authenticating) at once.
    const agent = orch.getAgent(AGENT_ID);
    await flush();
    return new SessionPathRunner(scenario, states, coverage, orch, clock, gate, agent, spawn);
  }

  async exec(event: SessionEvent, target: SessionModelSnapshot): Promise<void> {
    const before = this.replayed;
    this.coverage.record(sessionModel.getTransitionData(before, event));
    const [next] = transition(sessionModel, before, event);
    expect(serialize(next)).toBe(serialize(target));
    this.replayed = next;
    const t = next.context.tokens;
    switch (event.type) {
      case 'credentials.granted':
        this.gate.grant(before.context.provider);
        break;
      case 'credentials.denied':
        this.gate.deny(before.context.provider);
        break;
      case 'session.usage':
        if (event.tokens === BIG_USAGE) {
          this.bigUsage = { receipt: null, error: null };
          try {
            this.bigUsage.receipt = this.agent.reportUsage(BIG_USAGE_REPORT);
          } catch (error) {
            this.bigUsage.error = error;
          }
        } else {
          expect(this.agent.reportUsage(SMALL_USAGE_REPORT)).toEqual({
            usedTokens: t.used,
            allocatedTokens: t.allocated,
            remainingTokens: t.allocated - t.usedOnProvider,
          });
        }
        break;
      case 'session.toppedUp':
        expect(this.bigUsage).toEqual({
          receipt: {
            usedTokens: t.used,
            allocatedTokens: t.allocated,
            remainingTokens: t.allocated - t.usedOnProvider,
          },
          error: null,
        });
        break;
      case 'session.topUpRefused':
        expect({ receipt: this.bigUsage?.receipt, code: codeOf(this.bigUsage?.error) }).toEqual({
          receipt: null,
          code: 'quota-exhausted',
        });
        expect(this.overruns.at(-1)).toMatchObject({
          provider: before.context.provider,
          agentId: AGENT_ID,
          overrunTokens: event.overrunTokens,
        });
        break;
      case 'session.heartbeat':
        expect(this.agent.renewLease()).toBe(true);
        break;
      case 'session.failure':
        this.reportFailure(event.reason, next);
        break;
      case 'session.release': {
        const result = await this.agent.release();
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
        this.clock.advance(before.context.terms.leaseMs + SWEEP);
        break;
      case 'session.fallbackAdmitted':
      case 'session.fallbackRefused':
        if (before.context.pending.requeueAt !== null) {
          // Requeued: the coordinator re-admits the session at the provider's Retry-After.
          const requeued = this.requeues.at(-1)!;
          expect(requeued).toMatchObject({
            agentId: AGENT_ID,
            provider: before.context.provider,
            reason: 'rate-limit',
            notBefore: this.clock.now() + RETRY_AFTER_S * 1000,
          });
          this.clock.set(requeued.notBefore);
          break;
        }
        // The coordinator answered inside the step that entered fallingBack; this is what it said.
        expect(this.fallbacks.at(-1)).toEqual({
          agentId: AGENT_ID,
          sessionId: this.agent.sessionId,
          from: before.context.provider,
          to: event.type === 'session.fallbackAdmitted' ? event.provider : null,
          reason: before.context.pending.reason,
          // From the report still waiting (a requeue that was re-admitted, then denied), else none.
          latencyMs: this.failure === null ? 0 : this.clock.now() - this.failure.at,
        });
        expect(this.fallbacks).toHaveLength(
          next.context.fallbacks.length + (event.type === 'session.fallbackRefused' ? 1 : 0),
        );
        break;
      default:
        throw new Error(`the model produced an event the host cannot cause: ${JSON.stringify(event)}`);
    }
    await flush();
  }

  /** The model's failure events (sessionModel FAILURES) as the host reports them. */
  private reportFailure(reason: string, next: SessionModelSnapshot): void {
    const at = this.clock.now();
    if (reason === 'auth') {
      this.failure = { kind: 'fallback', at, promise: track(this.agent.reportFailure({ status: 401 })) };
    } else if (reason === 'rate-limit') {
      this.failure = {
        kind: 'requeue',
        at,
        promise: track(this.agent.reportFailure({ status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } })),
      };
    } else if (reason === 'overloaded') {
      const expected = {
        action: 'retry',
        kind: 'overloaded',
        provider: next.context.provider,
        attempt: next.context.pending.attempts,
      };
      this.answered = { expected, promise: track(this.agent.reportFailure({ status: 529 })) };
    } else if (reason === 'invalid-request') {
      this.answered = {
        expected: { code: 'invalid-request' },
        promise: track(this.agent.reportFailure({ status: 400 })),
      };
    } else {
      throw new Error(`the model produced a failure the host cannot cause: ${reason}`);
    }
  }

  /** A failure answered in place (retry, request at fault): the agent stays where it was. */
  private checkAnswered(): void {
    if (this.answered === null) return;
    const { expected, promise } = this.answered;
    const answer = promise.current();
    if ('code' in expected) {
      expect({ state: answer.state, code: answer.state === 'rejected' ? codeOf(answer.error) : null }).toEqual({
        state: 'rejected',
        ...expected,
      });
    } else {
      expect(answer).toMatchObject({ state: 'resolved', value: expected });
    }
    this.answered = null;
  }

  check(target: SessionModelSnapshot): void {
    this.checkAnswered();
    const m = this.replayed;
    expect(serialize(m)).toBe(serialize(target));
    this.visited.push(String(m.value));
    const c = m.context;
    const stats = this.orch.stats();
    const requeued = m.value === 'fallingBack' && c.pending.requeueAt !== null;
    expect(stats.queued).toBe(requeued ? 1 : 0);
    // Transient in the orchestrator (the coordinator answers in the same step): the next step checks the rest.
    if (awaitsTopUp(m)) return;
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
      const mine = p === c.provider;
      const s = stats.providers[p];
      expect({ provider: p, active: s.active, reserved: s.reserved, used: s.used, overrun: s.overrun }).toEqual({
        provider: p,
        active: mine && holds ? 1 : 0,
        reserved: mine && holds ? c.tokens.allocated - c.tokens.usedOnProvider : 0,
        used: used[p],
        overrun: mine ? (c.outcome?.overrunTokens ?? 0) : 0,
      });
    }

    expect(this.agent.isLive).toBe(!done);
    expect(this.agent.provider).toBe(c.provider);
    expect(this.agent.usedTokens).toBe(c.tokens.used);
    if (!done) expect(this.agent.allocatedTokens).toBe(c.tokens.allocated);
    expect(this.orch.agents().map((a) => a.id)).toEqual(done ? [] : [AGENT_ID]);
    this.checkEnv(m);
    this.checkPromises(m, done);
    const gate = this.states[String(m.value)]!.gate;
    if (gate !== 'any') expect(this.gate.waiting()).toEqual(gate === 'waiting' ? [c.provider] : []);
  }

  private checkEnv(m: SessionModelSnapshot): void {
    const c = m.context;
    const env = this.agent.env;
    if (this.states[String(m.value)]!.env === 'secrets') {
      const secretVars = KEY_VARS[c.provider];
      expect(Object.keys(env).sort()).toEqual(
        ['AGENTVISOR_AGENT_ID', 'AGENTVISOR_SESSION_ID', ...QUIET_VARS, ...secretVars].sort(),
      );
      for (const name of secretVars) expect(env[name]).toBe(MODEL_KEYS[c.provider]);
      expect({ agent: env.AGENTVISOR_AGENT_ID, session: env.AGENTVISOR_SESSION_ID }).toEqual({
        agent: AGENT_ID,
        session: this.agent.sessionId,
      });
      for (const name of QUIET_VARS) expect(env[name]).toBe('1');
    } else {
      expect(env).toEqual({});
    }
    expect(Object.values(env)).not.toContain(MODEL_KEYS[other(c.provider)]);
  }

  private checkPromises(m: SessionModelSnapshot, done: boolean): void {
    const spawn = this.spawn.current();
    if (this.everActive) {
      expect(spawn).toEqual({ state: 'resolved', value: this.agent });
    } else if (done) {
      expect({ state: spawn.state, code: spawn.state === 'rejected' ? codeOf(spawn.error) : null }).toEqual({
        state: 'rejected',
        code: expectedEndCode(m),
      });
    } else {
      expect(spawn.state).toBe('pending');
    }
    if (!this.failure) return;
    const failure = this.failure.promise.current();
    if (m.value === 'active') {
      const answer =
        this.failure.kind === 'fallback'
          ? { action: 'fallback', kind: 'auth', from: 'claude', to: m.context.provider, latencyMs: 0 }
          : { action: 'requeued', kind: 'rate-limit', provider: m.context.provider, waitedMs: RETRY_AFTER_S * 1000 };
      expect(failure).toEqual({ state: 'resolved', value: answer });
      this.failure = null;
    } else if (done) {
      expect({ state: failure.state, code: failure.state === 'rejected' ? codeOf(failure.error) : null }).toEqual({
        state: 'rejected',
        code: expectedEndCode(m),
      });
    } else {
      expect(failure.state).toBe('pending');
    }
  }

  async stop(): Promise<void> {
    await this.orch.stop();
  }
}
