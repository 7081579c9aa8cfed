/**
 * A bench stopped by SIGTERM, SIGINT or SIGHUP (Ctrl-C, a CI timeout, a closed terminal) leaves
 * nothing behind: every process it started, directly or below those, is killed with its process
 * group when it leads one (the agent CLIs run in groups of their own), then its temp folder is
 * removed, then it exits with the signal's code (128 + its number), as a shell reports it.
 */
import fs from 'node:fs';
import os from 'node:os';
import { readProcStat } from '../../src/agents/procStat';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** How long the killed processes get to be gone before the folder is removed anyway. */
const GONE_WITHIN_MS = 3_000;

/** Every live process below `root` (children, their children, …), from /proc. */
function descendantsOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== null && stat.state !== 'Z') parents.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  let layer = [root];
  while (layer.length > 0) {
    layer = [...parents].filter(([, ppid]) => layer.includes(ppid)).map(([pid]) => pid);
    found.push(...layer);
  }
  return found;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Kills every process below this one (and the groups they lead) and waits, within a bound, until
 * they are gone. Synchronous on purpose: nothing else of the bench may run in between (a run that
 * fails because its process was killed would end the bench with its own exit code).
 */
function killDescendants(): void {
  const own = readProcStat(process.pid)?.pgid;
  const pids = descendantsOf(process.pid);
  for (const pid of pids) {
    const group = readProcStat(pid)?.pgid;
    // A group of its own takes along what was reparented out of the tree (Claude Code's helpers).
    if (group === pid && group !== own) killQuietly(-group);
    killQuietly(pid);
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + GONE_WITHIN_MS;
  // A zombie is gone for this purpose: its parent (this process, or init) reaps it later.
  while (Date.now() < deadline && pids.some((pid) => (readProcStat(pid)?.state ?? 'Z') !== 'Z'))
    Atomics.wait(pause, 0, 0, 10);
}

/**
 * On SIGTERM, SIGINT or SIGHUP: kill what this process started, remove `dir`, exit with the
 * signal's code, all before anything else of the bench runs. Returns a function that removes the
 * handlers (for the bench's own end, which cleans up by itself).
 *
 * @example
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avbench-'));
 * const release = cleanUpOnStopSignals(dir);
 * try { await measure(dir); } finally { release(); fs.rmSync(dir, { recursive: true, force: true }); }
 */
export function cleanUpOnStopSignals(dir: string): () => void {
  const onSignal = (signal: (typeof STOP_SIGNALS)[number]) => {
    console.error(`· stopped by ${signal}: killing the processes started and removing ${dir}`);
    try {
      killDescendants();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      process.exit(128 + os.constants.signals[signal]);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}
