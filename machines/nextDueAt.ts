import type { CoordinatorConfig, QueuedRequest } from './coordinator.types';
import type { HealthByProvider } from './providerHealth';
import { PROVIDER_IDS } from './providers';

/** The part of the coordinator's context that holds times (what `nextDueAt` reads). */
export interface TimedContext {
  readonly config: Pick<CoordinatorConfig, 'sweepIntervalMs'>;
  readonly queue: readonly QueuedRequest[];
  readonly health: HealthByProvider;
  /** When the next daily window starts (epoch ms). */
  readonly nextResetAt: number;
  /** The last sweep of the sessions' leases (epoch ms). */
  readonly sweptAt: number;
}

/**
 * The earliest time (epoch ms) at which a `clock.tick` changes the coordinator: a waiting request's
 * deadline or not-before time, the end of a circuit's cooldown (it turns half-open) or of a pause,
 * the next sweep of the sessions' leases, and the next daily reset. A time already past is returned
 * as it is: the tick is due at once. Null when nothing is due.
 *
 * Every time counts until a tick clears it (a passed not-before time is dropped, an ended pause is
 * set to 0, a cooled-down circuit is stored half-open), so a tick at this time always makes progress:
 * the next due time after it is later.
 *
 * @example
 * const at = nextDueAt(actor.getSnapshot().context);
 * if (at !== null) clock.setTimeout(() => actor.send({ type: 'clock.tick', now: clock.now(), ...windowAt(clock.now(), reset) }), at - clock.now());
 */
export function nextDueAt(context: TimedContext): number | null {
  let due = context.nextResetAt;
  const interval = context.config.sweepIntervalMs;
  if (interval !== undefined) due = Math.min(due, context.sweptAt + interval);
  for (const p of PROVIDER_IDS) {
    const h = context.health[p];
    if (h.state === 'open') due = Math.min(due, h.openUntil);
    if (h.pausedUntil !== 0) due = Math.min(due, h.pausedUntil);
  }
  for (const q of context.queue) {
    due = Math.min(due, q.deadline);
    if (q.notBefore !== undefined) due = Math.min(due, q.notBefore);
  }
  return Number.isFinite(due) ? due : null;
}
