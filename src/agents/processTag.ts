import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

/**
 * The environment variable that marks every process of one run. Agent CLIs start their tool shells
 * in a new session (Claude Code's Bash tool, Codex's exec_command), out of reach of a process-group
 * signal, and leave them running when they are stopped; those shells and their children still
 * inherit the environment, so the tag finds them even after they were reparented.
 */
export const PROCESS_TAG_VAR = 'AGENTVISOR_PROCESS_TAG';

/**
 * A fresh random tag (32 hex digits): no other process carries it, so a match is never a reused pid.
 *
 * @example
 * const tag = newProcessTag(); // → '9f86d081884c7d659a2feaa0c55ad015'
 */
export function newProcessTag(): string {
  return randomBytes(16).toString('hex');
}

/** Whether the NUL-separated environment block holds exactly this `NAME=value` entry. */
function hasEntry(environ: Buffer, entry: Buffer): boolean {
  for (let at = environ.indexOf(entry); at >= 0; at = environ.indexOf(entry, at + 1)) {
    const end = at + entry.length;
    if ((at === 0 || environ[at - 1] === 0) && (end === environ.length || environ[end] === 0)) return true;
  }
  return false;
}

/**
 * The pids of the processes whose environment carries the tag, read from /proc (only this user's
 * processes are readable; none on systems without /proc).
 *
 * @example
 * taggedProcesses(tag); // → [4242, 4250]
 */
export function taggedProcesses(tag: string): number[] {
  const entry = Buffer.from(`${PROCESS_TAG_VAR}=${tag}`);
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (hasEntry(readEnviron(name), entry)) found.push(Number(name));
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return found;
}

/** Reused by every read: a scan runs after each agent exits, and most environments fit. */
const environBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * A process's environment block: read into the shared buffer (about a third cheaper than
 * `readFileSync`, which stats and allocates per file), re-read whole when it does not fit.
 * The result is valid until the next call.
 */
function readEnviron(pid: string): Buffer {
  const fd = fs.openSync(`/proc/${pid}/environ`, 'r');
  try {
    let length = 0;
    let read: number;
    do {
      read = fs.readSync(fd, environBuffer, length, environBuffer.length - length, null);
      length += read;
    } while (read > 0 && length < environBuffer.length);
    if (length < environBuffer.length) return environBuffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
  return fs.readFileSync(`/proc/${pid}/environ`);
}

/**
 * Sends a signal to every process carrying the tag; returns how many there were.
 *
 * @example
 * signalTaggedProcesses(tag, 'SIGKILL'); // → 2
 */
export function signalTaggedProcesses(tag: string, signal: NodeJS.Signals): number {
  const pids = taggedProcesses(tag);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
  return pids.length;
}
