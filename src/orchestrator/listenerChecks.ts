import { closestName } from '../config/closestName';
import { AgentvisorError } from '../errors';
import type { OrchestratorEventMap } from './types';

/** Every public event (a listener on another name would never be called); the Record keeps the list complete. */
export const EVENT_NAMES: readonly string[] = Object.keys({
  'agent.queued': true,
  'agent.refused': true,
  'agent.active': true,
  'agent.fallback': true,
  'agent.released': true,
  'agent.requeued': true,
  'quota.low': true,
  'quota.overrun': true,
  'quota.reset': true,
  'provider.limit': true,
  'provider.paused': true,
  'provider.resumed': true,
  'provider.circuit': true,
  'ledger.degraded': true,
  'ledger.recovered': true,
} satisfies Record<keyof OrchestratorEventMap, true>);

/** Refuses an event name the orchestrator never emits, with the closest one it does. */
export function checkEvent(method: string, event: unknown): void {
  if (EVENT_NAMES.includes(event as string)) return;
  const near = typeof event === 'string' ? closestName(event, EVENT_NAMES) : null;
  throw new AgentvisorError(
    'invalid-option',
    `${method}: ${JSON.stringify(event) ?? 'undefined'} is not an event; ${near === null ? '' : `did you mean ${near}? `}(events: ${EVENT_NAMES.join(', ')})`,
    { details: { option: 'event' } },
  );
}

/** A listener that is not a function would only fail later, inside an event or a stats change: refuse it now. */
export function checkListener(method: string, listener: unknown): void {
  if (typeof listener !== 'function')
    throw new AgentvisorError(
      'invalid-option',
      `${method}'s listener must be a function, got ${listener === null ? 'null' : typeof listener}`,
      { details: { option: 'listener' } },
    );
}

/**
 * `event` once it is known to be a public event and `listener` a function (`on`, `off`, `once`).
 *
 * @example relay.on(checkedEvent('on', event, listener), listener);
 */
export function checkedEvent<E extends string>(method: string, event: E, listener: unknown): E {
  checkEvent(method, event);
  checkListener(method, listener);
  return event;
}
