import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readProcStat } from './procStat';

/** The marker in an agent home's root naming the process that created it. */
export const OWNER_MARKER_FILE = 'owner.json';
const MARKER_FORMAT = 'agentvisor-agent-home-owner/1';
const MAX_MARKER_BYTES = 4096;

/** Who created an agent home: enough to tell, later, whether that very process still runs. */
export interface AgentHomeOwner {
  readonly format: typeof MARKER_FORMAT;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): tells a reused pid apart. `null` without /proc. */
  readonly startTime: number | null;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot is gone whatever runs under it now. */
  readonly bootId: string | null;
  /** The pid namespace (`pid:[4026531836]`): a pid from another namespace (container) means nothing here. */
  readonly pidNamespace: string | null;
  readonly hostname: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** `'unknown'`: another host or pid namespace, so it cannot be checked from here. */
export type OwnerLiveness = 'alive' | 'gone' | 'unknown';

function readOrNull(read: () => string): string | null {
  try {
    return read().trim();
  } catch {
    return null;
  }
}

function startTimeOf(pid: number | 'self'): number | null {
  return readProcStat(pid)?.startTime ?? null;
}

const here = {
  bootId: readOrNull(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  pidNamespace: readOrNull(() => fs.readlinkSync('/proc/self/ns/pid')),
  hasProc: startTimeOf('self') !== null,
};

/**
 * Writes the owner marker (this process) into a fresh agent home's root, mode 0600, refusing to
 * replace anything already there.
 *
 * @example
 * writeOwnerMarker(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-agent-')));
 */
export function writeOwnerMarker(root: string): void {
  const owner: AgentHomeOwner = {
    format: MARKER_FORMAT,
    pid: process.pid,
    startTime: startTimeOf('self'),
    bootId: here.bootId,
    pidNamespace: here.pidNamespace,
    hostname: os.hostname(),
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(root, OWNER_MARKER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
}

function isOwner(value: unknown): value is AgentHomeOwner {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const stringOrNull = (x: unknown): boolean => x === null || typeof x === 'string';
  return (
    v.format === MARKER_FORMAT &&
    Number.isInteger(v.pid) &&
    (v.pid as number) > 0 &&
    (v.startTime === null || (Number.isInteger(v.startTime) && (v.startTime as number) >= 0)) &&
    stringOrNull(v.bootId) &&
    stringOrNull(v.pidNamespace) &&
    typeof v.hostname === 'string' &&
    typeof v.createdAt === 'string'
  );
}

/**
 * Reads a home's owner marker without following a symlink or blocking on a FIFO: `'missing'` when
 * there is none, `null` when it is not a small regular file of this user holding a valid marker.
 *
 * @example
 * const owner = readOwnerMarker(root); // → { pid: 4242, startTime: 81234, … } | 'missing' | null
 */
export function readOwnerMarker(root: string): AgentHomeOwner | 'missing' | null {
  let fd: number;
  try {
    fd = fs.openSync(
      path.join(root, OWNER_MARKER_FILE),
      fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
    );
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : null;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (
      !stat.isFile() ||
      stat.size > MAX_MARKER_BYTES ||
      (process.getuid !== undefined && stat.uid !== process.getuid())
    )
      return null;
    const buffer = Buffer.alloc(MAX_MARKER_BYTES + 1);
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
    const parsed: unknown = JSON.parse(buffer.subarray(0, length).toString('utf8'));
    return isOwner(parsed) ? parsed : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether the process that wrote a marker still runs: the same pid with the same start time
 * (a zombie not yet reaped counts as alive).
 *
 * @example
 * ownerLiveness({ ...owner, pid: process.pid }); // → 'alive' for a marker this process wrote
 */
export function ownerLiveness(owner: AgentHomeOwner): OwnerLiveness {
  if (owner.hostname !== os.hostname() || owner.pidNamespace !== here.pidNamespace) return 'unknown';
  if (owner.bootId !== null && here.bootId !== null && owner.bootId !== here.bootId) return 'gone';
  if (owner.startTime !== null && here.hasProc) return startTimeOf(owner.pid) === owner.startTime ? 'alive' : 'gone';
  try {
    process.kill(owner.pid, 0);
    return 'alive';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'alive';
  }
}
