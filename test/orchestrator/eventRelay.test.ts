/**
 * The event relay: one table maps every coordinator emission to what the orchestrator does. The
 * emission types are read from the CoordinatorEmitted union in machines/coordinator.types.ts, so a
 * new emission without an entry (mapped or explicitly ignored) fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CoordinatorEmitted } from '../../machines/coordinator.types';
import { createAgentHost, handleFor } from '../../src/orchestrator/agentHost';
import { AgentRegistry } from '../../src/orchestrator/agentRegistry';
import { createManualClock } from '../../src/orchestrator/clock';
import { EventRelay, IGNORED, RELAY_TABLE } from '../../src/orchestrator/eventRelay';
import type { RelayEventMap, RelayEventName, RelayPorts } from '../../src/orchestrator/eventRelay';
import { KeepAlive } from '../../src/orchestrator/keepAlive';
import { resolveOptions } from '../../src/orchestrator/options';
import { refusalError } from '../../src/orchestrator/refusalMessage';
import { providerLimitsOf } from '../../src/orchestrator/coordinatorInput';
import type { ActorSystem, AnyActorRef } from 'xstate';

/** The `type` literals of the CoordinatorEmitted union, read from its source. */
function emissionTypesInSource(): string[] {
  const source = readFileSync(path.join(__dirname, '../../machines/coordinator.types.ts'), 'utf8');
  const start = source.indexOf('export type CoordinatorEmitted =');
  const end = source.indexOf(';\n', source.indexOf("'provider.resumed'", start));
  expect(start).toBeGreaterThan(0);
  const union = source.slice(start, end);
  return [...new Set([...union.matchAll(/readonly type: '([a-zA-Z.]+)'/g)].map((m) => m[1]!))].sort();
}

interface Recorded {
  readonly published: { name: RelayEventName; payload: unknown }[];
  readonly reserves: unknown[];
  readonly topUps: unknown[];
}

function relayWith(registry = new AgentRegistry()): { relay: EventRelay; recorded: Recorded; registry: AgentRegistry } {
  const options = resolveOptions({ clock: createManualClock(1_000) });
  const recorded: Recorded = { published: [], reserves: [], topUps: [] };
  const host = createAgentHost({
    options,
    keepAlive: new KeepAlive(false),
    running: () => null,
    link: () => null,
  });
  const noSystem = { get: () => undefined } as unknown as ActorSystem<{ actors: Record<string, AnyActorRef> }>;
  const ports: Omit<RelayPorts, 'publish'> = {
    registry,
    clock: options.clock,
    makeAgent: (spawn) => handleFor(spawn, noSystem, host),
    refusalError: (event, spawn) => refusalError(event, spawn, providerLimitsOf(options)),
    askReserve: (ask) => recorded.reserves.push(ask),
    askTopUp: (ask) => recorded.topUps.push(ask),
  };
  const relay = new EventRelay(ports);
  const names = Object.keys(RELAY_TABLE).concat('agent.admitted') as RelayEventName[];
  for (const name of new Set(names)) {
    relay.on(name, (...args: RelayEventMap[typeof name]) => recorded.published.push({ name, payload: args[0] }));
  }
  return { relay, recorded, registry };
}

const SPAWN = { agentId: 'a1', sessionId: 's1', task: null, excluded: [], taskKind: null, estimatedTokens: 1_000 };

