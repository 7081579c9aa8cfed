import { fromCallback } from 'xstate';
import type { CoordinatorEvent } from '../../machines/coordinator.types';
import { nextDueAt } from '../../machines/nextDueAt';
import type { TimedContext } from '../../machines/nextDueAt';
import { windowAt } from '../quota/dailyWindow';
import type { DailyReset } from '../quota/dailyWindow';
import type { Clock, ClockTimer } from './clock';

export interface ClockActorOptions {
  readonly clock: Clock;
  readonly dailyReset: DailyReset;
}

/** What the clock actor reads of the coordinator: its latest context, and each new one. */
interface TimedActor {
  getSnapshot(): { readonly context: TimedContext };
  subscribe(next: (snapshot: { readonly context: TimedContext }) => void): { unsubscribe(): void };
}

/** setTimeout's longest delay; a later time is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Turns time into coordinator events: one timer, armed on `nextDueAt` of the coordinator's latest
 * context (re-armed whenever that time changes), sends `clock.tick` with the daily window at that
 * moment. Wait deadlines, cooldowns, pauses, sweeps and the daily reset all live in the context, so
 * a restored coordinator is ticked at the same times as the one it was saved from.
 *
 * @example
 * const machine = coordinatorMachine.provide({
 *   actors: { clock: createClockActor({ clock: systemClock, dailyReset: DEFAULT_DAILY_RESET }), credentials },
 * });
 */
export function createClockActor(options: ClockActorOptions) {
  return fromCallback<CoordinatorEvent>(({ sendBack, system }) => {
    const { clock } = options;
    // The coordinator is the root actor (systemId `coordinator`, as sessions address it). Not passed
    // as input: a callback actor's input is persisted with the snapshot, and a restore would get a copy.
    const coordinator = system.get('coordinator') as TimedActor | undefined;
    if (coordinator === undefined)
      throw new Error('agentvisor: the clock actor runs under a coordinator with systemId "coordinator"');
    let timer: ClockTimer | null = null;
    let armedAt: number | null = null;
    let stopped = false;
    // Most transitions (every admission cycle) touch none of the timed parts: same references, no
    // work. A tick at the due time always replaces one of them (test/machines/nextDueAt), which
    // re-arms the timer; a tick that changes nothing (the coordinator is stopping) leaves it unarmed.
    let seen: TimedContext | null = null;

    const fire = (at: number) => {
      timer = null;
      armedAt = null;
      if (stopped) return;
      const now = clock.now();
      // Node's timers run on the event loop's cached time, which can lag the wall clock: a timer may
      // fire a few ms before `at`. Ticking then would find nothing due: wait for the rest instead.
      if (now < at) return arm(at);
      const window = windowAt(now, options.dailyReset);
      sendBack({ type: 'clock.tick', now, day: window.day, nextResetAt: window.nextResetAt });
    };
    const arm = (at: number | null) => {
      if (at === armedAt && timer !== null) return;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      armedAt = at;
      if (at === null || stopped) return;
      timer = clock.setTimeout(() => fire(at), Math.min(MAX_DELAY_MS, Math.max(0, at - clock.now())));
    };
    const watch = (context: TimedContext) => {
      if (
        seen !== null &&
        context.queue === seen.queue &&
        context.health === seen.health &&
        context.nextResetAt === seen.nextResetAt &&
        context.sweptAt === seen.sweptAt
      )
        return;
      seen = context;
      arm(nextDueAt(context));
    };

    watch(coordinator.getSnapshot().context);
    const subscription = coordinator.subscribe((snapshot) => watch(snapshot.context));
    return () => {
      stopped = true;
      subscription.unsubscribe();
      if (timer !== null) clock.clearTimeout(timer);
    };
  });
}
