/** The options, the result and their checks for `startProcess` (processRunner.ts). */
import fs from 'node:fs';
import { AgentvisorError } from '../errors';

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

/** The longest a run may take, and the longest grace between SIGTERM and SIGKILL: one day. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** The most output kept per stream of a run: 512 MiB. */
export const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

/**
 * Throws `AgentvisorError` `'invalid-option'` (naming the field) for malformed `startProcess` options.
 *
 * @example validateProcessOptions({ command: '', args: [], env: {}, timeoutMs: 1000, maxOutputBytes: 0 }); // throws: command
 */
export function validateProcessOptions(options: RunProcessOptions): void {
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

/**
 * A result with nothing in it but `fields`: a run that never started, or was aborted before it did.
 *
 * @example emptyResult({ aborted: true }).exitCode // null
 */
export function emptyResult(fields: Partial<ProcessResult>): ProcessResult {
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

/**
 * Why `command` could not be started, from the spawn error (a missing working directory named as such).
 *
 * @example spawnFailure('claude', '/work', { code: 'ENOENT' }) // { code: 'ENOENT', message: 'claude: not found (check the path or PATH) [ENOENT]' }
 */
export function spawnFailure(command: string, cwd: string | undefined, err: unknown): SpawnFailure {
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
