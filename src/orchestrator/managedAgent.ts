import type { ActorRefFrom } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { SessionEvent, SessionOutput } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import { AGENT_QUIET_ENV } from '../providers';
import type { ErrorCode } from '../errors';
import type { Clock } from './clock';
import { checkUsage, classifyFailure } from './validation';
import { readRateLimitHeaders } from '../providers';
import type { HeadersInput, ProviderFailure, RateLimitFacts } from '../providers';
import type { KeepAlive } from './keepAlive';
import type { FailureOutcome, FailureReport, ReleaseResult, UsageReceipt, UsageReport } from './types';

type SessionRef = ActorRefFrom<AgentSessionMachine>;

interface Waiter {
  resolve(): void;
  reject(error: AgentvisorError): void;
}

/** The error code for a session that ended without its own error (released, stopped). */
const CODE_FOR_REASON: Readonly<Record<SessionOutput['reason'], ErrorCode>> = {
  released: 'agent-released',
  stopped: 'stopped',
  expired: 'allocation-expired',
  'quota-exhausted': 'quota-exhausted',
  'auth-failed': 'auth-failed',
  'no-provider': 'no-provider',
  failed: 'no-provider',
};

export function errorFromOutput(output: SessionOutput): AgentvisorError {
  const code = (output.error?.code ?? CODE_FOR_REASON[output.reason]) as ErrorCode;
  return new AgentvisorError(code, output.error?.message ?? `the session ended (${output.reason})`, {
    details: { agentId: output.agentId, sessionId: output.sessionId, provider: output.provider, reason: output.reason },
  });
}

function toResult(output: SessionOutput): ReleaseResult {
  return {
    usedTokens: output.usedTokens,
    returnedTokens: output.returnedTokens,
    provider: output.provider,
    fallbacks: output.fallbacks,
    reason: output.reason,
  };
}

/** What the orchestrator gives every agent it makes. */
export interface AgentHost {
  readonly clock: Clock;
  /** Host variables passed through to every agent (the `envPassthrough` allowlist). */
  readonly passthrough: Readonly<Record<string, string>>;
  readonly keepAlive: KeepAlive | null;
  /** Counts a failed request against the provider's health (circuit, adaptive limit, pauses). */
  providerFailed(failure: ProviderFailure, activeSince: number | null): void;
  /** What an answer's rate-limit headers said was left on the provider (success or failure). */
  limitsReported(provider: ProviderId, facts: RateLimitFacts): void;
  /** Caps reset times and waits a provider reported too far ahead (logged as suspicious). */
  capFailure(failure: ProviderFailure): ProviderFailure;
  capFacts(facts: RateLimitFacts): RateLimitFacts;
  /** A stint's usage so far (a shared ledger writes it through within one sync interval). */
  usageReported(sessionId: string, stint: number, usedOnProvider: number): void;
  /** Resolves when the settlement of the session's final stint is durable in the ledger (at once without a shared ledger). */
  settled(sessionId: string, stint: number): Promise<void>;
}

/**
 * The host's handle on one agent. Reads come from the session actor's snapshot; commands go to
 * the session as events, which settle synchronously in the coordinator before the call returns.
 *
 * @example
 * const agent = await orch.spawnAgent({ estimatedTokens: 20_000 });
 * spawnChild(agent.env);                       // ANTHROPIC_API_KEY, CLAUDE_API_KEY, AGENTVISOR_SESSION_ID, …
 * agent.reportUsage({ inputTokens: 1200, outputTokens: 300 });
 * const { usedTokens, returnedTokens } = await agent.release();
 */
export class ManagedAgent {
  readonly id: string;
  readonly sessionId: string;
  readonly task: string | null;
  readonly #lookup: () => SessionRef | undefined;
  #cachedRef: SessionRef | undefined;
  /** What every agent of one orchestrator shares (one object, not a closure per agent: live agents are many). */
  readonly #host: AgentHost;
  #final: SessionOutput | null = null;
  #hostReleased = false;
  #activation: Waiter | null = null;
  #failure: (Waiter & { startedAt: number }) | null = null;
  /** When the session last became active (on its current provider). */
  #activeSince: number | null = null;

