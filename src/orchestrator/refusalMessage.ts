import { AgentvisorError } from '../errors';
import type { ErrorCode } from '../errors';
import type { ProviderId } from '../../machines/providers';
import { describeExclusions } from './providerSwitches';
import type { Exclusion } from './providerSwitches';

/**
 * The message of a refused spawn: what was refused, why, when a retry can help and what to change.
 *
 * @example refusalMessage('concurrency-limit', 'a1', 5_000, false) // 'agent a1 was not admitted: every provider … (retry in about 5 s); …'
 */
export function refusalMessage(
  code: string,
  agentId: string,
  retryAfterMs: number | null,
  waited: boolean,
  excluded: readonly Exclusion[] = [],
): string {
  const after = retryAfterMs === null ? '' : ` (retry in about ${Math.ceil(retryAfterMs / 1000)} s)`;
  const prefix = waited ? `agent ${agentId} waited and was not admitted` : `agent ${agentId} was not admitted`;
  switch (code) {
    case 'concurrency-limit':
      return `${prefix}: every provider it may use is at its concurrency limit${after}; release an agent, wait (waitMs), or raise maxConcurrent`;
    case 'quota-exhausted':
      return `${prefix}: no provider it may use has budget left for its estimate${after}; lower estimatedTokens or wait for the daily reset`;
    case 'queue-full':
      return `${prefix}: the wait queue is full${after}; raise maxQueue or spawn later`;
    case 'stopped':
      return `${prefix}: the orchestrator is stopping; create a new one to run more agents`;
    case 'ledger-unavailable':
      return `${prefix}: the shared quota ledger could not be reached to reserve it and the policy is fail-closed${after}`;
    default:
      if (excluded.length > 0) {
        return (
          `${prefix}: no provider it may use can take it (${describeExclusions(excluded)})${after}; ` +
          'switch a provider back on, or use a provider the switches leave it'
        );
      }
      return (
        `${prefix}: no provider is enabled for it (daily limit or maxConcurrent is 0), ` +
        `or every one it may use is paused or has its circuit open${after}; enable one in limits or wait`
      );
  }
}

/**
 * The message of a spawn refused at once because no wait or daily reset can make it fit.
 *
 * @example
 * hopelessMessage('quota-exhausted', 'a1', 2_000_000, {
 *   claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
 *   openai: { dailyLimit: 500_000, maxConcurrent: 8 },
 * })
 */
export function hopelessMessage(
  code: string,
  agentId: string,
  estimatedTokens: number,
  limits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>,
  excluded: readonly Exclusion[] = [],
): string {
  const usable = (Object.keys(limits) as ProviderId[]).filter((p) => !excluded.some((e) => e.provider === p));
  const described = usable
    .map((p) =>
      limits[p].dailyLimit === 0 || limits[p].maxConcurrent === 0
        ? `${p}: disabled`
        : `${p}: ${limits[p].dailyLimit} tokens/day`,
    )
    .join(', ');
  if (code === 'no-provider') {
    return (
      `agent ${agentId} was not admitted: every provider it may use is disabled (${described}); ` +
      'no wait or daily reset will help: enable a provider in limits'
    );
  }
  return (
    `agent ${agentId} was not admitted: its estimate of ${estimatedTokens} tokens is larger than the daily limit ` +
    `of every provider it may use (${described}); no wait or daily reset will help: lower estimatedTokens or raise dailyLimit`
  );
}

/**
 * The error a refused spawn rejects with: its code, the message for the refusal (hopeless or not)
 * and the retry hint.
 *
 * @example refusalError({ code: 'queue-full', agentId: 'a1', retryAfterMs: null, waited: false }, spawn, limits).code // 'queue-full'
 */
export function refusalError(
  event: {
    readonly code: ErrorCode;
    readonly agentId: string;
    readonly retryAfterMs: number | null;
    readonly waited: boolean;
    readonly hopeless?: boolean;
  },
  spawn: { readonly estimatedTokens: number; readonly excluded: readonly Exclusion[] },
  limits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>,
): AgentvisorError {
  const message =
    event.hopeless === true
      ? hopelessMessage(event.code, event.agentId, spawn.estimatedTokens, limits, spawn.excluded)
      : refusalMessage(event.code, event.agentId, event.retryAfterMs, event.waited, spawn.excluded);
  return new AgentvisorError(event.code, message, {
    retryAfterMs: event.retryAfterMs,
    details: { agentId: event.agentId },
  });
}
