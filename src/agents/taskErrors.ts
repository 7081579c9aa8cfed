import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ManagedAgent, Orchestrator } from '../orchestrator';
import type { ProviderFailure, ProviderId } from '../providers';
import { stoppedError } from './agentAdmission';
import type { AgentCliId } from './agentCli';
import type { AgentTaskError } from './agentTaskTypes';

/**
 * A task's error as the result carries it: the code, the message and, for usage limits, the reset.
 *
 * @example taskError(new AgentvisorError('stopped', 'task t1 was stopped')) // { code: 'stopped', message: 'task t1 was stopped' }
 */
export function taskError(error: unknown): AgentTaskError {
  if (isAgentvisorError(error)) {
    const usageLimit = error.details.usageLimit as AgentTaskError['usageLimit'];
    return { code: error.code, message: error.message, ...(usageLimit === undefined ? {} : { usageLimit }) };
  }
  return {
    code: 'agent-failed',
    message: `the task failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/**
 * One run's failure for error messages.
 *
 * @example describeFailure('claude-code', failure) // 'claude-code on claude: overloaded (529) API Error: 529 Overloaded…'
 */
export function describeFailure(cli: AgentCliId, failure: ProviderFailure): string {
  const text = failure.message.length > 160 ? `${failure.message.slice(0, 159)}…` : failure.message;
  return `${cli} on ${failure.provider}: ${failure.kind}${failure.status === null ? '' : ` (${failure.status})`} ${text}`;
}

/**
 * The provider a usage limit paused and when it resets: the orchestrator's pause, else the time the message named.
 *
 * @example usageLimitOf(orch, failure) // { provider: 'claude', resetAt: 1767225600000 }
 */
export function usageLimitOf(
  orch: Orchestrator,
  failure: ProviderFailure,
): { provider: ProviderId; resetAt: number } | undefined {
  const resetAt = orch.stats().providers[failure.provider].pausedUntil ?? failure.resetAt;
  return resetAt === null ? undefined : { provider: failure.provider, resetAt };
}

/** What to do, by the kind of the last failure. */
export const FAILURE_ADVICE: Partial<Record<ProviderFailure['kind'], string>> = {
  auth: 'Check the credentials (agentvisor status) and log in again',
  quota: "The provider's usage limit or credit is spent: wait for its reset or add credit",
  'rate-limit': 'The providers are throttling: try again later or lower the concurrency',
  overloaded: 'The providers are overloaded: try again later',
  server: 'The providers are failing: try again later',
  network: 'The providers could not be reached: check the network and the base URLs',
  timeout: 'The providers did not answer in time: try again later',
  truncated: 'The answers were cut off: try again later',
};

/**
 * Why the session ended on its own (stopped orchestrator, expired allocation, spent budget).
 *
 * @example return finish({ error: await endedSessionError(agent) });
 */
export async function endedSessionError(agent: ManagedAgent): Promise<AgentvisorError> {
  const settlement = await agent.release().catch(() => null);
  const reason = settlement?.reason ?? 'released';
  if (reason === 'stopped') return stoppedError(`task ${agent.id}`);
  if (reason === 'quota-exhausted')
    return new AgentvisorError(
      'quota-exhausted',
      `task ${agent.id} used up its provider's daily budget and was ended: wait for the daily reset or raise the limit`,
    );
  if (reason === 'expired')
    return new AgentvisorError(
      'allocation-expired',
      `task ${agent.id}'s allocation expired while it ran: raise leaseMs for long tasks`,
    );
  return new AgentvisorError('agent-released', `task ${agent.id}'s session ended (${reason}) before the task finished`);
}
