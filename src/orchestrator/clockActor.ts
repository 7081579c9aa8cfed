import { fromCallback } from 'xstate';
import type { CoordinatorEvent } from '../../machines/coordinator.types';
import { windowAt } from '../quota/dailyWindow';
import type { DailyReset } from '../quota/dailyWindow';
import type { Clock, ClockTimer } from './clock';

export interface ClockActorOptions {
  readonly clock: Clock;
  readonly sweepIntervalMs: number;
  readonly dailyReset: DailyReset;
  /** The window the coordinator started in. */
  readonly day: string;
}

/**
 * Turns time into coordinator events: `clock.sweep` every interval and `clock.dailyReset` when a
 * new daily window starts. Each sweep also checks the window, so a reset missed while the process
 * was suspended still happens.
 */
export function createClockActor(options: ClockActorOptions) {
  return fromCallback<CoordinatorEvent>(({ sendBack }) => {
    const { clock } = options;
    let day = options.day;
    let sweepTimer: ClockTimer | null = null;
    let resetTimer: ClockTimer | null = null;
    let stopped = false;

    const checkWindow = () => {
      const now = clock.now();
      const position = windowAt(now, options.dailyReset);
      if (position.day !== day) {
        day = position.day;
        sendBack({ type: 'clock.dailyReset', now, day: position.day, nextResetAt: position.nextResetAt });
      }
      return position;
    };
    const armReset = () => {
      const position = checkWindow();
      if (stopped) return;
      resetTimer = clock.setTimeout(armReset, Math.max(1, position.nextResetAt - clock.now()));
    };
    const sweep = () => {
      checkWindow();
      if (stopped) return;
      sendBack({ type: 'clock.sweep', now: clock.now() });
      sweepTimer = clock.setTimeout(sweep, options.sweepIntervalMs);
    };

    sweepTimer = clock.setTimeout(sweep, options.sweepIntervalMs);
    armReset();
    return () => {
      stopped = true;
      if (sweepTimer !== null) clock.clearTimeout(sweepTimer);
      if (resetTimer !== null) clock.clearTimeout(resetTimer);
    };
  });
}
