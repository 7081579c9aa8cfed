/**
 * sessionShard: a supervisor for a share of the agent sessions.
 *
 * States: supervising (only).
 * Accepts: shard.spawn (start a session), shard.sweep (pass the clock's sweep to every session), and
 * xstate.done.actor.* when a session ends (the child is stopped and removed from the children map).
 * Sessions talk to the coordinator directly (by systemId), so the shard is off the hot path.
 *
 * Why shards exist: XState copies a parent's children map on every spawn and stop, so one parent of
 * every session pays O(live sessions) per admission. The coordinator spreads sessions over shards
 * of a few sessions each and addresses each session by its systemId (the session id).
 * Why slots: children are keyed by the lowest free `slotN`, not by the session id. Maps keyed by
 * ever-new random strings never share a hidden class in V8 and copy about 6 times slower
 * (measured: 9.4 µs vs 1.6 µs per spawn and stop at 8 children; see docs/decisions.md).
 */
import { assertEvent, enqueueActions, setup, stopChild } from 'xstate';
import { agentSessionMachine } from './agentSession.machine';
import type { SessionInput } from './agentSession.types';

export type ShardEvent =
  | { readonly type: 'shard.spawn'; readonly input: SessionInput }
  | { readonly type: 'shard.sweep'; readonly now: number }
  | { readonly type: `xstate.done.actor.${string}`; readonly actorId: string };

export const sessionShardMachine = setup({
  types: {
    events: {} as ShardEvent,
  },
  actors: { agentSession: agentSessionMachine },
}).createMachine({
  id: 'sessionShard',
  initial: 'supervising',
  states: {
    supervising: {
      on: {
        'shard.spawn': {
          actions: enqueueActions(({ enqueue, event, self }) => {
            assertEvent(event, 'shard.spawn');
            const children = self.getSnapshot().children;
            let slot = 0;
            while (`slot${slot}` in children) slot += 1;
            enqueue.spawnChild('agentSession', { id: `slot${slot}`, systemId: event.input.sessionId, input: event.input });
          }),
        },
        'shard.sweep': {
          actions: enqueueActions(({ enqueue, event, self }) => {
            assertEvent(event, 'shard.sweep');
            for (const child of Object.values(self.getSnapshot().children)) {
              if (child) enqueue.sendTo(child, { type: 'session.sweep', now: event.now });
            }
          }),
        },
        // A finished child stays in the children map until stopped: stop it, or the map grows forever.
        'xstate.done.actor.*': { actions: stopChild(({ event }) => (event as { actorId: string }).actorId) },
      },
    },
  },
});

export type SessionShardMachine = typeof sessionShardMachine;
