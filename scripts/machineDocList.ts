import { agentSessionMachine } from '../machines/agentSession.machine';
import { coordinatorMachine } from '../machines/coordinator.machine';
import { renderMachineDoc } from './machineDocs';

/** The generated machine docs: file name and content. */
export function machineDocs(): { file: string; content: string }[] {
  return [
    {
      file: 'agentSession.md',
      content: renderMachineDoc(agentSessionMachine, {
        title: 'agentSession machine',
        summary:
          'One per agent. Authenticates through the credentials actor, counts usage, falls back along the chain on failure, ' +
          'and ends in `released` with the settlement as output. ' +
          'Transitions listed under "(any live state)" apply in authenticating, active and fallingBack.',
      }),
    },
    {
      file: 'coordinator.md',
      content: renderMachineDoc(coordinatorMachine, {
        title: 'coordinator machine',
        summary:
          'One per orchestrator. Owns the per-provider budgets, the concurrency counts and the wait queue; ' +
          'every decision is a guarded transition in its single `running` state. ' +
          'Sessions are children of the session supervisor (custom actor logic holding a Map), not of this machine.',
      }),
    },
  ];
}
