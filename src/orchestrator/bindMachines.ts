import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { SideEffectParams } from '../../machines/coordinator.types';
import type { AgentRegistry } from './agentRegistry';
import { createClockActor } from './clockActor';
import type { ClockActorOptions } from './clockActor';
import { createCredentialsActor } from './credentialsActor';
import type { CredentialsActorOptions } from './credentialsActor';
import { createLedgerActor } from './ledgerActor';
import type { LedgerActorOptions } from './ledgerActor';
import type { EstimatesFile } from './estimatesFile';
import type { LedgerLifecycle } from './ledgerLifecycle';

/** The side effects behind the coordinator's action slots, each given the slot's plain-data params. */
export type SideEffects = { readonly [K in keyof SideEffectParams]: (params: SideEffectParams[K]) => void };

/** What the side effects act on: the ledger lifecycle, the registry (task kinds of live sessions) and the learned estimates. */
export interface SideEffectTargets {
  readonly ledger: Pick<LedgerLifecycle, 'settleStint' | 'recordPause'>;
  readonly registry: Pick<AgentRegistry, 'takeTaskKind'>;
  readonly estimates: Pick<EstimatesFile, 'record'>;
}

/**
 * The orchestrator's side effects for the coordinator's slots.
 *
 * @example
 * bindMachines({ credentials, clock, ledger, effects: sideEffectsOf({ ledger, registry, estimates: estimatesFile }) });
 */
export function sideEffectsOf({ ledger, registry, estimates }: SideEffectTargets): SideEffects {
  return {
    settleStint: (stint) => ledger.settleStint(stint),
    recordPause: ({ provider, pause }) => ledger.recordPause(provider, pause),
    // A session released by its host (a whole piece of work) teaches its kind's estimate; one that
    // expired, failed or was stopped says nothing reliable about its kind.
    learnEstimate: ({ sessionId, reason, usedTokens }) => {
      const entry = registry.takeTaskKind(sessionId);
      if (entry !== undefined && reason === 'released')
        estimates.record(entry.kind, { used: usedTokens, allocated: entry.allocated });
    },
  };
}

export interface MachineBindings {
  readonly credentials: CredentialsActorOptions;
  readonly clock: ClockActorOptions;
  readonly ledger: LedgerActorOptions;
  readonly effects: SideEffects;
}

/**
 * The one place the pure machines meet their side effects: every named actor and action slot is
 * bound here.
 *
 * @example
 * const machine = bindMachines({ credentials, clock, ledger, effects: { settleStint: (s) => ledger.settleStint(s), recordPause, learnEstimate } });
 * const actor = createActor(machine, { systemId: 'coordinator', input });
 */
export function bindMachines(bindings: MachineBindings) {
  const { effects } = bindings;
  return coordinatorMachine.provide({
    actors: {
      clock: createClockActor(bindings.clock),
      credentials: createCredentialsActor(bindings.credentials),
      ledger: createLedgerActor(bindings.ledger),
    },
    actions: {
      settleStint: (_, params) => effects.settleStint(params),
      recordPause: (_, params) => effects.recordPause(params),
      learnEstimate: (_, params) => effects.learnEstimate(params),
    },
  });
}
