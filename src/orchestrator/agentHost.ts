import type { Actor, ActorRefFrom, ActorSystem, AnyActorRef } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import type { coordinatorMachine } from '../../machines/coordinator.machine';
import type { ProviderId } from '../../machines/providers';
import { capFactsTimes, capFailureTimes } from '../providers';
import type { CappedTime, ProviderFailure, RateLimitFacts } from '../providers';
import type { KeepAlive } from './keepAlive';
import type { LedgerLink } from './ledgerLink';
import type { PendingSpawn } from './agentRegistry';
import { ManagedAgent } from './managedAgent';
import type { AgentHost } from './managedAgent';
import type { ResolvedOptions } from './options';

/** What the agents' host reaches in its orchestrator. */
export interface AgentHostPorts {
  readonly options: ResolvedOptions;
  readonly keepAlive: KeepAlive;
  /** The coordinator while it runs; null before start and once stopped. */
  running(): Actor<typeof coordinatorMachine> | null;
  /** The shared ledger's link, or null. */
  link(): LedgerLink | null;
}

/**
 * The host every ManagedAgent of an orchestrator shares: the clock and policies, and the calls
 * that turn what an agent reports (failures, rate-limit headers, usage) into coordinator events
 * and ledger writes.
 *
 * @example
 * const host = createAgentHost({ options, keepAlive, running: () => actor, link: () => null, providerFailed });
 */
export function createAgentHost(ports: AgentHostPorts): AgentHost {
  const o = ports.options;
  /** Logs what a provider reported too far ahead (it was capped) and hands the capped values on. */
  const capped = <T extends { capped: readonly CappedTime[] }>(provider: ProviderId | null, result: T): T => {
    if (result.capped.length === 0) return result;
    const maxDays = o.maxProviderResetMs / 86_400_000;
    for (const c of result.capped) {
      const reported = c.field === 'resetAt' ? new Date(c.reported).toISOString() : `${c.reported} ms`;
      const used = c.field === 'resetAt' ? new Date(c.used).toISOString() : `${c.used} ms`;
      o.logger?.warn(
        { provider, field: c.field, reported, used },
        `suspicious provider reset: more than ${maxDays} days away, capped (maxProviderResetMs)`,
      );
    }
    return result;
  };
  return {
    clock: o.clock,
    passthrough: o.passthrough,
    keepAlive: ports.keepAlive,
    providerFailed: (failure, activeSince) => providerFailed(ports, failure, activeSince),
    limitsReported: (provider, facts) => limitsReported(ports, provider, facts),
    capFailure: (failure) =>
      capped(failure.provider, capFailureTimes(failure, o.clock.now(), o.maxProviderResetMs)).failure,
    capFacts: (facts) => capped(null, capFactsTimes(facts, o.clock.now(), o.maxProviderResetMs)).facts,
    usageReported: (sessionId, stint, used) => ports.link()?.noteUsage(sessionId, stint, used),
    settled: (sessionId, stint) => ports.link()?.whenSettled(sessionId, stint) ?? Promise.resolve(),
  };
}

/**
 * The handle of an admitted spawn; its session actor (by systemId the session id) is looked up on first use.
 *
 * @example registry.admit(requestId, allocatedTokens, (spawn) => handleFor(spawn, actor.system, host));
 */
export function handleFor(
  spawn: PendingSpawn,
  system: ActorSystem<{ actors: Record<string, AnyActorRef> }>,
  host: AgentHost,
): ManagedAgent {
  const { agentId, sessionId, task } = spawn;
  // The closure keeps only the id: capturing `spawn` kept the settled spawn's promise and callbacks alive with the agent.
  const lookup = () => system.get(sessionId) as ActorRefFrom<AgentSessionMachine> | undefined;
  return new ManagedAgent({ agentId, sessionId, task, lookup, host });
}

/**
 * A provider's rate-limit headers (on an answer or a failure) say 0 tokens or 0 requests are left
 * until a reset: the coordinator admits nothing new onto it until then (a pause, reason
 * `reported-limit`). Headers without a reset in the future change nothing.
 */
function limitsReported(ports: AgentHostPorts, provider: ProviderId, facts: RateLimitFacts): void {
  const actor = ports.running();
  if (actor === null) return;
  const left = facts.remaining;
  if (left === null || (left.tokens !== 0 && left.requests !== 0)) return;
  const now = ports.options.clock.now();
  if (facts.resetAt === null || facts.resetAt <= now) return;
  actor.send({ type: 'provider.exhausted', provider, until: facts.resetAt, reason: 'reported-limit', now });
}

/** Tells the coordinator about a failed request; the coordinator decides what it means for the provider (circuit, adaptive limit, pause). */
function providerFailed(ports: AgentHostPorts, failure: ProviderFailure, activeSince: number | null): void {
  const { provider, kind, throttle, resetAt } = failure;
  const now = ports.options.clock.now();
  ports.running()?.send({ type: 'provider.failed', provider, kind, throttle, resetAt, since: activeSince, now });
}
