import { EventEmitter } from 'eventemitter3';
import type { CoordinatorEmitted } from '../../machines/coordinator.types';
import type { ProviderId } from '../../machines/providers';
import type { AgentvisorError } from '../errors';
import type { AgentRegistry, PendingSpawn } from './agentRegistry';
import type { Clock } from './clock';
import type { ManagedAgent } from './managedAgent';
import type { OrchestratorEventMap } from './types';

/** The public events plus the relay's own facts, which only the orchestrator's listeners (log, read model) hear. */
export interface RelayEventMap extends OrchestratorEventMap {
  'agent.admitted': [
    { agentId: string; sessionId: string; provider: ProviderId; allocatedTokens: number; waitedMs: number },
  ];
}

export type RelayEventName = keyof RelayEventMap;

/** What the table's entries act on: the registry, the clock, and the commands the ledger answers. */
export interface RelayPorts {
  readonly registry: AgentRegistry;
  readonly clock: Clock;
  /** Builds the handle of an admitted spawn (its session actor is found by id). */
  makeAgent(spawn: PendingSpawn): ManagedAgent;
  /** The error a refused spawn rejects with. */
  refusalError(event: Emission<'agent.refused'>, spawn: PendingSpawn): AgentvisorError;
  askReserve(ask: Emission<'ledger.reserveAsked'>): void;
  askTopUp(ask: Emission<'quota.topUpAsked'>): void;
  publish<E extends RelayEventName>(name: E, ...payload: RelayEventMap[E]): void;
}

export type EmissionType = CoordinatorEmitted['type'];
export type Emission<T extends EmissionType> = Extract<CoordinatorEmitted, { type: T }>;

/** An emission the host has no use for (kept in the table, so leaving one out is a choice, not an oversight). */
export const IGNORED = 'ignored' as const;

type RelayEntry<T extends EmissionType> = ((event: Emission<T>, ports: RelayPorts) => void) | typeof IGNORED;

/**
 * The one table from what the coordinator emits to what the orchestrator does: public events,
 * the registry's bookkeeping, and the ledger's commands. Side effects on the ledger, pause records
 * and learned estimates are not here: they are action slots of the machine (bindMachines.ts).
 */
export const RELAY_TABLE: { readonly [T in EmissionType]: RelayEntry<T> } = {
  'agent.admitted': (event, { registry, makeAgent, publish }) => {
    const agent = registry.admit(event.requestId, event.allocatedTokens, makeAgent);
    if (!agent) return;
    const { provider, allocatedTokens, waitedMs } = event;
    publish('agent.admitted', { agentId: agent.id, sessionId: agent.sessionId, provider, allocatedTokens, waitedMs });
  },
  'agent.queued': (event, { publish }) =>
    publish('agent.queued', { agentId: event.agentId, position: event.position, code: event.code }),
  'agent.refused': (event, { registry, refusalError, publish }) => {
    registry.refuse(event.requestId, (spawn) => refusalError(event, spawn));
    const { agentId, code, retryAfterMs, waited } = event;
    publish('agent.refused', {
      agentId,
      code,
      retryAfterMs,
      waited,
      ...(event.hopeless === true ? { hopeless: true } : {}),
    });
  },
  'agent.active': (event, { registry, publish }) => {
    const agent = registry.bySession(event.sessionId);
    if (!agent) return;
    agent.onActive();
    publish('agent.active', {
      agentId: agent.id,
      sessionId: agent.sessionId,
      provider: event.provider,
      allocatedTokens: agent.allocatedTokens,
    });
  },
  'agent.requeued': ({ agentId, sessionId, provider, reason, notBefore }, { publish }) =>
    publish('agent.requeued', { agentId, sessionId, provider, reason, notBefore }),
  'agent.fallback': (event, { registry, clock, publish }) => {
    const startedAt = registry.bySession(event.sessionId)?.failureStartedAt() ?? null;
    const latencyMs = startedAt === null ? 0 : clock.now() - startedAt;
    publish('agent.fallback', {
      agentId: event.agentId,
      sessionId: event.sessionId,
      from: event.from,
      to: event.to,
      reason: event.reason,
      latencyMs,
    });
  },
  'agent.released': ({ output }, { registry, publish }) => {
    registry.released(output);
    const { agentId, sessionId, provider, usedTokens, returnedTokens, reason, error } = output;
    publish('agent.released', { agentId, sessionId, provider, usedTokens, returnedTokens, reason, error });
  },
  'quota.low': (event, { publish }) =>
    publish('quota.low', { provider: event.provider, available: event.available, dailyLimit: event.dailyLimit }),
  'quota.topUpAsked': (event, { askTopUp }) => askTopUp(event),
  'ledger.reserveAsked': (event, { askReserve }) => askReserve(event),
  'quota.overrun': (event, { registry, publish }) => {
    const agentId = registry.bySession(event.sessionId)?.id ?? null;
    publish('quota.overrun', {
      provider: event.provider,
      agentId,
      sessionId: event.sessionId,
      overrunTokens: event.overrunTokens,
    });
  },
  'quota.reset': (event, { publish }) => publish('quota.reset', { day: event.day }),
  'provider.limit': ({ provider, limit, previous, reason }, { publish }) =>
    publish('provider.limit', { provider, limit, previous, reason }),
  'provider.paused': (event, { publish }) =>
    publish('provider.paused', { provider: event.provider, until: event.until, reason: event.reason }),
  'provider.resumed': (event, { publish }) => publish('provider.resumed', { provider: event.provider }),
  'provider.circuit': (event, { publish }) =>
    publish('provider.circuit', {
      provider: event.provider,
      state: event.state,
      openUntil: event.openUntil,
      failures: event.failures,
    }),
};

/**
 * Turns the coordinator's emissions into the orchestrator's events through RELAY_TABLE. The host's
 * listeners, the log, audit, metrics and the read model all subscribe here alike; those
 * subscribed first hear an event first.
 *
 * @example
 * const relay = new EventRelay({ registry, clock, makeAgent, refusalError, askReserve, askTopUp });
 * relay.on('agent.released', (e) => console.log(e.reason));
 * actor.on('*', (event) => relay.relay(event));
 */
export class EventRelay {
  readonly #events = new EventEmitter<RelayEventMap>();
  readonly #ports: RelayPorts;

  constructor(ports: Omit<RelayPorts, 'publish'>) {
    // eventemitter3 cannot check a payload against a generic event name; publish's signature does.
    const emit = this.#events.emit.bind(this.#events) as (name: RelayEventName, ...payload: unknown[]) => boolean;
    this.#ports = { ...ports, publish: (name, ...payload) => void emit(name, ...payload) };
  }

  relay(event: CoordinatorEmitted): void {
    const entry = RELAY_TABLE[event.type] as RelayEntry<EmissionType>;
    if (entry !== IGNORED) (entry as (event: CoordinatorEmitted, ports: RelayPorts) => void)(event, this.#ports);
  }

  /** Emits an event that does not come from the coordinator (the ledger's reachability). */
  publish<E extends RelayEventName>(name: E, ...payload: RelayEventMap[E]): void {
    this.#ports.publish(name, ...payload);
  }

  on<E extends RelayEventName>(event: E, listener: (...args: RelayEventMap[E]) => void): this {
    this.#events.on(event, listener as never);
    return this;
  }

  off<E extends RelayEventName>(event: E, listener: (...args: RelayEventMap[E]) => void): this {
    this.#events.off(event, listener as never);
    return this;
  }

  once<E extends RelayEventName>(event: E, listener: (...args: RelayEventMap[E]) => void): this {
    this.#events.once(event, listener as never);
    return this;
  }
}
