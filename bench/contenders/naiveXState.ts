/**
 * Baseline (c): the naive XState coordinator that architecture.md §3 warns about. Sessions are
 * direct children of the coordinator and the coordinator keeps a sessions map in context that
 * `assign` copies on every spawn and every end. XState also copies the parent's children map on
 * every spawn and stop, so both copies grow with the number of live sessions.
 *
 * Fixture shortcut: the live sessions are opened with one `bench.fill` event that spawns them all
 * in a single assign. Opening 10,000 one spawn at a time takes about 30 s on the reference machine
 * (each spawn copies both maps: quadratic); the state reached is the same (the same children, the
 * same sessions map, the same counters), and only the measured cycles matter.
 */
import { assertEvent, assign, createActor, sendParent, setup, stopChild } from 'xstate';
import type { Actor, ActorRefFrom } from 'xstate';
import { CYCLE } from '../lib/types';
import type { Contender, Fixture } from '../lib/types';

interface NaiveSessionContext {
  readonly id: string;
  readonly allocation: number;
  readonly used: number;
}

type NaiveSessionEvent = { readonly type: 'usage'; readonly tokens: number } | { readonly type: 'release' };

export const naiveSessionMachine = setup({
  types: {
    input: {} as { readonly id: string; readonly allocation: number },
    context: {} as NaiveSessionContext,
    events: {} as NaiveSessionEvent,
  },
}).createMachine({
  id: 'naiveSession',
  context: ({ input }) => ({ id: input.id, allocation: input.allocation, used: 0 }),
  initial: 'active',
  states: {
    active: {
      entry: sendParent(({ context }) => ({ type: 'session.activated', id: context.id })),
      on: {
        usage: {
          actions: [
            sendParent(({ context, event }) => ({
              type: 'session.used',
              tokens: event.tokens,
              within: Math.max(0, Math.min(event.tokens, context.allocation - context.used)),
            })),
            assign(({ context, event }) => ({ used: context.used + event.tokens })),
          ],
        },
        release: 'released',
      },
    },
    released: {
      type: 'final',
      entry: sendParent(({ context }) => ({
        type: 'session.ended',
        id: context.id,
        allocation: context.allocation,
        used: context.used,
      })),
    },
  },
});

type NaiveSessionRef = ActorRefFrom<typeof naiveSessionMachine>;

interface NaiveContext {
  readonly dailyLimit: number;
  readonly maxConcurrent: number;
  readonly used: number;
  readonly reserved: number;
  readonly active: number;
  readonly sessions: Readonly<Record<string, NaiveSessionRef>>;
}

type NaiveEvent =
  | { readonly type: 'spawn'; readonly id: string; readonly estimate: number }
  | { readonly type: 'bench.fill'; readonly count: number; readonly estimate: number }
  | { readonly type: 'session.activated'; readonly id: string }
  | { readonly type: 'session.used'; readonly tokens: number; readonly within: number }
  | { readonly type: 'session.ended'; readonly id: string; readonly allocation: number; readonly used: number };

function allocationFor(context: NaiveContext, estimate: number): number {
  const available = context.dailyLimit - context.used - context.reserved;
  return available < estimate ? 0 : Math.min(estimate, Math.floor(available / 2));
}

