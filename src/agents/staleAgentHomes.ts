import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentvisorError } from '../errors';
import { ownerLiveness, readOwnerMarker } from './agentHomeOwner';

/**
 * A home without an owner marker (made before markers existed) is removed only once it is older than
 * this: a home lives no longer than its task, and a task's time limit is at most 24 h.
 */
export const UNMARKED_AGENT_HOME_MAX_AGE_MS = 48 * 60 * 60 * 1000;

export interface SweepAgentHomesOptions {
  /** The folder holding the homes. @default os.tmpdir() */
  readonly parent?: string;
  /** @default 'agentvisor-agent-' */
  readonly prefix?: string;
}

export interface AgentHomeSweep {
  /** The folders removed (full paths). */
  readonly removed: string[];
  /** Entries with the prefix that were left alone: live owners, other users', symlinks, unreadable or foreign markers. */
  readonly kept: number;
}

/** The layout `createAgentHome` made before it wrote owner markers: the root holds only `home`. */
function isUnmarkedAgentHome(root: string, mtimeMs: number): boolean {
  if (Date.now() - mtimeMs < UNMARKED_AGENT_HOME_MAX_AGE_MS) return false;
  try {
    const entries = fs.readdirSync(root);
    return entries.length === 1 && entries[0] === 'home' && fs.lstatSync(path.join(root, 'home')).isDirectory();
  } catch {
    return false;
  }
}

function isStale(root: string): boolean {
  const stat = fs.lstatSync(root, { throwIfNoEntry: false });
  // lstat: a symlink named like a home is never followed, whatever it points at.
  if (stat === undefined || !stat.isDirectory()) return false;
  if (process.getuid !== undefined && stat.uid !== process.getuid()) return false;
  const owner = readOwnerMarker(root);
  if (owner === null) return false;
  if (owner === 'missing') return isUnmarkedAgentHome(root, stat.mtimeMs);
  return ownerLiveness(owner) === 'gone';
}

/**
 * Removes the agent homes (which may hold copied credentials) that agentvisor processes killed
 * before their cleanup ran (kill -9, a crash, a power cut) left behind. Only real directories of
 * this user named with the prefix go, and only when their owner marker names a process that no
 * longer runs (its pid is free or now belongs to a later process), or when they have no marker, the
 * layout of an older agentvisor's home and are older than 48 h. Homes of live processes, of other
 * hosts or containers, with an unreadable marker, and symlinks are kept. Removal never follows a
 * symlink inside a home. Throws `AgentvisorError` `'invalid-option'` for a prefix that is not a plain name.
 *
 * @example
 * const { removed } = sweepStaleAgentHomes();
 * if (removed.length > 0) console.error(`removed ${removed.length} agent homes left by killed runs`);
 */
export function sweepStaleAgentHomes(options: SweepAgentHomesOptions = {}): AgentHomeSweep {
  const parent = options.parent ?? os.tmpdir();
  const prefix = options.prefix ?? 'agentvisor-agent-';
  if (
    typeof prefix !== 'string' ||
    prefix === '' ||
    prefix.includes('/') ||
    prefix.includes('\0') ||
    prefix.startsWith('.')
  ) {
    throw new AgentvisorError(
      'invalid-option',
      'prefix must be a non-empty folder name prefix without "/" that does not start with "."',
      { details: { field: 'prefix' } },
    );
  }
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((name) => name.startsWith(prefix));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { removed: [], kept: 0 };
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const root = path.join(parent, name);
    try {
      if (!isStale(root)) continue;
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 2 });
      removed.push(root);
    } catch {
      // A home that vanished or cannot be removed now is counted as kept; the next sweep tries again.
    }
  }
  return { removed, kept: names.length - removed.length };
}
