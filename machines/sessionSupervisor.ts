/**
 * sessionSupervisor: the parent of every agent session, as custom XState actor logic.
 *
 * Accepts: supervisor.spawn (create and start a session with systemId = session id),
 * supervisor.sweep (pass the clock's sweep to every live session), supervisor.forward (pass an
 * event to one live session), xstate.done.actor.* (a session
 * reached `released`: forget it), xstate.error.actor.* (a session threw: it is stopped; forget it and
 * tell the coordinator it ended, `failed` with `agent-failed`, so that its slot and allocation are
 * settled as for any end) and xstate.stop (stop every live session).
 *
 * Why not a machine: XState machines keep children in a plain object that is copied on every spawn
 * and stop, so a parent of n sessions pays O(n) per admission (the trap measured in
 * docs/benchmarks.md: ~29k cycles/s with no live sessions, <1k/s with 1,000). This logic keeps its
 * sessions in a Map (O(1) spawn and forget) and is otherwise an ordinary actor: sessions are real
 * children (parent = supervisor), registered in the system, visible to the inspector and persisted
 * with the coordinator's snapshot.
 *
 * Invariant: the Map holds exactly the sessions that are live; a finished session has already
 * stopped itself and left the system registry when its done event arrives.
 */
import { createActor } from 'xstate';
import type { ActorLogic, ActorRefFrom, Snapshot } from 'xstate';
import { COORDINATOR_SYSTEM_ID } from './agentSession.machine';
import type { AgentSessionMachine } from './agentSession.machine';
import type { SessionContext, SessionEvent, SessionInput, SessionNotice } from './agentSession.types';
import { outputOf } from './agentSessionActions';

function inputFromContext(context: SessionContext): SessionInput {
  return {
    sessionId: context.sessionId,
    agentId: context.agentId,
    provider: context.provider,
    fallbackProviders: context.fallbackProviders,
    maxFallbacks: context.terms.maxFallbacks,
    estimatedTokens: context.terms.estimatedTokens,
    allocatedTokens: context.tokens.allocated,
    leaseMs: context.terms.leaseMs,
    now: context.lastEventAt,
  };
}

export type SessionRef = ActorRefFrom<AgentSessionMachine>;

/** session.ended for a session that threw, from the last context it committed. */
function thrownSessionEnded(ref: SessionRef): SessionNotice {
  const output = outputOf(ref.getSnapshot().context);
  return {
    type: 'session.ended',
    output: {
      ...output,
      reason: 'failed',
      error: {
        code: 'agent-failed',
        message: `session ${output.sessionId} stopped on an error in one of its actions or guards; its slot and unused allocation were returned`,
      },
    },
  };
}

export type SupervisorEvent =
  | { readonly type: 'supervisor.spawn'; readonly input: SessionInput }
  | { readonly type: 'supervisor.sweep'; readonly now: number }
  /** Passes an event to one live session (ignored when it already ended). */
  | { readonly type: 'supervisor.forward'; readonly sessionId: string; readonly event: SessionEvent }
  | { readonly type: `xstate.done.actor.${string}`; readonly actorId: string }
  | { readonly type: `xstate.error.actor.${string}`; readonly actorId: string; readonly error: unknown }
  | { readonly type: 'xstate.stop' };

export type SupervisorSnapshot = Snapshot<undefined> & {
  /** Live sessions by session id. Mutated in place: nothing observes this snapshot by identity. */
  readonly sessions: Map<string, SessionRef>;
};

interface PersistedSupervisor {
  readonly status: SupervisorSnapshot['status'];
  /** Each live session's persisted snapshot (its context carries its session id). */
  readonly sessions: readonly unknown[];
}

export type SessionSupervisorLogic = ActorLogic<SupervisorSnapshot, SupervisorEvent, undefined>;

/** Creates supervisor logic for sessions of the given (possibly `.provide`d) session machine. */
export function createSessionSupervisor(sessionMachine: AgentSessionMachine): SessionSupervisorLogic {
  return {
    config: sessionMachine,
    getInitialSnapshot: () => ({ status: 'active', output: undefined, error: undefined, sessions: new Map() }),
    transition: (snapshot, event, scope) => {
      switch (event.type) {
        case 'supervisor.spawn': {
          const { input } = event as Extract<SupervisorEvent, { type: 'supervisor.spawn' }>;
          const ref = createActor(sessionMachine, {
            id: input.sessionId,
            systemId: input.sessionId,
            parent: scope.self,
            input,
          });
          snapshot.sessions.set(input.sessionId, ref);
          // Started after this step, like XState's own spawn, so the session's first messages
          // find the supervisor's transition complete.
          scope.defer(() => ref.start());
          return snapshot;
        }
        case 'supervisor.forward': {
          const { sessionId, event: forwarded } = event as Extract<SupervisorEvent, { type: 'supervisor.forward' }>;
          snapshot.sessions.get(sessionId)?.send(forwarded);
          return snapshot;
        }
        case 'supervisor.sweep': {
          const { now } = event as Extract<SupervisorEvent, { type: 'supervisor.sweep' }>;
          for (const ref of snapshot.sessions.values()) ref.send({ type: 'session.sweep', now });
          return snapshot;
        }
        case 'xstate.stop': {
          for (const ref of snapshot.sessions.values()) scope.stopChild(ref);
          snapshot.sessions.clear();
          return { status: 'stopped', output: undefined, error: undefined, sessions: snapshot.sessions };
        }
        default: {
          // What is left is the end of a session, done (`released`) or in error (it threw): either way no longer live.
          const { actorId } = event as { actorId: string };
          const ref = snapshot.sessions.get(actorId);
          snapshot.sessions.delete(actorId);
          // A session that threw never sent session.ended: the coordinator would hold its slot and
          // allocation for good. Its last committed context says what it used. The error's own text
          // is not passed on: it may come from a host's action and carry anything.
          if (ref !== undefined && event.type.startsWith('xstate.error.actor.'))
            scope.defer(() => scope.system.get(COORDINATOR_SYSTEM_ID)?.send(thrownSessionEnded(ref)));
          return snapshot;
        }
      }
    },
    getPersistedSnapshot: (snapshot): Snapshot<undefined> => {
      const persisted: PersistedSupervisor = {
        status: snapshot.status,
        sessions: [...snapshot.sessions.values()].map((ref) => ref.getPersistedSnapshot()),
      };
      return persisted as unknown as Snapshot<undefined>;
    },
    restoreSnapshot: (persisted, scope) => {
      const saved = persisted as unknown as PersistedSupervisor;
      const sessions = new Map<string, SessionRef>();
      for (const persisted of saved.sessions) {
        // The restored snapshot carries the context; the input is only what a fresh one would start from.
        const input = inputFromContext((persisted as { context: SessionContext }).context);
        const ref = createActor(sessionMachine, {
          id: input.sessionId,
          systemId: input.sessionId,
          parent: scope.self,
          input,
          snapshot: persisted as Snapshot<unknown>,
        });
        sessions.set(input.sessionId, ref);
      }
      return { status: saved.status, output: undefined, error: undefined, sessions };
    },
    start: (snapshot) => {
      for (const ref of snapshot.sessions.values()) ref.start();
    },
  };
}