export const naiveCoordinatorMachine = setup({
  types: {
    input: {} as { readonly dailyLimit: number; readonly maxConcurrent: number },
    context: {} as NaiveContext,
    events: {} as NaiveEvent,
  },
  actors: { session: naiveSessionMachine },
}).createMachine({
  id: 'naiveCoordinator',
  context: ({ input }) => ({ ...input, used: 0, reserved: 0, active: 0, sessions: {} }),
  on: {
    spawn: {
      guard: ({ context, event }) =>
        context.active < context.maxConcurrent && allocationFor(context, event.estimate) > 0,
      actions: assign(({ context, event, spawn }) => {
        const allocation = allocationFor(context, event.estimate);
        return {
          active: context.active + 1,
          reserved: context.reserved + allocation,
          sessions: {
            ...context.sessions,
            [event.id]: spawn('session', { id: event.id, input: { id: event.id, allocation } }),
          },
        };
      }),
    },
    'bench.fill': {
      actions: assign(({ context, event, spawn }) => {
        const sessions: Record<string, NaiveSessionRef> = { ...context.sessions };
        let reserved = context.reserved;
        for (let i = 0; i < event.count; i++) {
          const id = `live-${i}`;
          const allocation = allocationFor({ ...context, reserved }, event.estimate);
          sessions[id] = spawn('session', { id, input: { id, allocation } });
          reserved += allocation;
        }
        return { active: context.active + event.count, reserved, sessions };
      }),
    },
    'session.used': {
      actions: assign(({ context, event }) => ({
        used: context.used + event.tokens,
        reserved: context.reserved - event.within,
      })),
    },
    'session.ended': {
      actions: [
        stopChild(({ event }) => {
          assertEvent(event, 'session.ended');
          return event.id;
        }),
        assign(({ context, event }) => {
          const sessions = { ...context.sessions };
          delete sessions[event.id];
          const returned = Math.max(0, event.allocation - event.used);
          return { active: context.active - 1, reserved: context.reserved - returned, sessions };
        }),
      ],
    },
  },
});

async function openNaive(live: number): Promise<Fixture> {
  const actor: Actor<typeof naiveCoordinatorMachine> = createActor(naiveCoordinatorMachine, {
    input: { dailyLimit: CYCLE.dailyLimit, maxConcurrent: live + CYCLE.headroom },
  });
  actor.start();
  let seq = 0;
  return {
    rows: [
      {
        key: 'naive.actor',
        run(cycles: number): void {
          for (let i = 0; i < cycles; i++) {
            const id = `c${seq++}`;
            actor.send({ type: 'spawn', id, estimate: CYCLE.estimatedTokens });
            const session = actor.getSnapshot().context.sessions[id];
            if (!session) throw new Error(`the naive coordinator did not admit ${id}`);
            session.send({ type: 'usage', tokens: CYCLE.usedTokens });
            session.send({ type: 'release' });
          }
        },
      },
    ],
    async fill(count: number): Promise<void> {
      if (count > 0) actor.send({ type: 'bench.fill', count, estimate: CYCLE.estimatedTokens });
    },
    async verify(count: number, cyclesRun: number): Promise<string[]> {
      const snapshot = actor.getSnapshot();
      const { context } = snapshot;
      const problems: string[] = [];
      if (context.active !== count) problems.push(`active ${context.active}, expected ${count}`);
      if (Object.keys(context.sessions).length !== count)
        problems.push(`${Object.keys(context.sessions).length} sessions in the map, expected ${count}`);
      if (Object.keys(snapshot.children).length !== count)
        problems.push(`${Object.keys(snapshot.children).length} children, expected ${count}`);
      if (context.reserved !== count * CYCLE.estimatedTokens)
        problems.push(`reserved ${context.reserved}, expected ${count * CYCLE.estimatedTokens}`);
      if (context.used !== cyclesRun * CYCLE.usedTokens)
        problems.push(`used ${context.used}, expected ${cyclesRun * CYCLE.usedTokens}`);
      return problems;
    },
    async close(): Promise<number> {
      // Not actor.stop(): stopping N direct children copies the children map N times (quadratic,
      // about a minute at 10,000). The actor has no timers or listeners, so dropping it is enough.
      return 0;
    },
  };
}

export const naiveContender: Contender = {
  name: 'naive XState',
  rows: [
    {
      key: 'naive.actor',
      label: 'naive XState coordinator',
      description:
        "send('spawn') → context.sessions[id].send('usage') → send('release'); sessions are direct children, the sessions map is copied in assign",
    },
  ],
  create: openNaive,
};
