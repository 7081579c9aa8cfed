import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROCESS_TAG_VAR } from './processTag';

/** The longest SIGTERM → SIGKILL grace once the supervisor is gone: nobody is left to read the output. */
export const PARENT_DEATH_MAX_GRACE_MS = 2000;

/** The child's fd that carries the lifeline; the program itself never gets it. */
export const LIFELINE_FD = 3;

/** Carries the caller's PWD past the shell, which would set its own (the script names it too). */
const PWD_CARRIER = 'AGENTVISOR_WATCHDOG_PWD';

/**
 * POSIX sh, run as the process-group leader; "$1" is the grace in seconds, "$2" the run's process
 * tag, the rest is the program.
 * - The watcher blocks reading fd 3, whose other end only this Node process holds (close-on-exec, so
 *   no other child inherits it): EOF means the supervisor is gone, however it died. It then signals
 *   the whole group and every process carrying the tag (`k`: found by grep in /proc/<pid>/environ),
 *   ignoring TERM itself so that it lives to send the KILL. Only the program's subshell exports the
 *   tag, so the watchdog's own processes never match. The watcher runs in the background, so it
 *   must not hold stdout/stderr: the result waits for those to close.
 * - The program runs in a foreground subshell that execs it: stdin is the shell's own (background
 *   jobs would get /dev/null and ignore INT/QUIT), fd 3 is closed, and the shell's stderr is
 *   /dev/null so that its "Terminated" job notices never mix with the program's stderr.
 * - sh exports PWD: the subshell puts back the caller's PWD (carried in PWD_CARRIER) or its absence.
 * - The shell traps the signals a stop sends to the group, so it outlives the program and exits
 *   with its status (128+N for signal N). USR1 ends a watcher still waiting; once it has seen EOF
 *   it ignores USR1 and finishes the kill.
 */
const WATCHDOG_SCRIPT = [
  'g=$1; t=$2; shift 2',
  `k() { kill "-$1" $(grep -l -F "${PROCESS_TAG_VAR}=$t" /proc/[0-9]*/environ 2>/dev/null | sed -n 's#^/proc/\\([0-9]*\\)/environ$#\\1#p') 0; }`,
  "(trap '' HUP INT QUIT TERM; while read -r _ <&3; do :; done; trap '' USR1; k TERM; sleep \"$g\"; k KILL) </dev/null >/dev/null 2>&1 &",
  'w=$!',
  'exec 3<&- 4>&2 2>/dev/null',
  'trap : HUP INT QUIT TERM',
  `(if [ "\${${PWD_CARRIER}+set}" ]; then export PWD="$${PWD_CARRIER}"; unset ${PWD_CARRIER}; ` +
    `else unset PWD; fi; export ${PROCESS_TAG_VAR}="$t"; exec "$@" 2>&4 4>&-)`,
  's=$?',
  'kill -USR1 "$w"',
  'wait "$w"',
  'exit "$s"',
].join('\n');

/** Signals whose default action is not to end the process: they cannot explain an exit status of 128+N. */
const NOT_FATAL_BY_DEFAULT = new Set<string>([
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGWINCH',
]);
const SIGNAL_BY_NUMBER = new Map<number, NodeJS.Signals>(
  (Object.entries(os.constants.signals) as [NodeJS.Signals, number][])
    .filter(([name]) => !NOT_FATAL_BY_DEFAULT.has(name))
    .map(([name, number]) => [number, name]),
);

/**
 * The `spawn` command, arguments and environment that run `command args` under the parent-death
 * watchdog. The command and arguments reach the program as they are ("$@", never parsed by the
 * shell); its environment is `env` plus `AGENTVISOR_PROCESS_TAG=<tag>`.
 *
 * @example
 * const { command, args, env } = watchdogInvocation('claude', ['-p', 'hi'], { PATH: '/usr/bin' }, 2000, newProcessTag());
 * spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
 */
export function watchdogInvocation(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  graceMs: number,
  tag: string,
): { command: string; args: string[]; env: Record<string, string> } {
  const seconds = (Math.min(graceMs, PARENT_DEATH_MAX_GRACE_MS) / 1000).toFixed(3);
  // The program gets the tag from the subshell; the watchdog's own environment must not carry it.
  const { PWD: pwd, [PROCESS_TAG_VAR]: _ignored, ...rest } = env;
  return {
    command: '/bin/sh',
    args: ['-c', WATCHDOG_SCRIPT, 'agentvisor-watchdog', seconds, tag, command, ...args],
    env: pwd === undefined ? rest : { ...rest, [PWD_CARRIER]: pwd },
  };
}

/**
 * The watchdog exits with the shell's `$?`: 128+N when the program died of signal N. This gives the
 * exit code and signal the program itself would have shown. A program that exits with such a code
 * on its own (`exit 143`) is reported as that signal: sh cannot tell the two apart.
 *
 * @example
 * watchdogExitStatus(143, null); // → { code: null, signal: 'SIGTERM' }
 * watchdogExitStatus(3, null);   // → { code: 3, signal: null }
 */
export function watchdogExitStatus(
  code: number | null,
  signal: NodeJS.Signals | null,
): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const fromSignal = SIGNAL_BY_NUMBER.get(code - 128);
  return fromSignal === undefined ? { code, signal } : { code: null, signal: fromSignal };
}

function isExecutableFile(file: string): 'ok' | 'ENOENT' | 'EACCES' {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'ENOENT';
  }
  if (stat.isDirectory()) return 'EACCES';
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return 'ok';
  } catch {
    return 'EACCES';
  }
}

/**
 * Under the watchdog the shell always starts, so a missing or non-executable program would only show
 * as exit 127/126. This looks the command up the way execvp does (`PATH` from the child's env, an
 * empty entry meaning the working directory) and gives the errno a direct spawn would have failed
 * with, or `null` when it can run.
 *
 * @example
 * commandUnavailable('no-such-tool', { PATH: '/usr/bin' }, undefined); // → 'ENOENT'
 */
export function commandUnavailable(
  command: string,
  env: Readonly<Record<string, string>>,
  cwd: string | undefined,
): 'ENOENT' | 'EACCES' | null {
  const base = cwd ?? process.cwd();
  if (command.includes('/')) {
    const found = isExecutableFile(path.resolve(base, command));
    return found === 'ok' ? null : found;
  }
  let denied = false;
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    const found = isExecutableFile(path.resolve(base, dir, command));
    if (found === 'ok') return null;
    if (found === 'EACCES') denied = true;
  }
  return denied ? 'EACCES' : 'ENOENT';
}
