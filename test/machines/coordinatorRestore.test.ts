/**
 * A persisted coordinator snapshot restores the budget and the live sessions exactly, and their
 * deadlines are re-armed by the explicit clock events (no `after` timers to lose): a sweep past a
 * restored session's lease expires it and settles its allocation. A waiting spawn's deadline is in
 * the snapshot too: the real clock actor of the restored coordinator expires it at its original time.
 */
import { createActor, fromCallback } from 'xstate';
import type { Snapshot } from 'xstate';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEmitted, CoordinatorEvent } from '../../machines/coordinator.types';
import { createManualClock } from '../../src/orchestrator/clock';
import { createClockActor } from '../../src/orchestrator/clockActor';
import { DEFAULT_DAILY_RESET } from '../../src/quota/dailyWindow';
import {
  DAY0,
  DEFAULT_CONFIG,
  HOUR,
  NEXT_RESET,
  T0,
  budgetsOf,
  createCoordinatorHarness,
  createTestCredentialsActor,
  grantAll,
} from '../helpers/machineHarness';

const LIMITS = { claude: { dailyLimit: 100_000, maxConcurrent: 4 }, openai: { dailyLimit: 50_000, maxConcurrent: 2 } };

describe('coordinator snapshot restore', () => {
  it('should restore budgets and sessions exactly and expire a restored session on the first sweep past its lease', () => {
    const h = createCoordinatorHarness({ limits: LIMITS, config: { sweepIntervalMs: HOUR } });
    const early = h.spawn({ estimatedTokens: 10_000 });
    h.toSession(early.sessionId, { type: 'session.usage', tokens: 1_000, now: T0 + HOUR });
    const late = h.spawn({ estimatedTokens: 8_000, now: T0 + HOUR });
    h.toSession(late.sessionId, { type: 'session.usage', tokens: 500, now: T0 + 2 * HOUR - 60_000 });
    const before = h.context().budgets;
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot())) as Snapshot<unknown>;
    h.stop();

    const emitted: CoordinatorEmitted[] = [];
    const machine = coordinatorMachine.provide({
      actors: { clock: fromCallback<CoordinatorEvent>(() => undefined), credentials: fromCallback(() => undefined) },
    });
    const restored = createActor(machine, {
      systemId: 'coordinator',
      snapshot: persisted,
      input: {
        config: { ...DEFAULT_CONFIG, sweepIntervalMs: HOUR },
        budgets: budgetsOf(LIMITS),
        now: T0,
        day: DAY0,
        nextResetAt: NEXT_RESET,
      },
    });
    restored.on('*', (e) => emitted.push(e));
    restored.start();
    expect(restored.getSnapshot().context.budgets).toEqual(before);
    expect([...restored.getSnapshot().context.supervisor.getSnapshot().sessions.keys()].sort()).toEqual(
      [early.sessionId, late.sessionId].sort(),
    );

    // early's lease (renewed by its usage at T0 + 1 h) ends at T0 + 3 h; late's at T0 + 4 h - 1 min.
    restored.send({ type: 'clock.tick', now: T0 + 3 * HOUR, day: DAY0, nextResetAt: NEXT_RESET });
    const released = emitted.filter(
      (e): e is Extract<CoordinatorEmitted, { type: 'agent.released' }> => e.type === 'agent.released',
    );
    expect(
      released.map((e) => [e.output.sessionId, e.output.reason, e.output.usedTokens, e.output.returnedTokens]),
    ).toEqual([[early.sessionId, 'expired', 1_000, 9_000]]);
    const claude = restored.getSnapshot().context.budgets.claude;
    expect({ used: claude.used, reserved: claude.reserved, active: claude.active }).toEqual({
      used: 1_500,
      reserved: before.claude.reserved - 9_000,
      active: 1,
    });
    restored.stop();
  });

  it('should expire a restored waiting spawn at its original deadline, with the real clock actor on a manual clock', () => {
    const clock = createManualClock(T0);
    const machine = coordinatorMachine.provide({
      actors: {
        clock: createClockActor({ clock, dailyReset: DEFAULT_DAILY_RESET }),
        credentials: createTestCredentialsActor(grantAll, []),
      },
    });
    const input = {
      config: { ...DEFAULT_CONFIG, sweepIntervalMs: HOUR },
      budgets: budgetsOf({ claude: { dailyLimit: 100_000, maxConcurrent: 1 } }),
      now: T0,
      day: DAY0,
      nextResetAt: NEXT_RESET,
    };
    const first = createActor(machine, { systemId: 'coordinator', input });
    first.start();
    const spawn = { preferredProvider: null, onlyPreferred: false, priority: 0, estimatedTokens: 1_000 } as const;
    first.send({
      type: 'agent.spawn',
      ...spawn,
      requestId: 'r-1',
      sessionId: 's-1',
      agentId: 'a-1',
      waitMs: 0,
      now: T0,
    });
    first.send({
      type: 'agent.spawn',
      ...spawn,
      requestId: 'r-2',
      sessionId: 's-2',
      agentId: 'a-2',
      waitMs: 10 * 60_000,
      now: T0,
    });
    expect(first.getSnapshot().context.queue.map((q) => [q.requestId, q.deadline])).toEqual([
      ['r-2', T0 + 10 * 60_000],
    ]);
    clock.advance(4 * 60_000);
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as Snapshot<unknown>;
    first.stop();
    // Nothing of the first coordinator is left to fire: only the restored one can expire the wait.
    expect(clock.pending()).toBe(0);

    const refused: { requestId: string; waited: boolean; at: number }[] = [];
    const restored = createActor(machine, { systemId: 'coordinator', snapshot: persisted, input });
    restored.on('agent.refused', (e) => refused.push({ requestId: e.requestId, waited: e.waited, at: clock.now() }));
    restored.start();
    try {
      expect(clock.pending()).toBe(1);
      clock.advance(6 * 60_000 - 1);
      expect(refused).toEqual([]);
      clock.advance(1);
      expect(refused).toEqual([{ requestId: 'r-2', waited: true, at: T0 + 10 * 60_000 }]);
      expect(restored.getSnapshot().context.queue).toEqual([]);
      // The one timer moved on to the next due time (the sweep at T0 + 1 h), not left behind.
      expect(clock.pending()).toBe(1);
    } finally {
      restored.stop();
    }
    expect(clock.pending()).toBe(0);
  });
});
