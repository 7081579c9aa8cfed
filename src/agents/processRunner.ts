import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { AgentvisorError } from '../errors';
import { OutputCapture } from './outputCapture';
import { LIFELINE_FD, commandUnavailable, watchdogExitStatus, watchdogInvocation } from './parentDeathWatch';
import { newProcessTag } from './processTag';
import { groupHasProcesses, runHasProcesses, settleRun, signalRun, stopTaggedLeftovers, trackRun } from './runCleanup';

export interface RunProcessOptions {
  /** The program: a path, or a name looked up on `env.PATH`. Never run through a shell. */
  readonly command: string;
  /** Arguments, passed as they are (no shell, no quoting, no globbing). */
  readonly args: readonly string[];
  /** The child's whole environment: nothing is inherited from this process (pass `PATH` yourself). */
  readonly env: Readonly<Record<string, string>>;
  /** @default this process's working directory */
  readonly cwd?: string;
  /** `'ignore'`: stdin is /dev/null (agents that read stdin see EOF at once); a string is written, then stdin closes. @default 'ignore' */
  readonly stdin?: 'ignore' | string;
  /** The run is stopped (its whole process group) after this long. */
  readonly timeoutMs: number;
  /** The most bytes kept per stream (stdout, stderr): the first and last halves. */
  readonly maxOutputBytes: number;
  /** Time between SIGTERM and SIGKILL when stopping. @default 2000 */
  readonly killGraceMs?: number;
  /** Aborting stops the run like a timeout does (`aborted: true`). */
  readonly signal?: AbortSignal;
  /** Each piece of stdout as it arrives (UTF-8, never split inside a character), before any cap applies. */
  readonly onStdout?: (text: string) => void;
  /**
   * The program and everything it started die when this process dies in any way, `kill -9`
   * included: SIGTERM within milliseconds, SIGKILL after `killGraceMs` (at most 2 s). A small `/bin/sh`
   * watchdog leads the group and runs the program (no shell parsing); `pid` is then the watchdog's.
   * "Everything" is the process group plus the processes that left it but carry the run's tag
   * (`AGENTVISOR_PROCESS_TAG` in the program's env, inherited): the agent CLIs' tool shells run in
   * sessions of their own. Stops, timeouts and leftovers after the exit reach them too. A program
   * that exits with 128+N on its own is reported as killed by signal N. @default false
   */
  readonly dieWithParent?: boolean;
}

/** Why a program could not be started: the errno code (`ENOENT`, `EACCES`, ...) and a message naming the command. */
export interface SpawnFailure {
  readonly code: string;
  readonly message: string;
}

export interface ProcessResult {
  /** `null` when the process was ended by a signal or never started. */
  readonly exitCode: number | null;
  /** The signal that ended the process (`SIGTERM`, `SIGKILL`), else `null`. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The run hit `timeoutMs` and was stopped. */
  readonly timedOut: boolean;
  /** The run was stopped by `signal` or `stop()`. */
  readonly aborted: boolean;
  /** Some output was dropped (see `omittedBytes`); the text then holds an `[agentvisor: N bytes omitted]` line. */
  readonly truncated: boolean;
  readonly omittedBytes: { readonly stdout: number; readonly stderr: number };
  /** From spawn to the last output stream closing (ms). */
  readonly durationMs: number;
  /** Set when the program could not be started at all; every other field is then empty. */
  readonly spawnError?: SpawnFailure;
}

export interface RunningProcess {
  /** `undefined` when spawning failed. */
  readonly pid: number | undefined;
  readonly result: Promise<ProcessResult>;
  /** Stops the whole process group (SIGTERM, then SIGKILL after the grace period); `aborted` is set. */
  stop(): void;
}

/** How long a program's output may stay open after it exited, its group gone, before the tagged processes are looked for. */
const LEFTOVER_SCAN_WAIT_MS = 20;

/** The longest a run may take, and the longest grace between SIGTERM and SIGKILL: one day. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** The most output kept per stream of a run: 512 MiB. */
export const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