  /**
   * The handle exists from admission, before the session actor starts; `lookup` finds the actor
   * (by systemId) on first use. A session that ends before any use is known by its output.
   */
  constructor(init: {
    agentId: string;
    sessionId: string;
    task: string | null;
    lookup: () => SessionRef | undefined;
    host: AgentHost;
  }) {
    this.id = init.agentId;
    this.sessionId = init.sessionId;
    this.task = init.task;
    this.#lookup = init.lookup;
    this.#host = init.host;
  }

  get #ref(): SessionRef {
    this.#cachedRef ??= this.#lookup();
    if (!this.#cachedRef) throw new Error(`agentvisor: session ${this.sessionId} has no actor (a bug)`);
    return this.#cachedRef;
  }

  /** The provider the agent runs on now (changes on fallback). */
  get provider(): ProviderId {
    return this.#final?.provider ?? this.#ref.getSnapshot().context.provider;
  }

  /** The allocation on the current provider, including top-ups. */
  get allocatedTokens(): number {
    return this.#final ? 0 : this.#ref.getSnapshot().context.tokens.allocated;
  }

  get usedTokens(): number {
    return this.#final?.usedTokens ?? this.#ref.getSnapshot().context.tokens.used;
  }

  /** True until the session is released (by the host, by expiry, or for lack of budget or provider). */
  get isLive(): boolean {
    return this.#final === null;
  }

