import { fromCallback } from 'xstate';
import type { ReservationRequest, SessionEvent } from '../../machines/agentSession.types';
import { isAgentvisorError } from '../errors';

/** Reserves one later stint of a session in the shared ledger; rejects (an AgentvisorError with the ledger's code) when refused. */
export type ReserveStint = (request: ReservationRequest) => Promise<void>;

export interface LedgerActorOptions {
  /** Null without a shared ledger: sessions never enter `reserving`, and a request is granted at once. */
  readonly reserve: ReserveStint | null;
}

/**
 * One actor answers every session's `reservation.request` (a later stint on a shared ledger, after
 * a fallback or a requeue) with `reservation.granted` or `reservation.refused` and the ledger's code.
 *
 * @example
 * coordinatorMachine.provide({ actors: { ledger: createLedgerActor({ reserve: (request) => link.reserveStint(request) }) } })
 */
export function createLedgerActor(options: LedgerActorOptions) {
  return fromCallback<ReservationRequest>(({ receive, system }) => {
    let stopped = false;
    const reply = (sessionId: string, event: SessionEvent) => {
      if (!stopped) system.get(sessionId)?.send(event);
    };
    receive((request) => {
      if (options.reserve === null) {
        reply(request.sessionId, { type: 'reservation.granted', stint: request.stint });
        return;
      }
      options.reserve(request).then(
        () => reply(request.sessionId, { type: 'reservation.granted', stint: request.stint }),
        (error: unknown) => {
          const code = isAgentvisorError(error) ? error.code : 'ledger-unavailable';
          const message = error instanceof Error ? error.message : 'the shared quota ledger refused the reservation';
          reply(request.sessionId, { type: 'reservation.refused', stint: request.stint, code, message });
        },
      );
    });
    return () => {
      stopped = true;
    };
  });
}
