import { EventEmitter } from 'eventemitter3';
import { createActor } from 'xstate';
import type { Actor, ActorRefFrom } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { SessionOutput } from '../../machines/agentSession.types';
import { availableTokens } from '../../machines/budget';
import type { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEmitted } from '../../machines/coordinator.types';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { createCredentialResolver, rankProviders } from '../credentials';
import type { Authenticate, CredentialClass, CredentialResolver } from '../credentials';
import { AgentvisorError } from '../errors';
import { capFactsTimes, capFailureTimes } from '../providers';
import type { CappedTime, ProviderFailure, RateLimitFacts } from '../providers';
import { windowAt } from '../quota/dailyWindow';
import type { QuotaLedger } from '../quota/ledger';
import { pausesFileFor, writePause } from '../quota/pauseRecord';
import type { ProviderPause } from '../quota/pauseRecord';
import type { Budgets } from '../../machines/budget';
import { LedgerLink } from './ledgerLink';
import type { AdmissionOutcome, EffectiveLimits } from './ledgerLink';
import { circuitState, windowCounts } from '../../machines/providerHealth';
import { createActivityStore } from './activityStore';
import { bindMachines } from './bindMachines';
import { reserveWithLink } from './ledgerActor';
import { newId } from './ids';
import { createObservabilityHooks } from './observabilityHooks';
import type { ObservabilityHooks } from './observabilityHooks';
import { systemClock } from './clock';
import { KeepAlive } from './keepAlive';
import { ManagedAgent } from './managedAgent';
import type { AgentHost } from './managedAgent';
import { resolveOptions } from './options';
import type { OrchestratorOptions, ResolvedOptions } from './options';
import type { OrchestratorEventMap, OrchestratorStats, ProviderStats, SpawnOptions } from './types';
import { checkSpawn } from './validation';
import { excludedFor, hasActiveSwitch } from './providerSwitches';
import type { Exclusion } from './providerSwitches';
import { MAX_TASK_KINDS, TaskKindEstimates } from './learnedEstimates';
import { EstimatesFile } from './estimatesFile';
import type { CheckedSpawn } from './validation';
import { hopelessMessage, refusalMessage } from './refusalMessage';

interface PendingSpawn {
  readonly agentId: string;
  readonly sessionId: string;
  readonly task: string | null;
  /** Providers the switches keep from this agent (named when nothing is left). */
  readonly excluded: readonly Exclusion[];
  readonly taskKind: string | null;
  readonly estimatedTokens: number;
  readonly resolve: (agent: ManagedAgent) => void;
  readonly reject: (error: AgentvisorError) => void;
}

/**
 * The orchestrator a host embeds: a coordinator actor that owns the budget and supervises one
 * session actor per agent.
 *
 * @example
 * const orch = createOrchestrator({ limits: { claude: { dailyLimit: 200_000, maxConcurrent: 4 } } });
 * await orch.start();
 * const agent = await orch.spawnAgent({ estimatedTokens: 20_000, waitMs: 30_000 });
 * // run the agent with agent.env, then:
 * agent.reportUsage({ inputTokens: 5_000, outputTokens: 1_200 });
 * await agent.release();
 * await orch.stop();
 */
export class Orchestrator {
  readonly #options: ResolvedOptions;
  readonly #events = new EventEmitter<OrchestratorEventMap>();
  readonly #live = new Map<string, ManagedAgent>();
  readonly #bySession = new Map<string, ManagedAgent>();
  readonly #pending = new Map<string, PendingSpawn>();
  readonly #pendingAgentIds = new Set<string>();
  readonly #activity = createActivityStore();
  #requests = 0;
  #actor: Actor<typeof coordinatorMachine> | null = null;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #starting: Promise<void> | null = null;
  #resolver: CredentialResolver | null = null;
  /** The shared ledger (file, Redis) and the link that keeps the coordinator in step with it; null for 'memory'. */
  #ledger: QuotaLedger | null = null;
  #link: LedgerLink | null = null;
  #ledgerLimits: EffectiveLimits | null = null;
  /** Pause records being written beside the file ledger; stop() waits for them. */
  readonly #pauseWrites = new Set<Promise<void>>();
  /** Keeps the process alive while a host awaits a wait (queued spawn, requeued session) on the real clock. */
  readonly #keepAlive: KeepAlive;
  /** Shared by every ManagedAgent of this orchestrator. */
  readonly #agentHost: AgentHost;
  #startCache: { readonly classes: Readonly<Record<ProviderId, CredentialClass | null>>; readonly provider: ProviderId | null } | null = null;
  /** Logger masking, audit, metrics and sanitized inspection; null when none is on (then they cost nothing). */
  readonly #observability: ObservabilityHooks | null;
  /** Whether a provider switch can keep a provider from some agent (else spawns skip the check). */
  readonly #switchesActive: boolean;
  readonly #estimates: TaskKindEstimates;
  readonly #estimatesFile: EstimatesFile;
  /** Live sessions spawned with a task kind: the kind and the allocation at admission, learned from at release. */
  readonly #taskKinds = new Map<string, { readonly kind: string; readonly allocated: number }>();

