/**
 * A persisted coordinator snapshot restores the budget and the live sessions exactly, and their
 * deadlines are re-armed by the explicit clock events (no `after` timers to lose): a sweep past a
 * restored session's lease expires it and settles its allocation.
 */
import { createActor, fromCallback } from 'xstate';
import type { Snapshot } from 'xstate';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEmitted, CoordinatorEvent } from '../../machines/coordinator.types';
import type { ClockInput } from '../../machines/nextDueAt';
import { DAY0, DEFAULT_CONFIG, HOUR, NEXT_RESET, T0, budgetsOf, createCoordinatorHarness } from '../helpers/machineHarness';

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
      actors: { clock: fromCallback<CoordinatorEvent, ClockInput>(() => undefined), credentials: fromCallback(() => undefined) },
    });
    const restored = createActor(machine, {
      systemId: 'coordinator',
      snapshot: persisted,
      input: { config: { ...DEFAULT_CONFIG, sweepIntervalMs: HOUR }, budgets: budgetsOf(LIMITS), now: T0, day: DAY0, nextResetAt: NEXT_RESET },
    });
    restored.on('*', (e) => emitted.push(e));
    restored.start();
    expect(restored.getSnapshot().context.budgets).toEqual(before);
    expect([...restored.getSnapshot().context.supervisor.getSnapshot().sessions.keys()].sort()).toEqual([early.sessionId, late.sessionId].sort());

    // early's lease (renewed by its usage at T0 + 1 h) ends at T0 + 3 h; late's at T0 + 4 h - 1 min.
    restored.send({ type: 'clock.tick', now: T0 + 3 * HOUR, day: DAY0, nextResetAt: NEXT_RESET });
    const released = emitted.filter((e): e is Extract<CoordinatorEmitted, { type: 'agent.released' }> => e.type === 'agent.released');
    expect(released.map((e) => [e.output.sessionId, e.output.reason, e.output.usedTokens, e.output.returnedTokens])).toEqual([[early.sessionId, 'expired', 1_000, 9_000]]);
    const claude = restored.getSnapshot().context.budgets.claude;
    expect({ used: claude.used, reserved: claude.reserved, active: claude.active }).toEqual({ used: 1_500, reserved: before.claude.reserved - 9_000, active: 1 });
    restored.stop();
  });
});
