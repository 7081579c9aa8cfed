import { TRANSIENT_FAILURE_KINDS } from '../../machines/failureDecision';
import { PROVIDER_FAILURE_KINDS } from '../providers';
import { fillFailurePolicy } from '../providers/failurePolicy';
import type { FailurePolicy, FailurePolicyOptions, KindPolicy, ProviderFailureKind } from '../providers';

/**
 * Kinds that say something about the provider and can pass with time (throttling, server faults,
 * broken connections): worth a retry when nothing else is left, and counted against the provider's
 * circuit. auth, quota and invalid-request are about the key, the plan or the task.
 */
export const TRANSIENT_KINDS: ReadonlySet<string> = new Set(TRANSIENT_FAILURE_KINDS);

/** The two policies an agent's failures are decided by (see ManagedAgent.reportFailure). */
export interface AgentFailurePolicy {
  /** While the chain has a provider left. */
  readonly policy: FailurePolicy;
  /** When it has none: transient kinds are retried with backoff before the agent is given up. */
  readonly withoutFallback: FailurePolicy;
}

/**
 * The orchestrator's failure policy. Unlike the classifier's own defaults (retry first), an
 * orchestrator falls back at once for every kind but `invalid-request` unless `kinds.<kind>.action`
 * says otherwise: failover takes milliseconds and keeps the session, while a retry waits. Backoff
 * settings (`maxRetries`, `baseDelayMs`, `maxDelayMs`, `maxRetryAfterMs`) apply to retries in both.
 * The options were checked with the orchestrator's (src/options).
 */
export function resolveAgentFailurePolicy(options: FailurePolicyOptions = {}): AgentFailurePolicy {
  const asked = options.kinds ?? {};
  const kinds = (
    action: (kind: ProviderFailureKind, given: KindPolicy['action'] | undefined) => KindPolicy['action'],
  ) =>
    Object.fromEntries(
      PROVIDER_FAILURE_KINDS.map((kind) => [kind, { ...asked[kind], action: action(kind, asked[kind]?.action) }]),
    ) as Partial<Record<ProviderFailureKind, Partial<KindPolicy>>>;
  const policy = fillFailurePolicy({
    ...options,
    kinds: kinds((kind, given) => given ?? (kind === 'invalid-request' ? 'fail' : 'fallback')),
  });
  const withoutFallback = fillFailurePolicy({
    ...options,
    kinds: kinds((kind, given) =>
      kind === 'invalid-request'
        ? (given ?? 'fail')
        : TRANSIENT_KINDS.has(kind) && given !== 'fail'
          ? 'retry'
          : (given ?? 'fallback'),
    ),
  });
  return { policy, withoutFallback };
}
