import type { Actor } from 'xstate';
import type { coordinatorMachine } from '../../machines/coordinator.machine';
import { AgentvisorError } from '../errors';
import { createAgentHost, handleFor } from './agentHost';
import { AgentRegistry } from './agentRegistry';
import { checkedEvent, checkListener } from './listenerChecks';
import { sideEffectsOf } from './bindMachines';
import { systemClock } from './clock';
import { createCoordinator } from './coordinatorStart';
import { providerLimitsOf } from './coordinatorInput';
import { EstimatesFile } from './estimatesFile';
import { EventRelay } from './eventRelay';
import { newId } from './ids';
import { KeepAlive } from './keepAlive';
import { TaskKindEstimates } from './learnedEstimates';
import { LedgerLifecycle } from './ledgerLifecycle';
import type { ManagedAgent } from './managedAgent';
import { createObservabilityHooks, metricsText } from './observabilityHooks';
import type { ObservabilityHooks } from './observabilityHooks';
import { resolveOptions } from './options';
import type { OrchestratorOptions, ResolvedOptions } from './options';
import { ProviderPlacement } from './providerPlacement';
import type { ProviderOrder } from './providerPlacement';
import { createReadModel, projectStats } from './readModel';
import type { ReadModel } from './readModel';
import { refusalError } from './refusalMessage';
import { logRelayEvents } from './relayLog';
import type { OrchestratorEventMap, OrchestratorStats, SpawnOptions } from './types';
import { duplicateAgent, spawnEstimate, unknownAgent } from './spawnChecks';
import { checkSpawn } from './validation';