function validate(options: RunProcessOptions): void {
  if (typeof options.command !== 'string' || options.command === '' || options.command.includes('\0'))
    throw invalid('command', 'command must be a non-empty string');
  if (!Array.isArray(options.args) || !options.args.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
    throw invalid('args', 'args must be an array of strings without NUL characters');
  }
  if (
    typeof options.env !== 'object' ||
    options.env === null ||
    !Object.values(options.env).every((value) => typeof value === 'string')
  ) {
    throw invalid('env', 'env must be an object of string values');
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1 || options.timeoutMs > MAX_TIMEOUT_MS) {
    throw invalid('timeoutMs', `timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  if (
    !Number.isInteger(options.maxOutputBytes) ||
    options.maxOutputBytes < 0 ||
    options.maxOutputBytes > MAX_OUTPUT_BYTES
  ) {
    throw invalid('maxOutputBytes', `maxOutputBytes must be a whole number from 0 to ${MAX_OUTPUT_BYTES}`);
  }
  const grace = options.killGraceMs ?? 2000;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_TIMEOUT_MS)
    throw invalid('killGraceMs', 'killGraceMs must be a whole number of milliseconds, 0 or more');
  if (options.stdin !== undefined && typeof options.stdin !== 'string')
    throw invalid('stdin', "stdin must be 'ignore' or a string");
  if (options.dieWithParent !== undefined && typeof options.dieWithParent !== 'boolean')
    throw invalid('dieWithParent', 'dieWithParent must be true or false');
}

function emptyResult(fields: Partial<ProcessResult>): ProcessResult {
  return {
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    aborted: false,
    truncated: false,
    omittedBytes: { stdout: 0, stderr: 0 },
    durationMs: 0,
    ...fields,
  };
}

function spawnFailure(command: string, cwd: string | undefined, err: unknown): SpawnFailure {
  const code =
    typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
      ? (err as { code: string }).code
      : 'ESPAWN';
  // A missing working directory also fails with ENOENT: say which of the two is missing.
  if (code === 'ENOENT' && cwd !== undefined && !fs.existsSync(cwd))
    return { code, message: `${command}: the working directory does not exist [${code}]` };
  const reason =
    code === 'ENOENT'
      ? 'not found (check the path or PATH)'
      : code === 'EACCES'
        ? 'not executable (permission denied)'
        : 'could not be started';
  return { code, message: `${command}: ${reason} [${code}]` };
}

/**
 * Starts a program without a shell, in its own process group, and collects its output with a size
 * limit. Stopping (timeout, abort, `stop()`) signals the whole group, grandchildren included:
 * SIGTERM, then SIGKILL after `killGraceMs`. When the program exits on its own, whatever it left
 * running in its group is stopped the same way. With `dieWithParent` the group (and the tagged
 * processes that left it) also dies when this process is killed, even by `kill -9`, when no exit
 * hook runs. The result never rejects for what the program does: a program that cannot be started gives `spawnError`. Throws `AgentvisorError`
 * `'invalid-option'` only for malformed options.
 *
 * @example
 * const run = startProcess({ command: 'codex', args: ['exec', '--json', 'say pong'], env, timeoutMs: 60_000, maxOutputBytes: 1 << 20 });
 * onCancel(() => run.stop());
 * const { exitCode, stdout } = await run.result;
 */
export function startProcess(options: RunProcessOptions): RunningProcess {
  validate(options);
  const started = performance.now();
  const grace = options.killGraceMs ?? 2000;
  if (options.signal?.aborted === true) {
    return { pid: undefined, result: Promise.resolve(emptyResult({ aborted: true })), stop: () => undefined };
  }

  const watchdog = options.dieWithParent === true;
  if (watchdog) {
    // The watchdog shell always starts: report a program that cannot as a direct spawn would.
    const unavailable = commandUnavailable(options.command, options.env, options.cwd);
    if (unavailable !== null)
      return {
        pid: undefined,
        result: Promise.resolve(
          emptyResult({ spawnError: spawnFailure(options.command, options.cwd, { code: unavailable }) }),
        ),
        stop: () => undefined,
      };
  }
  const tag = watchdog ? newProcessTag() : null;
  const target =
    tag !== null
      ? watchdogInvocation(options.command, options.args, options.env, grace, tag)
      : { command: options.command, args: [...options.args], env: { ...options.env } };
  const stdin = options.stdin === undefined || options.stdin === 'ignore' ? 'ignore' : 'pipe';
  const stdio: StdioOptions = watchdog ? [stdin, 'pipe', 'pipe', 'pipe'] : [stdin, 'pipe', 'pipe'];

  let child: ChildProcess;
  try {
    child = spawn(target.command, target.args, {
      cwd: options.cwd,
      env: target.env,
      detached: true, // its own process group (setsid), so the group can be signalled as one
      stdio,
      shell: false,
      windowsHide: true,
    });
  } catch (err) {
    // Synchronous failures (a bad cwd type, EPERM on some systems) end up here; ENOENT arrives as an event.
    return {
      pid: undefined,
      result: Promise.resolve(emptyResult({ spawnError: spawnFailure(options.command, options.cwd, err) })),
      stop: () => undefined,
    };
  }

  const stdout = new OutputCapture(options.maxOutputBytes);
  const stderr = new OutputCapture(options.maxOutputBytes);
  let timedOut = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  let killAt = 0;
  let settled = false;
  const pgid = child.pid;

  const terminate = (): void => {
    // Once settled the group is gone and its id may be reused: never signal it again.
    if (pgid === undefined || killTimer !== undefined || settled) return;
    signalRun(pgid, tag, 'SIGTERM');
    killAt = Date.now() + grace;
    killTimer = setTimeout(() => signalRun(pgid, tag, 'SIGKILL'), grace);
    killTimer.unref();
  };
  const stop = (): void => {
    if (settled) return;
    if (!timedOut) aborted = true;
    terminate();
  };

  const result = new Promise<ProcessResult>((resolve) => {
    let closeCap: NodeJS.Timeout | undefined;
    /** Set when the program exited with its group gone: the scan for tagged processes that left it is still due. */
    let leftoverScan: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timeout = setTimeout(() => {
      if (!aborted) timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = (): void => stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (spawnError?: SpawnFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(closeCap);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      const scanDue = leftoverScan !== undefined && tag !== null;
      // A scan still due keeps the tag tracked: should this process exit before it, the exit hook kills what carries it.
      if (pgid !== undefined) settleRun(pgid, scanDue ? null : tag, killTimer === undefined ? null : killAt);
      if (scanDue) {
        clearTimeout(leftoverScan);
        // After the caller's continuation has started its own I/O (settling, removing the home): the
        // /proc scan (5-15 ms of this thread) then runs while that I/O is in flight, not before it.
        setImmediate(() => stopTaggedLeftovers(tag, grace));
      }
      if (spawnError !== undefined)
        return resolve(emptyResult({ spawnError, durationMs: Math.round(performance.now() - started) }));
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        aborted,
        truncated: stdout.omittedBytes > 0 || stderr.omittedBytes > 0,
        omittedBytes: { stdout: stdout.omittedBytes, stderr: stderr.omittedBytes },
        durationMs: Math.round(performance.now() - started),
      });
    };

    const decoder = options.onStdout === undefined ? null : new StringDecoder('utf8');
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      if (decoder !== null) options.onStdout?.(decoder.write(chunk));
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      // 'error' without a pid: the program never ran. With a pid it is a failed kill; 'close' still follows.
      if (child.pid === undefined) finish(spawnFailure(options.command, options.cwd, err));
    });
    // The lifeline: this end closing (here or at this process's death) makes the watchdog kill the group.
    const lifeline = watchdog ? child.stdio[LIFELINE_FD] : null;
    lifeline?.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      exit = watchdog ? watchdogExitStatus(code, signal) : { code, signal };
      // The leader is gone; anything it left in its group goes too, and a descendant that escaped
      // the group (its own setsid) cannot hold the result open past the grace period. With the
      // group gone, the scan for such descendants waits for the result (see finish), unless the
      // output stays open past LEFTOVER_SCAN_WAIT_MS: then one of them may hold it, and the scan runs then.
      if (pgid !== undefined && groupHasProcesses(pgid)) terminate();
      else if (pgid !== undefined && tag !== null)
        leftoverScan = setTimeout(() => {
          leftoverScan = undefined;
          if (!settled && runHasProcesses(pgid, tag)) terminate();
        }, LEFTOVER_SCAN_WAIT_MS);
      closeCap = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        lifeline?.destroy();
        finish();
      }, grace + 500);
      closeCap.unref();
    });
    child.once('close', () => finish());

    if (typeof options.stdin === 'string' && options.stdin !== 'ignore' && child.stdin !== null) {
      child.stdin.on('error', () => undefined); // EPIPE: the program exited without reading its input
      child.stdin.end(options.stdin);
    }
  });

  if (pgid !== undefined) trackRun(pgid, tag);
  return { pid: pgid, result, stop };
}

/**
 * Runs a program to the end (see `startProcess`) and returns its exit status and output.
 *
 * @example
 * const r = await runProcess({
 *   command: process.execPath, args: ['-e', 'console.log(1)'], env: { PATH: process.env.PATH ?? '' }, timeoutMs: 5000, maxOutputBytes: 65536,
 * });
 * r.exitCode; // 0
 * r.stdout;   // '1\n'
 */
export function runProcess(options: RunProcessOptions): Promise<ProcessResult> {
  return startProcess(options).result;
}