  /**
   * The environment to run the agent with: the current provider's key (Claude keys under both
   * ANTHROPIC_API_KEY and CLAUDE_API_KEY), its base URL when set, AGENTVISOR_SESSION_ID,
   * AGENTVISOR_AGENT_ID and the quiet variables (AGENT_QUIET_ENV: DISABLE_TELEMETRY=1, …). Nothing
   * is inherited from this process's env except the names in `envPassthrough`; never another
   * provider's secret; empty unless active.
   */
  get env(): Record<string, string> {
    if (this.#final) return {};
    const snapshot = this.#ref.getSnapshot();
    // Only an active session has credentials; while (re)authenticating there is nothing to run with.
    if (!snapshot.matches('active')) return {};
    const { env, secretEnv } = snapshot.context;
    const out: Record<string, string> = { ...this.#host.passthrough, ...AGENT_QUIET_ENV, ...env };
    for (const [name, secret] of Object.entries(secretEnv)) out[name] = secret.reveal();
    return out;
  }

  /**
   * Counts real usage at once. Usage beyond the allocation takes a top-up from the free budget;
   * when the budget has no room, the usage is still recorded, the session ends and this throws
   * `quota-exhausted`. With the response's `headers`, a provider that says it has 0 tokens or 0
   * requests left takes no new session until its reset (docs/operations.md).
   */
  reportUsage(report: UsageReport): UsageReceipt {
    const tokens = checkUsage(report);
    this.#assertLive('report usage');
    const now = this.#host.clock.now();
    if (report.headers !== undefined) this.#reportLimits(this.provider, report.headers, now);
    this.#send({ type: 'session.usage', tokens, now });
    if (this.#final?.reason === 'quota-exhausted') {
      throw new AgentvisorError(
        'quota-exhausted',
        `the ${tokens} tokens were recorded, but they went beyond the allocation and the ${this.#final.provider} daily budget has no room left; ` +
          'the agent was released: stop it',
        { details: { agentId: this.id, provider: this.#final.provider } },
      );
    }
    const { tokens: t, stint } = this.#ref.getSnapshot().context;
    this.#host.usageReported(this.sessionId, stint, t.usedOnProvider);
    return {
      usedTokens: t.used,
      allocatedTokens: t.allocated,
      remainingTokens: Math.max(0, t.allocated - t.usedOnProvider),
    };
  }

  /**
   * Says the agent is still at work although it reported no usage lately (a CLI process that is
   * alive, a long tool call): the allocation's lease runs on for another `leaseMs` from now, so
   * the sweep does not expire a session whose agent still runs. `runAgentTask` calls it every third
   * of the lease while the agent's process lives. A released agent is left as it is (returns false).
   *
   * @example const beat = setInterval(() => agent.renewLease(), agent.leaseMs / 3);
   */
  renewLease(): boolean {
    if (this.#final) return false;
    this.#send({ type: 'session.heartbeat', now: this.#host.clock.now() });
    return true;
  }

  /** The allocation's lease (ms): a session with no usage and no `renewLease()` for this long is expired by the sweep. */
  get leaseMs(): number {
    return this.#final ? 0 : this.#ref.getSnapshot().context.terms.leaseMs;
  }

  /**
   * Tells agentvisor a request to the provider failed. The failure is classified (status, body,
   * headers, network error: docs/failures.md) and counted against the provider's circuit, then:
   * - `{ action: 'fallback', from, to }` once the agent runs on the next provider of the chain (read
   *   `provider` and `env` again): the default for every kind while the chain has a provider left;
   * - `{ action: 'retry', delayMs }`: try the same provider again after `delayMs` (Retry-After
   *   honoured), when the policy says so or no fallback is left;
   * - `{ action: 'requeued' }` once a session throttled before any work was re-admitted on its provider;
   * - rejects with `no-provider` when nothing is left to try (the agent is released), and with
   *   `invalid-request` (the agent stays) when the request itself was at fault.
   * A report whose `provider` the agent has already left (a parallel request) counts against that
   * provider only and resolves `{ action: 'fallback', from: report.provider, to: provider }` at once.
   * The session decides the step (`session.failure`'s guards on `decideFailure`, machines/failureDecision.ts):
   * this sends the failure and reads or awaits the answer.
   */
  async reportFailure(report: FailureReport): Promise<FailureOutcome> {
    const failure = this.#host.capFailure(classifyFailure(report, this.provider, this.#host.clock.now()));
    this.#assertLive('report a failure');
    if (this.#failure)
      throw new AgentvisorError(
        'invalid-failure',
        'a failure for this agent is already being handled; await the earlier reportFailure first',
      );
    if (!this.#ref.getSnapshot().matches('active')) {
      throw new AgentvisorError(
        'invalid-failure',
        `agent ${this.id} is not active yet (still authenticating): report failures of requests made with its env, after spawnAgent resolved`,
        {
          details: { agentId: this.id },
        },
      );
    }
    const from = this.provider;
    const stale = failure.provider !== from;
    // A request made before the agent moved (stale): its provider's health hears of it, the session does not.
    this.#host.providerFailed(failure, stale ? null : this.#activeSince);
    // A usage limit pauses the provider already; other failures may still say that nothing is left.
    if (report.headers !== undefined && failure.throttle !== 'usage-limit')
      this.#reportLimits(failure.provider, report.headers, this.#host.clock.now());
    if (stale && failure.kind === 'invalid-request') throw this.#requestAtFault(failure);
    if (stale) return { action: 'fallback', kind: failure.kind, from: failure.provider, to: from, latencyMs: 0 };
    const startedAt = this.#host.clock.now();
    // Armed before the event: a fallback admitted at once reactivates the session within the send.
    const answered = new Promise<void>((resolve, reject) => {
      this.#failure = { resolve, reject, startedAt };
    });
    const facts = { kind: failure.kind, retryAfterMs: failure.retryAfterMs, throttle: failure.throttle };
    this.#send({
      type: 'session.failure',
      reason: failure.kind,
      failure: facts,
      jitter: Math.random(),
      now: startedAt,
    });
    const step = this.#ref.getSnapshot().context.pending.step;
    if (step?.step === 'retry') {
      this.#failure = null;
      return { action: 'retry', kind: failure.kind, provider: from, delayMs: step.delayMs, attempt: step.attempt };
    }
    if (step?.step === 'giveUp' && step.code === 'invalid-request' && this.isLive) {
      this.#failure = null;
      throw this.#requestAtFault(failure);
    }
    if (step?.step === 'requeue') {
      await (this.#host.keepAlive?.hold(answered) ?? answered);
      return {
        action: 'requeued',
        kind: failure.kind,
        provider: this.provider,
        waitedMs: this.#host.clock.now() - startedAt,
      };
    }
    // Falling back (or given up: the session ended and `answered` rejects with its error).
    await answered;
    return {
      action: 'fallback',
      kind: failure.kind,
      from,
      to: this.provider,
      latencyMs: this.#host.clock.now() - startedAt,
    };
  }

  #requestAtFault(failure: ProviderFailure): AgentvisorError {
    return new AgentvisorError(
      'invalid-request',
      `the provider rejected the request itself (${failure.status ?? failure.kind}: ${failure.message}); fix the request: falling back would not help`,
      { details: { agentId: this.id, status: failure.status, kind: failure.kind } },
    );
  }

  #reportLimits(provider: ProviderId, headers: HeadersInput, now: number): void {
    const facts = this.#host.capFacts(readRateLimitHeaders(headers, now));
    if (facts.remaining !== null) this.#host.limitsReported(provider, facts);
  }

  /**
   * Ends the session: usage is settled and the unused allocation returned. On a shared ledger it
   * resolves once the settlement is durable there (file: fsynced; Redis: acknowledged), and rejects
   * with `ledger-unavailable` when the ledger cannot be reached (the session is released all the
   * same; its settlement is kept and retried). A second call throws `already-released`.
   */
  async release(): Promise<ReleaseResult> {
    if (this.#hostReleased) {
      throw new AgentvisorError('already-released', `agent ${this.id} was already released`, {
        details: { agentId: this.id },
      });
    }
    this.#hostReleased = true;
    if (!this.#final) this.#send({ type: 'session.release', now: this.#host.clock.now() });
    if (!this.#final) throw new Error(`agentvisor: session ${this.sessionId} did not settle on release (a bug)`);
    const final = this.#final;
    await this.#host.settled(this.sessionId, final.stint);
    return toResult(final);
  }

  /** @internal The orchestrator's spawn promise settles through this on the first activation or the end. */
  settleSpawnWith(resolve: (agent: ManagedAgent) => void, reject: (error: AgentvisorError) => void): void {
    this.#activation = { resolve: () => resolve(this), reject };
  }

  /** @internal */
  onActive(): number | null {
    this.#activeSince = this.#host.clock.now();
    this.#activation?.resolve();
    this.#activation = null;
    const failure = this.#failure;
    this.#failure = null;
    failure?.resolve();
    return failure ? this.#host.clock.now() - failure.startedAt : null;
  }

  /** @internal */
  failureStartedAt(): number | null {
    return this.#failure?.startedAt ?? null;
  }

  /** @internal */
  onReleased(output: SessionOutput): void {
    this.#final = output;
    if (!this.#activation && !this.#failure) return;
    const error = errorFromOutput(output);
    this.#activation?.reject(error);
    this.#failure?.reject(error);
    this.#activation = null;
    this.#failure = null;
  }

  /** @internal Ends the session on orchestrator stop. */
  stop(): void {
    if (!this.#final) this.#send({ type: 'session.release', reason: 'stopped', now: this.#host.clock.now() });
  }

  #send(event: SessionEvent): void {
    this.#ref.send(event);
  }

  #assertLive(what: string): void {
    if (this.#final) {
      throw new AgentvisorError(
        'agent-released',
        `cannot ${what}: agent ${this.id} was released (${this.#final.reason})`,
        {
          details: { agentId: this.id, reason: this.#final.reason },
        },
      );
    }
  }
}
