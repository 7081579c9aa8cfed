import type { SessionOutput } from '../../machines/agentSession.types';
import { AgentvisorError } from '../errors';
import type { ManagedAgent } from './managedAgent';
import type { Exclusion } from './providerSwitches';

/** A spawnAgent call the coordinator has not answered yet (admitted or refused). */
export interface PendingSpawn {
  readonly agentId: string;
  readonly sessionId: string;
  readonly task: string | null;
  /** Providers the switches keep from this agent (named when nothing is left). */
  readonly excluded: readonly Exclusion[];
  readonly taskKind: string | null;
  readonly estimatedTokens: number;
}

/** One fixed shape for every waiting spawn: copying the spawn's fields in beside the callbacks gave each entry a hidden class of its own. */
interface Waiting {
  readonly spawn: PendingSpawn;
  readonly resolve: (agent: ManagedAgent) => void;
  readonly reject: (error: AgentvisorError) => void;
}

/** A live session spawned with a task kind: the kind and the allocation at admission, learned from at release. */
export interface TaskKindEntry {
  readonly kind: string;
  readonly allocated: number;
}

/**
 * The orchestrator's agents: spawns waiting for the coordinator's answer (by request id) and the
 * live handles (by agent id and by session id). Invariant: an agent id is pending or live, never
 * both, and at most once.
 *
 * @example
 * const registry = new AgentRegistry();
 * const agent = registry.addPending('r1', { agentId: 'a1', sessionId: 's1', task: null, excluded: [], taskKind: null, estimatedTokens: 1000 });
 * registry.admit('r1', 1000, (spawn) => new ManagedAgent({ ...spawn, lookup, host }));
 */
export class AgentRegistry {
  readonly #pending = new Map<string, Waiting>();
  readonly #pendingAgentIds = new Set<string>();
  readonly #live = new Map<string, ManagedAgent>();
  readonly #bySession = new Map<string, ManagedAgent>();
  readonly #taskKinds = new Map<string, TaskKindEntry>();

  /** Whether the agent id is taken (live or waiting for admission). */
  has(agentId: string): boolean {
    return this.#live.has(agentId) || this.#pendingAgentIds.has(agentId);
  }

  /** Records a spawn sent to the coordinator; the promise settles with its admission or refusal. */
  addPending(requestId: string, spawn: PendingSpawn): Promise<ManagedAgent> {
    const result = new Promise<ManagedAgent>((resolve, reject) => {
      this.#pending.set(requestId, { spawn, resolve, reject });
    });
    this.#pendingAgentIds.add(spawn.agentId);
    return result;
  }

  isPending(requestId: string): boolean {
    return this.#pending.has(requestId);
  }

  /**
   * The coordinator admitted the request: `make` builds its handle, which becomes live and settles
   * the spawn on its first activation (or its end). Null for a request this registry never had.
   */
  admit(requestId: string, allocatedTokens: number, make: (spawn: PendingSpawn) => ManagedAgent): ManagedAgent | null {
    const waiting = this.#take(requestId);
    if (!waiting) return null;
    const { spawn } = waiting;
    const agent = make(spawn);
    this.#live.set(agent.id, agent);
    this.#bySession.set(agent.sessionId, agent);
    agent.settleSpawnWith(waiting.resolve, waiting.reject);
    if (spawn.taskKind !== null)
      this.#taskKinds.set(spawn.sessionId, { kind: spawn.taskKind, allocated: allocatedTokens });
    return agent;
  }

  /** The coordinator refused the request: rejects its spawn with the error `explain` builds. */
  refuse(requestId: string, explain: (spawn: PendingSpawn) => AgentvisorError): void {
    const waiting = this.#take(requestId);
    if (waiting) waiting.reject(explain(waiting.spawn));
  }

  /** Rejects every waiting spawn with `stopped` (the orchestrator stops). */
  refuseAllPending(): void {
    for (const requestId of [...this.#pending.keys()]) {
      this.refuse(
        requestId,
        (spawn) =>
          new AgentvisorError('stopped', `the orchestrator stopped before agent ${spawn.agentId} was admitted`),
      );
    }
  }

  get(agentId: string): ManagedAgent | undefined {
    return this.#live.get(agentId);
  }

  bySession(sessionId: string): ManagedAgent | undefined {
    return this.#bySession.get(sessionId);
  }

  live(): ManagedAgent[] {
    return [...this.#live.values()];
  }

  /** The session ended: its handle leaves the registry and learns its output. */
  released(output: SessionOutput): ManagedAgent | undefined {
    const agent = this.#bySession.get(output.sessionId);
    if (!agent) return undefined;
    this.#bySession.delete(output.sessionId);
    // A new agent may reuse the id once this one ended; only this handle leaves.
    if (this.#live.get(agent.id) === agent) this.#live.delete(agent.id);
    agent.onReleased(output);
    return agent;
  }

  /** The task kind the session was spawned with (forgotten once taken), or undefined. */
  takeTaskKind(sessionId: string): TaskKindEntry | undefined {
    if (this.#taskKinds.size === 0) return undefined;
    const entry = this.#taskKinds.get(sessionId);
    this.#taskKinds.delete(sessionId);
    return entry;
  }

  #take(requestId: string): Waiting | undefined {
    const waiting = this.#pending.get(requestId);
    if (!waiting) return undefined;
    this.#pending.delete(requestId);
    this.#pendingAgentIds.delete(waiting.spawn.agentId);
    return waiting;
  }
}
