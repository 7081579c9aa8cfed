import { signalTaggedProcesses, taggedProcesses } from './processTag';

/** Process groups still alive, killed if this process exits first: agents must not outlive their supervisor. */
const liveGroups = new Set<number>();
/** Tags of `dieWithParent` runs whose processes may still be alive, in the group or out of it. */
const liveTags = new Set<string>();
let exitHookInstalled = false;

/** Sends a signal to every process in the group; a group that is already gone is not an error. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remembers a started run (its process group and, for `dieWithParent` runs, its process tag) so
 * that it is killed if this process exits first.
 *
 * @example
 * trackRun(child.pid, tag);
 */
export function trackRun(pgid: number, tag: string | null): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const group of liveGroups) signalGroup(group, 'SIGKILL');
      for (const live of liveTags) signalTaggedProcesses(live, 'SIGKILL');
    });
  }
  liveGroups.add(pgid);
  if (tag !== null) liveTags.add(tag);
}

/**
 * Signals a run's process group and, with a tag, every process carrying it (those that left the group).
 *
 * @example
 * signalRun(pgid, tag, 'SIGTERM');
 */
export function signalRun(pgid: number, tag: string | null, signal: NodeJS.Signals): void {
  signalGroup(pgid, signal);
  if (tag !== null) signalTaggedProcesses(tag, signal);
}

/**
 * Whether anything of the run is still alive: a member of its group or a tagged process.
 *
 * @example
 * if (runHasProcesses(pgid, tag)) terminate();
 */
export function runHasProcesses(pgid: number, tag: string | null): boolean {
  return groupHasProcesses(pgid) || (tag !== null && taggedProcesses(tag).length > 0);
}

/**
 * Whether the run's process group still has a member (one `kill(-pgid, 0)`, no /proc scan).
 *
 * @example
 * if (groupHasProcesses(pgid)) terminate();
 */
export function groupHasProcesses(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/**
 * After a run settled with its group gone (`settleRun` without its tag, so the exit hook still
 * covers it meanwhile): SIGTERMs the processes that still carry the tag (they left the group) and
 * SIGKILLs what carries it `graceMs` later, or when this process exits first. Returns how many
 * there were; with none, the tag is forgotten.
 *
 * @example
 * setImmediate(() => stopTaggedLeftovers(tag, 2000));
 */
export function stopTaggedLeftovers(tag: string, graceMs: number): number {
  const found = signalTaggedProcesses(tag, 'SIGTERM');
  if (found === 0) {
    liveTags.delete(tag);
    return 0;
  }
  setTimeout(() => {
    signalTaggedProcesses(tag, 'SIGKILL');
    liveTags.delete(tag);
  }, graceMs).unref();
  return found;
}

/**
 * The run settled: its group is forgotten, as its id may be reused from now on. A tag never is, so
 * the SIGKILL a stop scheduled for `killAt` still reaches the tagged processes left behind (out of
 * the group, not holding the output open).
 *
 * @example
 * settleRun(pgid, tag, stopping ? killAt : null);
 */
export function settleRun(pgid: number, tag: string | null, killAt: number | null): void {
  liveGroups.delete(pgid);
  if (tag === null) return;
  if (killAt === null) {
    liveTags.delete(tag);
    return;
  }
  setTimeout(
    () => {
      signalTaggedProcesses(tag, 'SIGKILL');
      liveTags.delete(tag);
    },
    Math.max(0, killAt - Date.now()),
  ).unref();
}
