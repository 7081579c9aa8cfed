/**
 * The coordinator's named actions (run through `enqueueActions` in machines/coordinator.machine.ts).
 * Each does one branch its guard chose; budgets move only through machines/budget.ts.
 * The bodies live by concern: admission, the ledger's answers, the sessions' reports, provider health,
 * fallbacks and the clock's tick (machines/coordinator*Actions.ts).
 */
import { admissionActionBodies } from './coordinatorAdmissionActions';
import { clockActionBodies } from './coordinatorClockActions';
import { fallbackActionBodies } from './coordinatorFallbackActions';
import { healthActionBodies } from './coordinatorHealthActions';
import { ledgerActionBodies } from './coordinatorLedgerActions';
import { sessionActionBodies } from './coordinatorSessionActions';

/**
 * The coordinator's action bodies, by name; machines/coordinator.machine.ts wraps each in `enqueueActions`.
 *
 * @example setup({ actions: { admit: enqueueActions(coordinatorActionBodies.admit) } })
 */
export const coordinatorActionBodies = {
  ...admissionActionBodies,
  ...ledgerActionBodies,
  ...sessionActionBodies,
  ...healthActionBodies,
  ...fallbackActionBodies,
  ...clockActionBodies,
} as const;
