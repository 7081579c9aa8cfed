import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { OutputCapture } from './outputCapture';
import { emptyResult, spawnFailure, validateProcessOptions } from './processOptions';
import type { ProcessResult, RunProcessOptions, RunningProcess, SpawnFailure } from './processOptions';
import { LIFELINE_FD, commandUnavailable, watchdogExitStatus, watchdogInvocation } from './parentDeathWatch';
import { newProcessTag } from './processTag';
import { groupHasProcesses, runHasProcesses, settleRun, signalRun, stopTaggedLeftovers, trackRun } from './runCleanup';

export { MAX_OUTPUT_BYTES, MAX_TIMEOUT_MS } from './processOptions';
export type { ProcessResult, RunProcessOptions, RunningProcess, SpawnFailure } from './processOptions';

/** How long a program's output may stay open after it exited, its group gone, before the tagged processes are looked for. */
const LEFTOVER_SCAN_WAIT_MS = 20;

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
  validateProcessOptions(options);
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

  /** SIGTERM now (to the tagged processes too, unless `tagsLater`: their /proc scan is then due), SIGKILL after the grace. */
  const terminate = (tagsLater = false): void => {
    // Once settled the group is gone and its id may be reused: never signal it again.
    if (pgid === undefined || killTimer !== undefined || settled) return;
    signalRun(pgid, tagsLater ? null : tag, 'SIGTERM');
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
      // the group (its own setsid) cannot hold the result open past the grace period. The scan for
      // such descendants waits for the result (see finish), unless the output stays open past
      // LEFTOVER_SCAN_WAIT_MS: then one of them may hold it, and the scan runs then.
      // A group left behind is often only zombies: helpers the CLI did not reap (Claude Code's socat
      // in workspace-write) wait for init, which on some machines takes a second. The group gets its
      // SIGTERM at once either way; the tag scan waits as when the group is gone (D48).
      if (pgid !== undefined && groupHasProcesses(pgid)) terminate(tag !== null);
      if (pgid !== undefined && tag !== null)
        leftoverScan = setTimeout(() => {
          leftoverScan = undefined;
          if (settled) return;
          if (killTimer !== undefined) signalRun(pgid, tag, 'SIGTERM');
          else if (runHasProcesses(pgid, tag)) terminate();
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
