/**
 * What the coordinator's action bodies share: their arguments and the enqueuing of a side-effect slot.
 */
import type { AnyActorRef } from 'xstate';
import type { CoordinatorEvent, SideEffectParams } from './coordinator.types';
import type { CoordinatorContext, Enqueue } from './coordinatorContext';

/** The arguments `enqueueActions` passes to each action body. */
export interface ActionArgs {
  readonly context: CoordinatorContext;
  readonly event: CoordinatorEvent;
  readonly enqueue: Enqueue;
  readonly system: { get(systemId: string): AnyActorRef | undefined };
}

/**
 * Enqueues one of the coordinator's side-effect slots by name with plain-data params; `provide()`
 * binds the slot (src/orchestrator/bindMachines.ts). The enqueuer is callable, but its call type
 * names the machine's own actions, which this module cannot see: SideEffectParams types the slot.
 *
 * @example sideEffect(enqueue, 'recordPause', { provider, pause: null })
 */
export function sideEffect<K extends keyof SideEffectParams>(
  enqueue: Enqueue,
  type: K,
  params: SideEffectParams[K],
): void {
  (enqueue as unknown as (action: { readonly type: K; readonly params: SideEffectParams[K] }) => void)({
    type,
    params,
  });
}