/**
 * The orchestrator a host embeds: a coordinator actor that owns the budget and supervises one
 * session actor per agent. This class keeps the lifecycle, spawnAgent and the reads; the registry,
 * the event relay, the read model, the ledger lifecycle and the machines' bindings are modules of
 * their own.
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
  readonly #registry = new AgentRegistry();
  readonly #relay: EventRelay;
  readonly #readModel: ReadModel;
  readonly #ledger: LedgerLifecycle;
  readonly #placement: ProviderPlacement;
  #requests = 0;
  #actor: Actor<typeof coordinatorMachine> | null = null;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #starting: Promise<void> | null = null;
  /** Keeps the process alive while a host awaits a wait (queued spawn, requeued session) on the real clock. */
  readonly #keepAlive: KeepAlive;
  /** Logger masking, audit, metrics and sanitized inspection; null when none is on (then they cost nothing). */
  readonly #observability: ObservabilityHooks | null;
  readonly #estimates: TaskKindEstimates;
  readonly #estimatesFile: EstimatesFile;

  constructor(options: OrchestratorOptions = {}) {
    // Checked first: nothing may read `options` before they are known to be an object.
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#keepAlive = new KeepAlive(o.clock === systemClock);
    const running = () => (this.#state === 'running' ? this.#actor : null);
    const stateChanged = (state: 'ok' | 'degraded', reason: string | null) =>
      this.#relay.publish(state === 'ok' ? 'ledger.recovered' : 'ledger.degraded', { backend: o.ledger.kind, reason });
    this.#ledger = new LedgerLifecycle({ options: o, running, stateChanged });
    const link = () => this.#ledger.link;
    // Shared by every ManagedAgent of this orchestrator.
    const agentHost = createAgentHost({ options: o, keepAlive: this.#keepAlive, running, link });
    this.#placement = new ProviderPlacement(o);
    this.#relay = new EventRelay({
      registry: this.#registry,
      clock: o.clock,
      makeAgent: (spawn) => handleFor(spawn, this.#actor!.system, agentHost),
      refusalError: (event, spawn) => refusalError(event, spawn, providerLimitsOf(o)),
      askReserve: (ask) => this.#ledger.askReserve(ask),
      askTopUp: (ask) => this.#ledger.askTopUp(ask),
    });
    // Subscribed before any host listener: a listener reading stats() sees the event counted, after it was logged.
    if (o.logger) logRelayEvents(this.#relay, o.logger);
    this.#readModel = createReadModel(this.#relay);
    this.#observability = createObservabilityHooks(o, this);
    this.#estimates = new TaskKindEstimates(o.learnedEstimates);
    const { file, window } = o.learnedEstimates;
    this.#estimatesFile = new EstimatesFile({ estimates: this.#estimates, file, window, logger: o.logger });
  }

  /** The root XState actor (the coordinator), for inspection. Exists after start(). */
  get actor(): Actor<typeof coordinatorMachine> {
    if (!this.#actor)
      throw new AgentvisorError('not-started', 'the orchestrator has not been started: await orch.start() first');
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
    if (this.#state === 'stopped')
      return Promise.reject(new AgentvisorError('stopped', 'this orchestrator was stopped; create a new one'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    const found = o.authenticate ?? (await this.#placement.loadCredentials());
    await this.#estimatesFile.load();
    const link = await this.#ledger.open();
    const authenticate = this.#observability?.wrapAuthenticate(found, o.authenticate === null) ?? found;
    if (this.#state === 'stopped') {
      // stop() was called while the files or the ledger were read
      await this.#close();
      return;
    }
    const effects = sideEffectsOf({ ledger: this.#ledger, registry: this.#registry, estimates: this.#estimatesFile });
    const inspect = this.#observability?.inspect;
    const { actor, input } = createCoordinator({
      options: o,
      authenticate,
      link,
      effects,
      ledger: this.#ledger,
      inspect,
    });
    actor.on('*', (event) => this.#relay.relay(event));
    this.#actor = actor;
    this.#state = 'running';
    actor.start();
    o.logger?.info(
      { providers: input.config.globalLimits, day: input.day, ledger: o.ledger.kind },
      'agentvisor orchestrator started',
    );
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
    this.#ledger.assertAdmitting();
    const agentId = checked.agentId ?? newId();
    if (this.#registry.has(agentId)) throw duplicateAgent(agentId);
    const { taskKind } = checked;
    const estimatedTokens = spawnEstimate(checked, this.#estimates);
    const { excluded, ...placement } = this.#placement.place(checked, agentId);
    // Request ids only correlate the coordinator's answer with this call: a counter is enough.
    const requestId = `r${(this.#requests += 1)}`;
    const sessionId = newId();
    const result = this.#registry.addPending(requestId, {
      agentId,
      sessionId,
      task: checked.task,
      excluded,
      taskKind,
      estimatedTokens,
    });
    this.#observability?.spawnRequested(agentId);
    actor.send({
      type: 'agent.spawn',
      requestId,
      sessionId,
      agentId,
      estimatedTokens,
      ...placement,
      waitMs: checked.waitMs,
      priority: checked.priority,
      now: this.#options.clock.now(),
    });
    // Still pending: it waits in the coordinator's queue until admitted or its deadline (a clock.tick).
    if (checked.waitMs > 0 && this.#registry.isPending(requestId)) return this.#keepAlive.hold(result);
    return result;
  }

  /** A live agent by id; throws `unknown-agent`. */
  getAgent(agentId: string): ManagedAgent {
    const agent = this.#registry.get(agentId);
    if (!agent) throw unknownAgent(agentId);
    return agent;
  }

  /** The live agents. */
  agents(): ManagedAgent[] {
    return this.#registry.live();
  }

  /** Budget and concurrency per provider, read from the coordinator's snapshot (exact, O(1)), and the activity from the read model. */
  stats(): OrchestratorStats {
    const { context } = this.actor.getSnapshot();
    const sources = { context, now: this.#options.clock.now(), options: this.#options, ledger: this.#ledger.link };
    return projectStats(this.#readModel.getSnapshot().context, { ...sources, taskKinds: this.#estimates.stats() });
  }

  /**
   * Calls `listener` with the fresh stats() each time the read model changes (an admission, a
   * refusal, a release, a provider's limit, pause or resume…); returns the unsubscribe function.
   *
   * @example
   * const unsubscribe = orch.subscribeStats((stats) => draw(stats.providers.claude.effectiveLimit));
   */
  subscribeStats(listener: (stats: OrchestratorStats) => void): () => void {
    checkListener('subscribeStats', listener);
    const subscription = this.#readModel.subscribe(() => listener(this.stats()));
    return () => subscription.unsubscribe();
  }

  /** The order sessions that name no provider try providers in, and each provider's credential class (no secrets). */
  providerOrder(): ProviderOrder {
    return this.#placement.providerOrder();
  }

  on<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#relay.on(checkedEvent('on', event, listener), listener);
    return this;
  }

  off<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#relay.off(checkedEvent('off', event, listener), listener);
    return this;
  }

  once<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): this {
    this.#relay.once(checkedEvent('once', event, listener), listener);
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
    return metricsText(this.#observability);
  }

  /** Refuses waiting spawns with `stopped`, releases every live agent (reason `stopped`), stops the actors and flushes the audit trail. */
  async stop(): Promise<void> {
    const actor = this.#state === 'running' ? this.#actor : null;
    if (actor) {
      // First close admission, so releases below cannot hand their slots to waiters.
      actor.send({ type: 'coordinator.stop' });
      for (const agent of this.#registry.live()) agent.stop();
      this.#registry.refuseAllPending();
    }
    this.#state = 'stopped';
    actor?.stop();
    // The releases above queued their settlements: they reach the ledger before it is closed.
    await this.#close();
    if (actor) this.#options.logger?.info('agentvisor orchestrator stopped');
    await this.#observability?.close();
  }

  async #close(): Promise<void> {
    await this.#estimatesFile.flush();
    await this.#ledger.close();
  }

  #running(what: string): Actor<typeof coordinatorMachine> {
    if (this.#state === 'stopped') throw new AgentvisorError('stopped', `cannot ${what}: the orchestrator was stopped`);
    if (!this.#actor) throw new AgentvisorError('not-started', `cannot ${what}: await orch.start() first`);
    return this.#actor;
  }
}

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