describe('eventRelay', () => {
  it('should have one entry, mapped or explicitly ignored, for every emission type of the coordinator and none else', () => {
    const types = emissionTypesInSource();
    expect(types.length).toBeGreaterThanOrEqual(16);
    expect(Object.keys(RELAY_TABLE).sort()).toEqual(types);
    for (const type of types) {
      const entry = (RELAY_TABLE as Record<string, unknown>)[type];
      expect(typeof entry === 'function' || entry === IGNORED).toBe(true);
    }
  });

  it('should settle an admitted spawn with its handle and publish agent.admitted', async () => {
    const { relay, recorded, registry } = relayWith();
    const spawned = registry.addPending('r1', SPAWN);
    relay.relay({
      type: 'agent.admitted',
      requestId: 'r1',
      sessionId: 's1',
      agentId: 'a1',
      provider: 'claude',
      allocatedTokens: 1_000,
      waitedMs: 0,
    });
    expect(registry.get('a1')?.sessionId).toBe('s1');
    expect(recorded.published).toEqual([
      {
        name: 'agent.admitted',
        payload: { agentId: 'a1', sessionId: 's1', provider: 'claude', allocatedTokens: 1_000, waitedMs: 0 },
      },
    ]);
    relay.relay({
      type: 'agent.admitted',
      requestId: 'r-unknown',
      sessionId: 's9',
      agentId: 'a9',
      provider: 'claude',
      allocatedTokens: 1,
      waitedMs: 0,
    });
    expect(recorded.published).toHaveLength(1);
    registry.released({ sessionId: 's1' } as Parameters<AgentRegistry['released']>[0]);
    await expect(spawned).rejects.toBeDefined();
  });

  it('should reject a refused spawn with the refusal code and publish agent.refused without the request id', async () => {
    const { relay, recorded, registry } = relayWith();
    const spawned = registry.addPending('r1', SPAWN);
    relay.relay({
      type: 'agent.refused',
      requestId: 'r1',
      agentId: 'a1',
      code: 'queue-full',
      retryAfterMs: 5_000,
      waited: false,
    });
    await expect(spawned).rejects.toMatchObject({
      code: 'queue-full',
      retryAfterMs: 5_000,
      details: { agentId: 'a1' },
    });
    expect(registry.has('a1')).toBe(false);
    expect(recorded.published).toEqual([
      { name: 'agent.refused', payload: { agentId: 'a1', code: 'queue-full', retryAfterMs: 5_000, waited: false } },
    ]);
  });

  it('should hand the ledger asks to their commands and publish nothing for them', () => {
    const { relay, recorded } = relayWith();
    const reserve: CoordinatorEmitted = {
      type: 'ledger.reserveAsked',
      requestId: 'r1',
      sessionId: 's1',
      provider: 'claude',
      tokens: 10,
    };
    const topUp: CoordinatorEmitted = {
      type: 'quota.topUpAsked',
      sessionId: 's1',
      provider: 'openai',
      stint: 2,
      tokens: 20,
      usedOnProvider: 5,
    };
    relay.relay(reserve);
    relay.relay(topUp);
    expect(recorded.reserves).toEqual([reserve]);
    expect(recorded.topUps).toEqual([topUp]);
    expect(recorded.published).toEqual([]);
  });

  it('should turn provider and quota emissions into their public events, dropping the internal fields', () => {
    const { relay, recorded } = relayWith();
    relay.relay({
      type: 'provider.circuit',
      provider: 'claude',
      state: 'open',
      openUntil: 9_000,
      failures: 5,
      now: 4_000,
    });
    relay.relay({ type: 'quota.overrun', provider: 'openai', sessionId: 's-gone', overrunTokens: 12 });
    relay.relay({
      type: 'agent.requeued',
      requestId: 'requeue:s1',
      sessionId: 's1',
      agentId: 'a1',
      provider: 'claude',
      reason: 'overloaded',
      notBefore: 2_000,
      deadline: 9_000,
      stint: 1,
      usedOnProvider: 0,
    });
    expect(recorded.published).toEqual([
      { name: 'provider.circuit', payload: { provider: 'claude', state: 'open', openUntil: 9_000, failures: 5 } },
      { name: 'quota.overrun', payload: { provider: 'openai', agentId: null, sessionId: 's-gone', overrunTokens: 12 } },
      {
        name: 'agent.requeued',
        payload: { agentId: 'a1', sessionId: 's1', provider: 'claude', reason: 'overloaded', notBefore: 2_000 },
      },
    ]);
  });
});
