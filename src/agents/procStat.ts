import fs from 'node:fs';

/** The fields of /proc/<pid>/stat that agentvisor reads. */
export interface ProcStat {
  /** One letter: `R`, `S`, `D`, `Z` (zombie), ... */
  readonly state: string;
  readonly ppid: number;
  /** The process group. */
  readonly pgid: number;
  /** Clock ticks after boot when the process started: tells a reused pid apart. */
  readonly startTime: number;
}

/**
 * /proc/<pid>/stat of a process, or `null` when it is not there (gone, or no /proc). The fields are
 * counted after the `)` that ends the command name, which may hold spaces and parentheses.
 *
 * @example readProcStat(process.pid)?.pgid // this process's group
 */
export function readProcStat(pid: number | 'self'): ProcStat | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 3, 4, 5 and 22 of proc(5), numbered from 1 with the pid as field 1.
  const [state = '', ppid = '', pgid = ''] = fields;
  const startTime = fields[22 - 3] ?? '';
  if (!/^\d+$/.test(ppid) || !/^\d+$/.test(pgid) || !/^\d+$/.test(startTime)) return null;
  return { state, ppid: Number(ppid), pgid: Number(pgid), startTime: Number(startTime) };
}
