import type { Orchestrator } from '../orchestrator';

/**
 * "in 3 s", "in 12 min", "in 4 h 10 min": how far away a time is, for people.
 *
 * @example inDuration(59_000) // 'in 59 s'
 */
export function inDuration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 120) return `in ${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `in ${min} min`;
  return `in ${Math.floor(min / 60)} h ${min % 60} min`;
}

/**
 * A reset time for people, in the local zone, with the date when it is not within the next 20 h:
 * "21:20:05 UTC (in 3 s)", "2 Jun, 09:20:00 UTC (in 35 h 0 min)".
 *
 * @example formatResetTime(Date.now() + 3_000) // '21:20:05 UTC (in 3 s)'
 */
export function formatResetTime(at: number, now: number = Date.now()): string {
  const far = at - now > 20 * 3_600_000;
  const text = new Intl.DateTimeFormat('en-GB', {
    ...(far ? { month: 'short', day: 'numeric' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(at);
  return `${text} (${inDuration(at - now)})`;
}

/**
 * Prints a line for each provider-level event of the rate-limit-aware fan-out: adaptive limit
 * changes, usage-limit pauses and resumes, and (with `requeues`) sessions sent back to the queue.
 * Returns the function that stops listening.
 *
 * @example const stop = watchProviderEvents(orch, (line) => note(`agentvisor: ${line}`), { requeues: true });
 */
export function watchProviderEvents(
  orch: Orchestrator,
  say: (line: string) => void,
  options: { readonly requeues: boolean },
): () => void {
  const onLimit = (e: { provider: string; limit: number; previous: number; reason: 'grow' | 'throttle' }): void =>
    say(
      `${e.provider} concurrency ${e.previous} → ${e.limit} ` +
        `(${e.reason === 'throttle' ? 'throttled by the server: halved' : 'a run of successes: one more'})`,
    );
  const onPaused = (e: { provider: string; until: number; reason: string }): void =>
    say(
      `${e.provider} paused by a usage limit (${e.reason}) until ${formatResetTime(e.until)}: nothing is sent to it until then`,
    );
  const onResumed = (e: { provider: string }): void => say(`${e.provider} resumed: its usage limit reset`);
  const onRequeued = (e: { agentId: string; provider: string; reason: string; notBefore: number }): void =>
    say(
      `${e.agentId}: throttled by ${e.provider} before any work (${e.reason}): ` +
        `back in the queue, not counted as failed (runs again in ${(Math.max(0, e.notBefore - Date.now()) / 1000).toFixed(1)} s or later)`,
    );
  orch.on('provider.limit', onLimit).on('provider.paused', onPaused).on('provider.resumed', onResumed);
  if (options.requeues) orch.on('agent.requeued', onRequeued);
  return () => {
    orch
      .off('provider.limit', onLimit)
      .off('provider.paused', onPaused)
      .off('provider.resumed', onResumed)
      .off('agent.requeued', onRequeued);
  };
}
