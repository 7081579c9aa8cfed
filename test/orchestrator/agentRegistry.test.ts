/**
 * The agent registry: spawns waiting for the coordinator's answer and the live handles, by agent id
 * and by session id. Real ManagedAgent handles (no session actor is needed until one is used).
 */
import type { SessionOutput } from '../../machines/agentSession.types';
import type { ActorSystem, AnyActorRef } from 'xstate';
import { createAgentHost, handleFor } from '../../src/orchestrator/agentHost';
import { AgentRegistry } from '../../src/orchestrator/agentRegistry';
import type { PendingSpawn } from '../../src/orchestrator/agentRegistry';
import { createManualClock } from '../../src/orchestrator/clock';
import { KeepAlive } from '../../src/orchestrator/keepAlive';
import { resolveOptions } from '../../src/orchestrator/options';
import { AgentvisorError } from '../../src/errors';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Whether nothing but `ref` holds its target any more (a full GC after the current job, which keeps WeakRef targets alive). */
async function isCollected(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return ref.deref() === undefined;
}

const options = resolveOptions({ clock: createManualClock(1_000) });
const host = createAgentHost({
  options,
  keepAlive: new KeepAlive(false),
  running: () => null,
  link: () => null,
});
const noSystem = { get: () => undefined } as unknown as ActorSystem<{ actors: Record<string, AnyActorRef> }>;
const make = (spawn: PendingSpawn) => handleFor(spawn, noSystem, host);

function spawnOf(agentId: string, sessionId: string, taskKind: string | null = null): PendingSpawn {
  return { agentId, sessionId, task: null, excluded: [], taskKind, estimatedTokens: 1_000 };
}

function outputOf(sessionId: string, agentId: string): SessionOutput {
  return {
    sessionId,
    agentId,
    provider: 'claude',
    usedTokens: 10,
    returnedTokens: 990,
    returnedOnProvider: 990,
    usedOnProvider: 10,
    stint: 0,
    heldSlot: true,
    reason: 'released',
    error: null,
    fallbacks: [],
    endedAt: 2_000,
  };
}

/** Adds a pending spawn; its settlement (the handle, or the error) is kept so no rejection goes unhandled. */
function addPending(registry: AgentRegistry, requestId: string, spawn: PendingSpawn): Promise<unknown> {
  return registry.addPending(requestId, spawn).then(
    (agent) => agent,
    (error: unknown) => error,
  );
}

describe('AgentRegistry', () => {
  it('should take an agent id while it waits and while it is live, and free it at release', async () => {
    const registry = new AgentRegistry();
    const spawned = addPending(registry, 'r1', spawnOf('a1', 's1'));
    expect(registry.has('a1')).toBe(true);
    expect(registry.isPending('r1')).toBe(true);
    const agent = registry.admit('r1', 1_000, make);
    expect(agent?.id).toBe('a1');
    expect(registry.isPending('r1')).toBe(false);
    expect(registry.has('a1')).toBe(true);
    expect(registry.get('a1')).toBe(agent);
    expect(registry.bySession('s1')).toBe(agent);
    expect(registry.live()).toEqual([agent]);
    expect(registry.released(outputOf('s1', 'a1'))).toBe(agent);
    expect(registry.has('a1')).toBe(false);
    expect(registry.live()).toEqual([]);
    expect(registry.released(outputOf('s1', 'a1'))).toBeUndefined();
    // Released before it was ever active: its spawn rejects with the session's end.
    await expect(spawned).resolves.toMatchObject({ code: 'agent-released' });
  });

  it('should answer nothing for a request it never had', () => {
    const registry = new AgentRegistry();
    expect(registry.admit('r-unknown', 1_000, make)).toBeNull();
    expect(() => registry.refuse('r-unknown', () => new AgentvisorError('queue-full', 'full'))).not.toThrow();
  });

  it('should reject a refused spawn and every spawn still waiting when stopped', async () => {
    const registry = new AgentRegistry();
    const refused = registry.addPending('r1', spawnOf('a1', 's1'));
    const waiting = registry.addPending('r2', spawnOf('a2', 's2'));
    registry.refuse('r1', (spawn) => new AgentvisorError('queue-full', `no room for ${spawn.agentId}`));
    await expect(refused).rejects.toMatchObject({ code: 'queue-full', message: 'no room for a1' });
    registry.refuseAllPending();
    await expect(waiting).rejects.toMatchObject({ code: 'stopped' });
    expect(registry.has('a1') || registry.has('a2')).toBe(false);
  });

  it('should keep the release of an old session from removing a new agent with the same id', () => {
    const registry = new AgentRegistry();
    void addPending(registry, 'r1', spawnOf('a1', 's1'));
    registry.admit('r1', 1_000, make);
    void addPending(registry, 'r2', spawnOf('a1', 's2'));
    const second = registry.admit('r2', 1_000, make);
    registry.released(outputOf('s1', 'a1'));
    expect(registry.get('a1')).toBe(second);
  });

  it('should remember a task kind with its allocation at admission and hand it out once', () => {
    const registry = new AgentRegistry();
    expect(registry.takeTaskKind('s1')).toBeUndefined();
    void addPending(registry, 'r1', spawnOf('a1', 's1', 'lint'));
    registry.admit('r1', 1_500, make);
    expect(registry.takeTaskKind('s1')).toEqual({ kind: 'lint', allocated: 1_500 });
    expect(registry.takeTaskKind('s1')).toBeUndefined();
  });

  it('should let a live agent go of its settled spawn, even when its handle keeps the spawn it was made from', async () => {
    const registry = new AgentRegistry();
    const kept: PendingSpawn[] = [];
    const spawned = { promise: registry.addPending('r1', spawnOf('a1', 's1')) as Promise<unknown> | null };
    const agent = registry.admit('r1', 1_000, (spawn) => {
      kept.push(spawn);
      return make(spawn);
    });
    agent?.onActive();
    await spawned.promise;
    const promise = new WeakRef(spawned.promise!);
    spawned.promise = null;
    expect(await isCollected(promise)).toBe(true);
    expect(registry.get('a1')?.isLive).toBe(true);
    expect(kept).toHaveLength(1);
  });

  it('should keep no spawn alive through a handle: the handle looks its session up by id', async () => {
    const held = { spawn: spawnOf('a1', 's1') as PendingSpawn | null };
    const agent = handleFor(held.spawn!, noSystem, host);
    const spawn = new WeakRef(held.spawn!);
    held.spawn = null;
    expect(await isCollected(spawn)).toBe(true);
    expect(agent.sessionId).toBe('s1');
  });
});
