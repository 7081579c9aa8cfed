import { coordinatorMachine } from '../../machines/coordinator.machine';
import { createClockActor } from './clockActor';
import type { ClockActorOptions } from './clockActor';
import { createCredentialsActor } from './credentialsActor';
import type { CredentialsActorOptions } from './credentialsActor';
import { createLedgerActor } from './ledgerActor';
import type { LedgerActorOptions } from './ledgerActor';

export interface MachineBindings {
  readonly credentials: CredentialsActorOptions;
  readonly clock: ClockActorOptions;
  readonly ledger: LedgerActorOptions;
}

/** The one place the pure machines meet their side effects: every named actor slot is bound here. */
export function bindMachines(bindings: MachineBindings) {
  return coordinatorMachine.provide({
    actors: {
      clock: createClockActor(bindings.clock),
      credentials: createCredentialsActor(bindings.credentials),
      ledger: createLedgerActor(bindings.ledger),
    },
  });
}
