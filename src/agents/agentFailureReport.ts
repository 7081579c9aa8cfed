import type { FailureReport } from '../orchestrator';
import type { ProviderFailure } from '../providers';

/**
 * The report `reportFailure` gets for a failure an agent CLI's output was classified as.
 *
 * Most failures go as `{ kind, message, status?, retryAfterMs? }`. A usage limit whose reset time
 * was read from the CLI's words ("You've hit your limit · resets 9:20pm (UTC)",
 * "usage limit reached|1749924000") goes as the provider error it was, with the reset time in the
 * body's `resets_at` (epoch seconds): a report with `kind` carries no reset time, and the
 * orchestrator would pause the provider for its default (`usageLimitPauseMs`) instead of until the
 * reset.
 *
 * @example
 * agentFailureReport({ ok: false, kind: 'quota', throttle: 'usage-limit', resetAt: 1749924000000, status: 429, … })
 * // { status: 429, message, body: { error: { type: 'usage_limit_reached', message, resets_at: 1749924000 } } }
 */
export function agentFailureReport(failure: ProviderFailure): FailureReport {
  if (failure.kind === 'quota' && failure.resetAt !== null) {
    return {
      status: failure.status !== null && failure.status >= 400 ? failure.status : 429,
      message: failure.message,
      body: { error: { type: 'usage_limit_reached', message: failure.message, resets_at: failure.resetAt / 1000 } },
    };
  }
  return {
    kind: failure.kind,
    message: failure.message,
    ...(failure.status === null ? {} : { status: failure.status }),
    ...(failure.retryAfterMs === null ? {} : { retryAfterMs: failure.retryAfterMs }),
  };
}
