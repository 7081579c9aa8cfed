import { coordinatorMachine } from '../../machines/coordinator.machine';
import { createClockActor } from './clockActor';
import type { ClockActorOptions } from './clockActor';
import { createCredentialsActor } from './credentialsActor';
import type { CredentialsActorOptions } from './credentialsActor';

export interface MachineBindings {
  readonly credentials: CredentialsActorOptions;
  readonly clock: ClockActorOptions;
}

/** The one place the pure machines meet their side effects: every named actor slot is bound here. */
export function bindMachines(bindings: MachineBindings) {
  return coordinatorMachine.provide({
    actors: {
      clock: createClockActor(bindings.clock),
      credentials: createCredentialsActor(bindings.credentials),
    },
  });
}
