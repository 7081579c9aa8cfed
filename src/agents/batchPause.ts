import type { ProviderId } from '../providers';

/** What a batch does when every provider its remaining tasks could start on is paused by a usage limit. */
export interface BatchPause {
  /** `wait`: the reset comes within the batch's patience, tasks wait for it; `stop`: the batch stops dispatching. */
  readonly action: 'wait' | 'stop';
  /** The first reset among those providers (epoch ms): when a remaining task can run again. */
  readonly resumesAt: number;
  /** Every paused provider those tasks could use, and until when. */
  readonly pausedUntil: Readonly<Partial<Record<ProviderId, number>>>;
}

/**
 * Decides whether a batch is blocked by usage limits. `candidates` holds, per task still to run,
 * the providers it may start on; `pausedUntil` the orchestrator's pauses (null: not paused). When
 * any remaining task has a provider that is not paused, nothing is blocked (`null`). Otherwise the
 * batch waits when the first reset is at most `waitForResetMs` away, and stops when it is further.
 *
 * @example
 * pauseDecision([['claude']], { claude: now + 3_000, openai: null }, now, 300_000)
 * // { action: 'wait', resumesAt: now + 3000, pausedUntil: { claude: now + 3000 } }
 */
export function pauseDecision(
  candidates: readonly (readonly ProviderId[])[],
  pausedUntil: Readonly<Record<ProviderId, number | null>>,
  now: number,
  waitForResetMs: number,
): BatchPause | null {
  const paused: Partial<Record<ProviderId, number>> = {};
  let resumesAt = Number.POSITIVE_INFINITY;
  for (const providers of candidates) {
    for (const provider of providers) {
      const until = pausedUntil[provider];
      if (until === null || until <= now) return null;
      paused[provider] = until;
      resumesAt = Math.min(resumesAt, until);
    }
  }
  if (!Number.isFinite(resumesAt)) return null;
  return { action: resumesAt - now <= waitForResetMs ? 'wait' : 'stop', resumesAt, pausedUntil: paused };
}