  constructor(options: OrchestratorOptions = {}) {
    this.#keepAlive = new KeepAlive((options.clock ?? systemClock) === systemClock);
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#agentHost = {
      clock: o.clock,
      passthrough: o.passthrough,
      keepAlive: this.#keepAlive,
      providerFailed: (failure, activeSince) => this.#providerFailed(failure, activeSince),
      limitsReported: (provider, facts) => this.#limitsReported(provider, facts),
      capFailure: (failure) => this.#capped(failure.provider, capFailureTimes(failure, o.clock.now(), o.maxProviderResetMs)).failure,
      capFacts: (facts) => this.#capped(null, capFactsTimes(facts, o.clock.now(), o.maxProviderResetMs)).facts,
      usageReported: (sessionId, stint, used) => this.#link?.noteUsage(sessionId, stint, used),
      settled: (sessionId, stint) => this.#link?.whenSettled(sessionId, stint) ?? Promise.resolve(),
    };
    this.#observability = createObservabilityHooks(this.#options, this);
    this.#switchesActive = hasActiveSwitch(this.#options.switches);
    this.#estimates = new TaskKindEstimates(this.#options.learnedEstimates);
    this.#estimatesFile = new EstimatesFile({ estimates: this.#estimates, file: this.#options.learnedEstimates.file, window: this.#options.learnedEstimates.window, logger: this.#options.logger });
  }

  /** The root XState actor (the coordinator), for inspection. Exists after start(). */
  get actor(): Actor<typeof coordinatorMachine> {
    if (!this.#actor) throw new AgentvisorError('not-started', 'the orchestrator has not been started: await orch.start() first');
    return this.#actor;
  }

  /** The resolved home folder (credentials and state). */
  get home(): string {
    return this.#options.home;
  }

  /**
   * Reads the credential files and starts the coordinator. Calling it again returns the same start.
   * Rejects with the shared ledger's own error when opening it fails for a reason no retry can fix
   * (`insecure-permissions` for a symlinked ledger file, `ledger-corrupt`); an unreachable ledger
   * only degrades admission (`ledger.degraded`).
   */
  start(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new AgentvisorError('stopped', 'this orchestrator was stopped; create a new one'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    const found = o.authenticate ?? (await this.#loadCredentials());
    await this.#estimatesFile.load();
    const link = await this.#openLedger();
    const authenticate = this.#observability?.wrapAuthenticate(found, o.authenticate === null) ?? found;
    if (this.#state === 'stopped') {
      // stop() was called while the files or the ledger were read
      await this.#closeLedger();
      return;
    }
    const now = o.clock.now();
    const window = windowAt(now, o.dailyReset);
    const machine = bindMachines({
      credentials: { authenticate, clock: o.clock, timeoutMs: o.authTimeoutMs },
      clock: { clock: o.clock, dailyReset: o.dailyReset },
      ledger: { reserve: link ? reserveWithLink(link) : null },
    });
    const actor = createActor(machine, {
      systemId: 'coordinator',
      input: {
        config: {
          fallbackChain: o.fallbackChain,
          maxFallbacks: o.maxFallbacks,
          leaseMs: o.leaseMs,
          maxQueue: o.maxQueue,
          lowWatermark: o.lowWatermark,
          retryHintMs: o.retryHintMs,
          circuit: o.circuit,
          adaptive: o.adaptiveConcurrency,
          usageLimitPauseMs: o.usageLimitPauseMs,
          sweepIntervalMs: o.sweepIntervalMs,
          sharedLedger: link !== null,
          globalLimits: this.#providerLimits(),
          failurePolicies: o.failurePolicy,
          maxRequeues: o.requeue.maxRequeues,
        },
        budgets: this.#localBudgets(),
        now,
        day: window.day,
        nextResetAt: window.nextResetAt,
      },
      ...(this.#observability?.inspect ? { inspect: this.#observability.inspect } : {}),
    });
    actor.on('*', (event) => this.#onCoordinatorEvent(event));
    this.#actor = actor;
    this.#state = 'running';
    actor.start();
    o.logger?.info({ providers: this.#providerLimits(), day: window.day, ledger: o.ledger.kind }, 'agentvisor orchestrator started');
  }

  /**
   * Admits an agent: one coordinator transition checks budget and concurrency and reserves its
   * allocation, then the session authenticates. Resolves when the agent is active; rejects with
   * `concurrency-limit`, `quota-exhausted`, `queue-full`, `no-provider` or `auth-failed`.
   */
  async spawnAgent(options: SpawnOptions): Promise<ManagedAgent> {
    // Everything below runs synchronously within this call (an async function runs until its first
    // await): admission is decided before spawnAgent returns its promise.
    const checked = checkSpawn(options);
    const actor = this.#running('spawn an agent');
    if (this.#link?.state === 'degraded' && this.#options.ledger.whenUnavailable === 'fail-closed') {
      throw new AgentvisorError('ledger-unavailable', `the shared quota ledger (${this.#options.ledger.kind}) cannot be reached and the policy is fail-closed: nothing is admitted until it is back`, {
        retryAfterMs: this.#options.ledger.syncIntervalMs,
      });
    }
    const agentId = checked.agentId ?? newId();
    if (this.#live.has(agentId) || this.#pendingAgentIds.has(agentId)) {
      throw new AgentvisorError('duplicate-agent', `agent ${agentId} is already live; release it first or use another agentId`, { details: { agentId } });
    }
    const { taskKind } = checked;
    if (taskKind !== null && this.#estimates.size >= MAX_TASK_KINDS && !this.#estimates.has(taskKind)) {
      throw new AgentvisorError('invalid-option', `taskKind ${JSON.stringify(taskKind)} would be kind number ${MAX_TASK_KINDS + 1}: use a few coarse kinds of work (lint, fix-test, refactor), not one per task`);
    }
    const estimatedTokens = checked.estimatedTokens ?? this.#estimates.estimateFor(taskKind!);
    const excluded = this.#switchesActive ? excludedFor(this.#options.switches, agentId) : NO_EXCLUSIONS;
    const allowedProviders = excluded.length === 0 ? undefined : PROVIDER_IDS.filter((p) => !excluded.some((e) => e.provider === p));
    // Request ids only correlate the coordinator's answer with this call: a counter is enough.
    const requestId = `r${(this.#requests += 1)}`;
    const sessionId = newId();
    const result = new Promise<ManagedAgent>((resolve, reject) => {
      this.#pending.set(requestId, { agentId, sessionId, task: checked.task, excluded, taskKind, estimatedTokens, resolve, reject });
    });
    this.#pendingAgentIds.add(agentId);
    this.#observability?.spawnRequested(agentId);
    actor.send({
      type: 'agent.spawn',
      requestId,
      sessionId,
      agentId,
      estimatedTokens,
      ...this.#placement(checked, allowedProviders),
      ...(allowedProviders === undefined ? {} : { allowedProviders }),
      waitMs: checked.waitMs,
      priority: checked.priority,
      now: this.#options.clock.now(),
    });
    // Still pending: it waits in the coordinator's queue until admitted or its deadline (a clock.tick).
    if (checked.waitMs > 0 && this.#pending.has(requestId)) return this.#keepAlive.hold(result);
    return result;
  }

  /** A live agent by id; throws `unknown-agent`. */
  getAgent(agentId: string): ManagedAgent {
    const agent = this.#live.get(agentId);
    if (!agent) throw new AgentvisorError('unknown-agent', `no live agent has id ${JSON.stringify(String(agentId).slice(0, 128))}; it was never spawned here or was released`, { details: { agentId } });
    return agent;
  }

  /** The live agents. */
  agents(): ManagedAgent[] {
    return [...this.#live.values()];
  }

  /** Budget and concurrency per provider, read from the coordinator's snapshot (exact, O(1)). */
  stats(): OrchestratorStats {
    const context = this.actor.getSnapshot().context;
    const now = this.#options.clock.now();
    const providers = Object.fromEntries(
      PROVIDER_IDS.map((p): [ProviderId, ProviderStats] => {
        const b = context.budgets[p];
        const h = context.health[p];
        const counts = windowCounts(h, this.#options.circuit, now);
        const state = circuitState(h, now);
        const circuit = { state, openUntil: state === 'closed' ? null : h.openUntil, failures: counts.failed, requests: counts.ok + counts.failed, openings: h.openings };
        const { enabled, disabledBy, rolloutPercent } = this.#options.switches[p];
        const pausedUntil = h.pausedUntil > now ? h.pausedUntil : null;
        // On a shared ledger the figures are global: this host's sessions plus what the others hold.
        const others = this.#link?.others[p] ?? { used: 0, reserved: 0, active: 0 };
        const limits = this.#options.budgets[p];
        const used = b.used + others.used;
        const reserved = b.reserved + others.reserved;
        const available = this.#link ? Math.max(0, limits.dailyLimit - used - reserved) : availableTokens(b);
        return [
          p,
          {
            dailyLimit: limits.dailyLimit, used, reserved, available, active: b.active + others.active, maxConcurrent: limits.maxConcurrent,
            effectiveLimit: Math.min(h.limit ?? b.maxConcurrent, b.maxConcurrent), pausedUntil, overrun: b.overrun, circuit, enabled, disabledBy, rolloutPercent,
          },
        ];
      }),
    ) as Record<ProviderId, ProviderStats>;
    const ledger = { backend: this.#options.ledger.kind, state: this.#link?.state ?? 'ok', unsettled: this.#link?.unsettled ?? 0 } as const;
    return { providers, queued: context.queue.length, day: context.day, nextResetAt: context.nextResetAt, activity: this.#activity.getSnapshot().context, taskKinds: this.#estimates.stats(), ledger };
  }

  on<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#events.on(event, listener as never);
    return this;
  }

  off<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#events.off(event, listener as never);
    return this;
  }

  once<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#events.once(event, listener as never);
    return this;
  }

  /**
   * The Prometheus text exposition of this orchestrator's metrics (its own registry); rejects with
   * `invalid-option` unless it was created with `metrics: true`.
   *
   * @example
   * const orch = createOrchestrator({ metrics: true });
   * console.log(await orch.metrics()); // agentvisor_sessions_active{provider="claude"} 0 …
   */
  metrics(): Promise<string> {
    return this.#observability?.metrics() ?? Promise.reject(new AgentvisorError('invalid-option', 'metrics are off: create the orchestrator with { metrics: true }'));
  }

  /** Refuses waiting spawns with `stopped`, releases every live agent (reason `stopped`), stops the actors and flushes the audit trail. */
  async stop(): Promise<void> {
    if (this.#state !== 'running' || !this.#actor) {
      this.#state = 'stopped';
      await this.#closeLedger();
      if (this.#observability) await this.#observability.close();
      return;
    }
    // First close admission, so releases below cannot hand their slots to waiters.
    this.#actor.send({ type: 'coordinator.stop' });
    for (const agent of [...this.#live.values()]) agent.stop();
    for (const [requestId, pending] of this.#pending) {
      this.#pending.delete(requestId);
      this.#pendingAgentIds.delete(pending.agentId);
      pending.reject(new AgentvisorError('stopped', `the orchestrator stopped before agent ${pending.agentId} was admitted`));
    }
    this.#state = 'stopped';
    this.#actor.stop();
    // The releases above queued their settlements: they reach the ledger before it is closed.
    await this.#closeLedger();
    this.#options.logger?.info('agentvisor orchestrator stopped');
    if (this.#observability) await this.#observability.close();
  }

  /** Reads the credential files once at start; problems are logged and reported when a provider is used. */
  async #loadCredentials(): Promise<Authenticate> {
    const o = this.#options;
    const resolver = createCredentialResolver({
      env: o.env,
      apiKeys: o.apiKeys,
      home: o.home,
      claudeHome: o.claudeHome,
      sources: o.credentialSources,
      permissions: o.credentialPermissions,
      now: () => o.clock.now(),
      oauth: o.oauth,
    });
    const report = await resolver.load();
    this.#resolver = resolver;
    for (const warning of report.warnings) o.logger?.warn({ warning }, 'credentials');
    for (const problem of report.problems) o.logger?.warn({ source: problem.source, code: problem.code, problem: problem.message }, 'credential source unusable');
    return resolver.authenticate;
  }

  /** Opens the configured shared ledger and reads it once, so admission starts from its exact figures. */
  async #openLedger(): Promise<LedgerLink | null> {
    const o = this.#options;
    if (o.ledger.create === null) return null;
    const ledger = await o.ledger.create({ limits: o.budgets, dailyReset: o.dailyReset, now: () => o.clock.now() });
    this.#ledger = ledger;
    const link = new LedgerLink({
      ledger,
      limits: o.budgets,
      leaseMs: o.ledger.leaseMs,
      syncIntervalMs: o.ledger.syncIntervalMs,
      whenUnavailable: o.ledger.whenUnavailable,
      clock: o.clock,
      logger: o.logger,
      onLimits: (limits) => {
        this.#ledgerLimits = limits;
        if (this.#state === 'running') this.#actor?.send({ type: 'ledger.limits', limits, now: o.clock.now() });
      },
      onState: (state, reason) => this.#events.emit(state === 'ok' ? 'ledger.recovered' : 'ledger.degraded', { backend: o.ledger.kind, reason }),
    });
    this.#link = link;
    try {
      await link.start();
    } catch (error) {
      // A refusal no retry can fix (a symlinked or corrupt ledger file): start() rejects with it.
      await this.#closeLedger();
      throw error;
    }
    return link;
  }

  async #closeLedger(): Promise<void> {
    await this.#estimatesFile.flush();
    await Promise.all([...this.#pauseWrites]);
    await this.#link?.stop();
    if (this.#ledger && this.#options.ledger.owned) await this.#ledger.close().catch(() => undefined);
    this.#link = null;
    this.#ledger = null;
  }

  /** The coordinator's budgets: the configured limits, lowered by what other hosts hold on a shared ledger. */
  #localBudgets(): Budgets {
    const limits = this.#ledgerLimits;
    if (limits === null) return this.#options.budgets;
    const budgets = { ...this.#options.budgets };
    for (const p of PROVIDER_IDS) budgets[p] = { ...budgets[p], dailyLimit: limits[p].dailyLimit, maxConcurrent: limits[p].maxConcurrent };
    return budgets;
  }

  /** With a file ledger, pauses are written beside it so `agentvisor status` / `quota` in another process show them. */
  #recordPause(provider: ProviderId, pause: ProviderPause | null): void {
    const file = this.#options.ledger.file;
    if (file === null) return;
    const write = writePause(pausesFileFor(file), provider, pause)
      .catch((error: unknown) => {
        this.#options.logger?.warn({ provider, problem: error instanceof Error ? error.message : String(error) }, 'could not record the provider pause beside the ledger');
      })
      .finally(() => this.#pauseWrites.delete(write));
    this.#pauseWrites.add(write);
  }

  /** Logs what a provider reported too far ahead (it was capped) and hands the capped values on. */
  #capped<T extends { capped: readonly CappedTime[] }>(provider: ProviderId | null, result: T): T {
    if (result.capped.length === 0) return result;
    const maxDays = this.#options.maxProviderResetMs / 86_400_000;
    for (const c of result.capped) {
      const reported = c.field === 'resetAt' ? new Date(c.reported).toISOString() : `${c.reported} ms`;
      const used = c.field === 'resetAt' ? new Date(c.used).toISOString() : `${c.used} ms`;
      this.#options.logger?.warn({ provider, field: c.field, reported, used }, `suspicious provider reset: more than ${maxDays} days away, capped (maxProviderResetMs)`);
    }
    return result;
  }

  /** Asks the shared ledger to reserve a new session and hands the answer to the coordinator. */
  #askReserve(ask: Extract<CoordinatorEmitted, { type: 'ledger.reserveAsked' }>): void {
    const link = this.#link!;
    const answered = (outcome: AdmissionOutcome) => {
      const now = this.#options.clock.now();
      if (this.#state !== 'running') {
        // Stopped meanwhile: nobody will run this session; its reservation goes back.
        if (outcome.status === 'reserved') link.settleStint(ask.sessionId, 0, ask.provider, 0).catch(() => undefined);
        return;
      }
      if (outcome.status === 'reserved') {
        this.#actor?.send({ type: 'ledger.reserveAnswered', requestId: ask.requestId, granted: true, now });
        return;
      }
      if (outcome.retryAfterMs !== null) link.syncAfter(outcome.retryAfterMs);
      this.#actor?.send({ type: 'ledger.reserveAnswered', requestId: ask.requestId, granted: false, code: outcome.code, retryAfterMs: outcome.retryAfterMs, now });
    };
    link.reserveAdmission(ask.sessionId, ask.provider, ask.tokens).then(answered, (error: unknown) => {
      this.#options.logger?.error({ problem: error instanceof Error ? error.message : String(error) }, 'quota ledger reservation failed');
      answered({ status: 'refused', code: 'ledger-unavailable', retryAfterMs: this.#options.ledger.syncIntervalMs });
    });
  }

  /** Asks the shared ledger for a session's top-up and hands the answer to the coordinator. */
  #askTopUp(ask: Extract<CoordinatorEmitted, { type: 'quota.topUpAsked' }>): void {
    const link = this.#link;
    const answer = (granted: boolean) => {
      if (this.#state === 'running') this.#actor?.send({ type: 'ledger.topUpAnswered', sessionId: ask.sessionId, stint: ask.stint, granted, now: this.#options.clock.now() });
    };
    if (link === null) return answer(true);
    link.topUp(ask).then(answer, () => answer(false));
  }

  /** Tells the coordinator about a failed request; the coordinator decides what it means for the provider (circuit, adaptive limit, pause). */
  #providerFailed(failure: ProviderFailure, activeSince: number | null): void {
    if (this.#state !== 'running') return;
    const { provider, kind, throttle, resetAt } = failure;
    this.#actor?.send({ type: 'provider.failed', provider, kind, throttle, resetAt, since: activeSince, now: this.#options.clock.now() });
  }

  /**
   * A session of a task kind ended: one released by its host (a whole piece of work) teaches the
   * kind's estimate; one that expired, failed or was stopped says nothing reliable about its kind.
   */
  #learnFrom(output: SessionOutput): void {
    const entry = this.#taskKinds.get(output.sessionId);
    if (entry === undefined) return;
    this.#taskKinds.delete(output.sessionId);
    if (output.reason === 'released') this.#estimatesFile.record(entry.kind, { used: output.usedTokens, allocated: entry.allocated });
  }

  /**
   * A provider's rate-limit headers (on an answer or a failure) say 0 tokens or 0 requests are left
   * until a reset: the coordinator admits nothing new onto it until then (a pause, reason
   * `reported-limit`). Headers without a reset in the future change nothing.
   */
  #limitsReported(provider: ProviderId, facts: RateLimitFacts): void {
    if (this.#state !== 'running') return;
    const left = facts.remaining;
    if (left === null || (left.tokens !== 0 && left.requests !== 0)) return;
    const now = this.#options.clock.now();
    if (facts.resetAt === null || facts.resetAt <= now) return;
    this.#actor?.send({ type: 'provider.exhausted', provider, until: facts.resetAt, reason: 'reported-limit', now });
  }

  /**
   * Where a spawn starts, and whether it may be admitted further down the chain when that provider
   * is full. A session the switches keep from a provider starts on the first one it may use.
   */
  #placement(checked: CheckedSpawn, allowed: readonly ProviderId[] | undefined): { preferredProvider: ProviderId | null; onlyPreferred: boolean } {
    const preferredProvider = checked.preferredProvider ?? this.#startProvider(allowed);
    const onlyPreferred = (checked.whenPreferredBusy ?? this.#options.whenPreferredBusy) === 'wait';
    const head = allowed === undefined ? this.#options.fallbackChain[0] : this.#options.fallbackChain.find((p) => allowed.includes(p));
    return { preferredProvider: onlyPreferred ? (preferredProvider ?? head ?? null) : preferredProvider, onlyPreferred };
  }

  /** The provider priority policy's pick among the chain's providers (those allowed), or null for the head of the chain. */
  #startProvider(allowed?: readonly ProviderId[]): ProviderId | null {
    const policy = this.#options.providerPriority;
    const resolver = this.#resolver;
    if (policy === null || resolver === null) return allowed === undefined ? null : (this.#options.fallbackChain.find((p) => allowed.includes(p)) ?? null);
    const classes = resolver.credentialClasses();
    // The same classes rank the same way: one ranking per change of credentials, not one per spawn.
    if (allowed === undefined && this.#startCache?.classes === classes) return this.#startCache.provider;
    const chain = allowed === undefined ? this.#options.fallbackChain : this.#options.fallbackChain.filter((p) => allowed.includes(p));
    const provider = rankProviders(policy, classes, chain).find((p) => chain.includes(p)) ?? null;
    if (allowed === undefined) this.#startCache = { classes, provider };
    return provider;
  }

  /** The order sessions that name no provider try providers in, and each provider's credential class (no secrets). */
  providerOrder(): { readonly order: readonly ProviderId[]; readonly credentials: Readonly<Record<ProviderId, CredentialClass | null>> } {
    const credentials = this.#resolver?.credentialClasses() ?? { claude: null, openai: null };
    const chain = this.#options.fallbackChain;
    const first = this.#startProvider();
    const order = first === null ? [...chain] : [first, ...chain.filter((p) => p !== first)];
    return { order, credentials };
  }

  #running(what: string): Actor<typeof coordinatorMachine> {
    if (this.#state === 'stopped') throw new AgentvisorError('stopped', `cannot ${what}: the orchestrator was stopped`);
    if (!this.#actor) throw new AgentvisorError('not-started', `cannot ${what}: await orch.start() first`);
    return this.#actor;
  }

  #providerLimits(): Record<ProviderId, { dailyLimit: number; maxConcurrent: number }> {
    return Object.fromEntries(PROVIDER_IDS.map((p) => [p, { dailyLimit: this.#options.budgets[p].dailyLimit, maxConcurrent: this.#options.budgets[p].maxConcurrent }])) as Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  }

  #onCoordinatorEvent(event: CoordinatorEmitted): void {
    const log = this.#options.logger;
    switch (event.type) {
      case 'agent.admitted': {
        const pending = this.#pending.get(event.requestId);
        if (!pending) return;
        this.#pending.delete(event.requestId);
        this.#pendingAgentIds.delete(pending.agentId);
        const system = this.#actor!.system;
        const lookup = () => system.get(event.sessionId) as ActorRefFrom<AgentSessionMachine> | undefined;
        const agent = new ManagedAgent({ agentId: pending.agentId, sessionId: pending.sessionId, task: pending.task, lookup, host: this.#agentHost });
        this.#live.set(agent.id, agent);
        this.#bySession.set(agent.sessionId, agent);
        agent.settleSpawnWith(pending.resolve, pending.reject);
        if (pending.taskKind !== null) this.#taskKinds.set(pending.sessionId, { kind: pending.taskKind, allocated: event.allocatedTokens });
        this.#activity.trigger.admitted();
        log?.debug({ agentId: agent.id, sessionId: agent.sessionId, provider: event.provider, allocatedTokens: event.allocatedTokens, waitedMs: event.waitedMs }, 'agent admitted');
        return;
      }
      case 'agent.queued':
        this.#activity.trigger.queued();
        log?.debug({ agentId: event.agentId, position: event.position, code: event.code }, 'agent queued');
        this.#events.emit('agent.queued', { agentId: event.agentId, position: event.position, code: event.code });
        return;
      case 'agent.refused': {
        const pending = this.#pending.get(event.requestId);
        if (pending) {
          this.#pending.delete(event.requestId);
          this.#pendingAgentIds.delete(pending.agentId);
            const message = event.hopeless === true
            ? hopelessMessage(event.code, event.agentId, pending.estimatedTokens, this.#providerLimits(), pending.excluded)
            : refusalMessage(event.code, event.agentId, event.retryAfterMs, event.waited, pending.excluded);
          pending.reject(new AgentvisorError(event.code, message, {
            retryAfterMs: event.retryAfterMs,
            details: { agentId: event.agentId },
          }));
        }
        this.#activity.trigger.refused({ code: event.code });
        log?.info({ agentId: event.agentId, code: event.code, retryAfterMs: event.retryAfterMs }, 'agent refused');
        this.#events.emit('agent.refused', { agentId: event.agentId, code: event.code, retryAfterMs: event.retryAfterMs, waited: event.waited, ...(event.hopeless === true ? { hopeless: true } : {}) });
        return;
      }
      case 'agent.active': {
        const agent = this.#bySession.get(event.sessionId);
        if (!agent) return;
        agent.onActive();
        log?.debug({ agentId: agent.id, sessionId: agent.sessionId, provider: event.provider }, 'agent active');
        this.#events.emit('agent.active', { agentId: agent.id, sessionId: agent.sessionId, provider: event.provider, allocatedTokens: agent.allocatedTokens });
        return;
      }
      case 'agent.requeued': {
        this.#link?.settleStint(event.sessionId, event.stint, event.provider, event.usedOnProvider).catch(() => undefined);
        this.#activity.trigger.requeued();
        log?.info({ agentId: event.agentId, provider: event.provider, reason: event.reason, notBefore: event.notBefore }, 'agent requeued');
        this.#events.emit('agent.requeued', { agentId: event.agentId, sessionId: event.sessionId, provider: event.provider, reason: event.reason, notBefore: event.notBefore });
        return;
      }
      case 'agent.fallback': {
        this.#link?.settleStint(event.sessionId, event.stint, event.from, event.usedOnProvider).catch(() => undefined);
        const agent = this.#bySession.get(event.sessionId);
        const startedAt = agent?.failureStartedAt() ?? null;
        const latencyMs = startedAt === null ? 0 : this.#options.clock.now() - startedAt;
        this.#activity.trigger.fallback();
        log?.info({ agentId: event.agentId, from: event.from, to: event.to, reason: event.reason }, 'agent fallback');
        this.#events.emit('agent.fallback', { agentId: event.agentId, sessionId: event.sessionId, from: event.from, to: event.to, reason: event.reason, latencyMs });
        return;
      }
      case 'agent.released': {
        const { output } = event;
        // A session that ended after a refused fallback settled its last stint when it left it.
        if (output.heldSlot) this.#link?.settleStint(output.sessionId, output.stint, output.provider, output.usedOnProvider).catch(() => undefined);
        if (this.#taskKinds.size > 0) this.#learnFrom(output);
        const agent = this.#bySession.get(output.sessionId);
        if (agent) {
          this.#bySession.delete(output.sessionId);
          if (this.#live.get(agent.id) === agent) this.#live.delete(agent.id);
          agent.onReleased(output);
        }
        this.#activity.trigger.released({ reason: output.reason });
        log?.debug({ agentId: output.agentId, sessionId: output.sessionId, provider: output.provider, usedTokens: output.usedTokens, returnedTokens: output.returnedTokens, reason: output.reason }, 'agent released');
        this.#events.emit('agent.released', {
          agentId: output.agentId,
          sessionId: output.sessionId,
          provider: output.provider,
          usedTokens: output.usedTokens,
          returnedTokens: output.returnedTokens,
          reason: output.reason,
          error: output.error,
        });
        return;
      }
      case 'quota.low':
        log?.warn({ provider: event.provider, available: event.available }, 'quota low');
        this.#events.emit('quota.low', { provider: event.provider, available: event.available, dailyLimit: event.dailyLimit });
        return;
      case 'quota.topUpAsked':
        this.#askTopUp(event);
        return;
      case 'ledger.reserveAsked':
        this.#askReserve(event);
        return;
      case 'quota.overrun': {
        const agent = this.#bySession.get(event.sessionId);
        this.#activity.trigger.overrun({ tokens: event.overrunTokens });
        log?.warn({ provider: event.provider, sessionId: event.sessionId, overrunTokens: event.overrunTokens }, 'usage beyond the daily budget');
        this.#events.emit('quota.overrun', { provider: event.provider, agentId: agent?.id ?? null, sessionId: event.sessionId, overrunTokens: event.overrunTokens });
        return;
      }
      case 'quota.reset':
        log?.info({ day: event.day }, 'daily budget reset');
        this.#events.emit('quota.reset', { day: event.day });
        return;
      case 'provider.limit':
        log?.info({ provider: event.provider, limit: event.limit, previous: event.previous, reason: event.reason }, 'adaptive concurrency limit');
        this.#events.emit('provider.limit', { provider: event.provider, limit: event.limit, previous: event.previous, reason: event.reason });
        return;
      case 'provider.paused':
        this.#recordPause(event.provider, { until: event.until, reason: event.reason });
        log?.warn({ provider: event.provider, until: new Date(event.until).toISOString(), reason: event.reason }, 'provider paused until its usage limit resets');
        this.#events.emit('provider.paused', { provider: event.provider, until: event.until, reason: event.reason });
        return;
      case 'provider.resumed':
        this.#recordPause(event.provider, null);
        log?.info({ provider: event.provider }, 'provider resumed');
        this.#events.emit('provider.resumed', { provider: event.provider });
        return;
      case 'provider.circuit':
        (event.state === 'open' ? log?.warn : log?.info)?.call(log, { provider: event.provider, state: event.state, openUntil: event.openUntil, failures: event.failures }, 'provider circuit');
        this.#events.emit('provider.circuit', { provider: event.provider, state: event.state, openUntil: event.openUntil, failures: event.failures });
        return;
    }
  }
}

/** No switch keeps any provider from the agent (shared, so the common spawn allocates nothing). */
const NO_EXCLUSIONS: readonly Exclusion[] = Object.freeze([]);

/**
 * Creates an orchestrator. Options are checked at once: a bad one throws `invalid-option`; a bad
 * `configFile` throws `invalid-config` naming the field.
 *
 * @example
 * const orch = createOrchestrator({ limits: { openai: { maxConcurrent: 4 } }, fallbackChain: ['claude', 'openai'] });
 * const fromFile = createOrchestrator({ configFile: defaultConfigFile(home), home, limits: { claude: { maxConcurrent: 2 } } });
 */
export function createOrchestrator(options: OrchestratorOptions = {}): Orchestrator {
  return new Orchestrator(options);
}
