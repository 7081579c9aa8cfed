import { AgentvisorError } from '../errors';
import { runProcess } from './processRunner';

/** How git is run: the environment it gets and how long one command may take. */
export interface GitOptions {
  /** The environment git starts from; every `GIT_*` variable is dropped (see `gitEnv`). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** One git command is stopped after this long (ms). @default 120000 */
  readonly timeoutMs?: number;
}

/**
 * Config for every command run in an agent's worktree. Hooks are off: they are the user's code,
 * written for their own checkout, and must not run (or block a commit) inside an agent's worktree;
 * `--no-verify` alone would still run prepare-commit-msg and post-commit. No fsmonitor daemon or
 * background gc may be started for a folder that is about to be deleted, and no signing prompt.
 *
 * @example runGit([...WORKTREE_CONFIG, 'commit', '--no-verify', '-m', message], wt.dir, options)
 */
export const WORKTREE_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'gc.auto=0',
  '-c',
  'maintenance.auto=false',
  '-c',
  'commit.gpgsign=false',
];

/** What a git command printed and how it exited (a non-zero exit is not an error here). */
export interface GitOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How long one git command may take unless `timeoutMs` says otherwise (ms). */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
/** These only choose which of the user's config files git reads, like HOME does; they never point git at another repository. */
const KEPT_GIT_VARIABLES = new Set(['GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM']);
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/**
 * Failures that pass: another git process held a lock file, or was half-way through `git worktree
 * add` (git 2.39 dies reading the new worktree's unfinished `commondir`: "failed to read
 * .git/worktrees/<name>/commondir: Success").
 */
const TRANSIENT_FAILURE =
  /Unable to create '[^']*\.lock': File exists|cannot lock ref|could not lock config file|failed to read [^\n]*worktrees\//;
const TRANSIENT_RETRY_DELAYS_MS = [50, 100, 200, 400];
/** Per repository, the tail of the queue of work that adds, lists or removes its worktrees. */
const worktreeQueues = new Map<string, Promise<void>>();

/** What git needs from the host to find the user's config (identity, excludes): nothing else, so no credential reaches git or the filters it runs. */
const KEPT_HOST_VARIABLES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'XDG_CONFIG_HOME',
  'TMPDIR',
  ...KEPT_GIT_VARIABLES,
]);

/**
 * The environment for git: only the host variables that locate the user's config files
 * (`PATH`, `HOME`, `USER`, `LOGNAME`, `XDG_CONFIG_HOME`, `TMPDIR` and the three `GIT_CONFIG_*`
 * selectors). No other `GIT_*` variable passes (a `GIT_DIR`, `GIT_WORK_TREE` or `GIT_INDEX_FILE`
 * set by a hook or an editor would point git at the user's repository instead of the one named by
 * its working directory), and no credential does. Plus `GIT_TERMINAL_PROMPT=0` (never wait for a
 * password) and `LC_ALL=C` (messages in English, so a lock failure can be recognised).
 *
 * @example
 * gitEnv({ PATH: '/usr/bin', GIT_DIR: '/home/me/repo/.git', ANTHROPIC_API_KEY: 'sk-ant-…' }) // { PATH: '/usr/bin', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }
 */
export function gitEnv(hostEnv: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(hostEnv)) {
    if (value !== undefined && KEPT_HOST_VARIABLES.has(name)) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  return env;
}

/**
 * Runs `git <args>` in `cwd` without a shell and resolves with its exit code and output, whatever
 * the code. Throws `AgentvisorError('invalid-workspace')` only when git could not run at all
 * (`details.reason: 'git-unavailable'`) or did not finish within `timeoutMs` (`'git-timeout'`).
 *
 * @example
 * const { exitCode, stdout } = await runGit(['rev-parse', 'HEAD'], repoDir, { env: process.env });
 */
