import { createActor } from 'xstate';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorInput } from '../../machines/coordinator.types';
import type { Authenticate } from '../credentials';
import { bindMachines } from './bindMachines';
import type { SideEffects } from './bindMachines';
import { coordinatorInputOf } from './coordinatorInput';
import type { LedgerLifecycle } from './ledgerLifecycle';
import type { LedgerLink } from './ledgerLink';
import type { ResolvedOptions } from './options';

/** What the coordinator actor is built from at start. */
export interface CoordinatorStart {
  readonly options: ResolvedOptions;
  readonly authenticate: Authenticate;
  /** The shared ledger's link, or null on the embedded default. */
  readonly link: LedgerLink | null;
  readonly effects: SideEffects;
  readonly ledger: Pick<LedgerLifecycle, 'localBudgets'>;
  /** The sanitizing inspection observer (observabilityHooks.ts), or none. */
  readonly inspect?: Observer<InspectionEvent> | null | undefined;
}

/**
 * The coordinator actor, not started: the machine with its slots bound (bindMachines.ts) and its
 * input (the options, the budgets left to this host, the daily window now).
 *
 * @example
 * const { actor, input } = createCoordinator({ options, authenticate, link: null, effects, ledger });
 * actor.start();
 */
export function createCoordinator(start: CoordinatorStart): {
  readonly actor: Actor<typeof coordinatorMachine>;
  readonly input: CoordinatorInput;
} {
  const { options: o, authenticate, link } = start;
  const machine = bindMachines({
    credentials: { authenticate, clock: o.clock, timeoutMs: o.authTimeoutMs },
    clock: { clock: o.clock, dailyReset: o.dailyReset },
    ledger: { reserve: link ? (request) => link.reserveStint(request) : null },
    effects: start.effects,
  });
  const input = coordinatorInputOf(o, {
    sharedLedger: link !== null,
    budgets: start.ledger.localBudgets(),
    now: o.clock.now(),
  });
  const actor = createActor(machine, {
    systemId: 'coordinator',
    input,
    ...(start.inspect ? { inspect: start.inspect } : {}),
  });
  return { actor, input };
}
