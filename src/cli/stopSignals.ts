import { sweepStaleAgentHomes } from '../agents';
import { note } from './context';

/** Exit codes after a stop signal: 128 + the signal's number. */
export const EXIT_FOR_SIGNAL = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof EXIT_FOR_SIGNAL;

/** Handles Ctrl-C, SIGTERM and SIGHUP; `signal` is the first one received, null until then. */
export interface StopSignals {
  readonly signal: StopSignal | null;
  /** The exit code for the signal received (130, 143, 129), or `fallback` when none was. */
  exitCode(fallback: number): number;
  /** Removes the handlers. */
  remove(): void;
}

/**
 * Calls `onFirst` on the first SIGINT (Ctrl-C), SIGTERM or SIGHUP, so the command stops its agents,
 * settles and releases before it exits (with 130, 143 or 129); a second signal exits at once with
 * that code.
 *
 * @example const stop = onStopSignals(() => controller.abort()); try { … } finally { stop.remove(); } process.exitCode = stop.exitCode(0);
 */
export function onStopSignals(onFirst: (signal: StopSignal) => void): StopSignals {
  let received: StopSignal | null = null;
  const handlers = (Object.keys(EXIT_FOR_SIGNAL) as StopSignal[]).map((name) => {
    const handler = (): void => {
      if (received !== null) process.exit(EXIT_FOR_SIGNAL[name]);
      received = name;
      onFirst(name);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    get signal() {
      return received;
    },
    exitCode: (fallback) => (received === null ? fallback : EXIT_FOR_SIGNAL[received]),
    remove: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}

/** How people are told a stop signal arrived. */
export function stopSignalNote(signal: StopSignal): string {
  return signal === 'SIGINT' ? 'Ctrl-C' : signal;
}

/**
 * Removes the private agent homes (copied credentials inside) that agentvisor processes killed
 * with kill -9 left in the temp folder, and says how many; never fails the command.
 *
 * @example sweepLeftoverHomes();
 */
export function sweepLeftoverHomes(): void {
  try {
    const { removed } = sweepStaleAgentHomes();
    if (removed.length > 0)
      note(`agentvisor: removed ${removed.length} agent home folder(s) left by agentvisor processes that were killed`);
  } catch (error) {
    note(
      `agentvisor: could not check for agent homes left by killed runs: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