export async function runGit(args: readonly string[], cwd: string, options: GitOptions = {}): Promise<GitOutput> {
  const result = await runProcess({
    command: 'git',
    args,
    cwd,
    env: gitEnv(options.env),
    timeoutMs: options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS,
    maxOutputBytes: MAX_OUTPUT_BYTES,
    killGraceMs: 1000,
  });
  const command = `git ${args.slice(0, 2).join(' ')}`;
  if (result.spawnError !== undefined) {
    throw new AgentvisorError(
      'invalid-workspace',
      `${command} could not be started: ${result.spawnError.message}. Install git or put it on PATH.`,
      { details: { reason: 'git-unavailable', cwd, errno: result.spawnError.code } },
    );
  }
  if (result.timedOut || result.exitCode === null) {
    throw new AgentvisorError(
      'invalid-workspace',
      `${command} in ${cwd} did not finish within ${options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS} ms (or was killed): check the repository, or raise timeoutMs.`,
      { details: { reason: 'git-timeout', cwd } },
    );
  }
  if (result.truncated)
    throw new AgentvisorError('invalid-workspace', `${command} printed more than ${MAX_OUTPUT_BYTES} bytes`, {
      details: { reason: 'git-output-too-large', cwd },
    });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/**
 * An `AgentvisorError('invalid-workspace')` with `details.reason`.
 *
 * @example throw workspaceError('dirty', 'commit or stash your changes first', { repoRoot });
 */
export function workspaceError(
  reason: string,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): AgentvisorError {
  return new AgentvisorError('invalid-workspace', message, { details: { reason, ...details } });
}

/**
 * Like `runGit`, but a non-zero exit throws `workspaceError(reason)` with `what` and git's complaint.
 *
 * @example const head = await gitOrThrow(['rev-parse', 'HEAD'], repoRoot, options, 'no-commit', 'no HEAD');
 */
export async function gitOrThrow(
  args: readonly string[],
  cwd: string,
  options: GitOptions,
  reason: string,
  what: string,
  details: Readonly<Record<string, unknown>> = {},
): Promise<GitOutput> {
  const output = await runGit(args, cwd, options);
  if (output.exitCode !== 0) throw workspaceError(reason, `${what}: ${gitComplaint(output)}`, details);
  return output;
}

/** Messages name at most this many paths, branches or ids. */
export const MAX_LISTED = 5;

/**
 * The first `MAX_LISTED` items, comma-separated, and how many more there are.
 *
 * @example listed(['a', 'b', 'c', 'd', 'e', 'f', 'g']) // 'a, b, c, d, e and 2 more'
 */
export function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

/**
 * A word as it must be typed in a POSIX shell, for the commands that messages suggest.
 *
 * @example shellWord("it's") // "'it'\\''s'"
 */
export function shellWord(word: string): string {
  return /^[\w.@/+:=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * True when git failed for a reason that passes by itself: a lock file held by another git
 * process, or another `git worktree add` half-way done. Worth a retry after a short wait.
 *
 * @example if (isTransientFailure(output)) await delay(100);
 */
export function isTransientFailure(output: GitOutput): boolean {
  return output.exitCode !== 0 && TRANSIENT_FAILURE.test(output.stderr);
}

/**
 * Like `runGit`, but a transient failure (see `isTransientFailure`) is tried again, up to 4 times
 * over 750 ms; the last output is returned either way.
 *
 * @example const created = await runGitRetrying(['branch', '--no-track', branch, sha], repoRoot, options);
 */
export async function runGitRetrying(
  args: readonly string[],
  cwd: string,
  options: GitOptions = {},
): Promise<GitOutput> {
  let output = await runGit(args, cwd, options);
  for (const delayMs of TRANSIENT_RETRY_DELAYS_MS) {
    if (!isTransientFailure(output)) break;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    output = await runGit(args, cwd, options);
  }
  return output;
}

/**
 * Runs `work` after every earlier `work` for the same repository has settled, so this process
 * never lists or removes worktrees (or checks a branch out) while it is adding another: every git
 * command that looks at all worktrees can die on one that `git worktree add` has not finished.
 *
 * @example const wt = await withWorktreeQueue(repoRoot, () => addWorktree(plan, branch, dir));
 */
export function withWorktreeQueue<T>(repoRoot: string, work: () => Promise<T>): Promise<T> {
  const run = (worktreeQueues.get(repoRoot) ?? Promise.resolve()).then(work);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  worktreeQueues.set(repoRoot, tail);
  void tail.then(() => {
    if (worktreeQueues.get(repoRoot) === tail) worktreeQueues.delete(repoRoot);
  });
  return run;
}

/**
 * The gist of git's complaint for a message: its `fatal:`/`error:` lines (else the first lines),
 * at most 400 characters.
 *
 * @example gitComplaint({ exitCode: 128, stdout: '', stderr: 'fatal: bad revision\n' }) // 'fatal: bad revision'
 */
export function gitComplaint(output: GitOutput): string {
  const lines = output.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const pointed = lines.filter((line) => /^(fatal|error):/.test(line));
  const text = (pointed.length > 0 ? pointed : lines.slice(0, 3)).join(' ');
  return text === '' ? `git exited with code ${output.exitCode}` : text.length > 400 ? `${text.slice(0, 399)}…` : text;
}

/** Splits git's `-z` output into its NUL-terminated entries. */
export function nulSeparated(text: string): string[] {
  return text.split('\0').filter((entry) => entry !== '');
}

/**
 * The paths in `git status --porcelain=v1 -z` output (a rename's source is skipped).
 *
 * @example statusPaths(' M a.txt\0?? new/\0') // ['a.txt', 'new/']
 */
export function statusPaths(porcelainZ: string): string[] {
  const entries = nulSeparated(porcelainZ);
  const paths: string[] = [];
  for (let index = 0; index < entries.length; index += 1) {
    const entry = entries[index] ?? '';
    paths.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') index += 1;
  }
  return paths;
}

/**
 * The paths whose new side is a gitlink (mode 160000: a submodule or a repository inside the
 * worktree) in `git diff --raw -z` output.
 *
 * @example gitlinkPaths(':000000 160000 0000 abcd A\0nested\0') // ['nested']
 */
export function gitlinkPaths(rawZ: string): string[] {
  const fields = nulSeparated(rawZ);
  const paths: string[] = [];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if ((fields[index] ?? '').split(' ')[1] === '160000') paths.push(fields[index + 1] ?? '');
  }
  return paths;
}

/**
 * The paths of the gitlinks (submodules) in `git ls-files --stage -z` output.
 *
 * @example stagedGitlinkPaths('160000 ab12… 0\tvendor/lib\0100644 cd34… 0\ta.txt\0') // ['vendor/lib']
 */
export function stagedGitlinkPaths(lsFilesZ: string): string[] {
  return nulSeparated(lsFilesZ)
    .filter((entry) => entry.startsWith('160000 '))
    .map((entry) => entry.slice(entry.indexOf('\t') + 1));
}

/** One entry of `git worktree list`: its folder and the branch checked out there (`null`: detached or bare). */
export interface ListedWorktree {
  readonly dir: string;
  readonly branch: string | null;
}

/**
 * The worktrees of the repository at `repoRoot`, the main checkout first (`git worktree list --porcelain -z`).
 *
 * @example (await listWorktrees(repoRoot)).map((wt) => wt.dir)
 */
export async function listWorktrees(repoRoot: string, options: GitOptions = {}): Promise<ListedWorktree[]> {
  const list = await runGitRetrying(['worktree', 'list', '--porcelain', '-z'], repoRoot, options);
  if (list.exitCode !== 0)
    throw new AgentvisorError(
      'invalid-workspace',
      `could not list the worktrees of ${repoRoot}: ${gitComplaint(list)}`,
      { details: { reason: 'not-a-repository', repoRoot } },
    );
  const worktrees: ListedWorktree[] = [];
  for (const field of list.stdout.split('\0')) {
    if (field.startsWith('worktree ')) worktrees.push({ dir: field.slice('worktree '.length), branch: null });
    const last = worktrees.at(-1);
    if (field.startsWith('branch refs/heads/') && last !== undefined)
      worktrees[worktrees.length - 1] = { ...last, branch: field.slice('branch refs/heads/'.length) };
  }
  return worktrees;
}
