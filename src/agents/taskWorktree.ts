import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentvisorError } from '../errors';
import {
  gitComplaint,
  gitlinkPaths,
  gitOrThrow,
  listed,
  listWorktrees,
  nulSeparated,
  runGit,
  runGitRetrying,
  shellWord,
  stagedGitlinkPaths,
  statusPaths,
  WORKTREE_CONFIG,
  withWorktreeQueue,
  workspaceError,
} from './gitCommand';
import type { GitOptions, GitOutput } from './gitCommand';
import type { WorktreePlan } from './planWorktrees';

export { planWorktrees } from './planWorktrees';
export type { WorktreePlan } from './planWorktrees';
export { TASK_BRANCH_PREFIX } from './worktreePreflight';

/** One task's checkout: a linked worktree on its own branch, in a temp folder outside the repository. */
export interface TaskWorktree {
  readonly taskId: string;
  /** The worktree folder: the agent's working directory. */
  readonly dir: string;
  readonly branch: string;
  /** The commit the branch started at. */
  readonly baseSha: string;
  readonly repoRoot: string;
}

/** What a finished task left: its branch and the files it changed since `baseSha`. */
export interface WorktreeOutcome {
  readonly branch: string;
  /** The branch tip when the task changed anything (committed by the agent or by agentvisor), else `null`. */
  readonly commit: string | null;
  /** Paths (from the repository's top) added, modified or deleted between `baseSha` and the branch tip. */
  readonly filesChanged: readonly string[];
  readonly removed: true;
}

export interface CreateTaskWorktreeOptions extends GitOptions {
  /** Where the worktree's temp folder is made; must be outside the repository. @default os.tmpdir() */
  readonly parentDir?: string;
}

export interface FinishTaskWorktreeOptions extends GitOptions {
  /** The commit message for what the agent left uncommitted. */
  readonly message: string;
}

/**
 * Gives one task of the plan its own checkout: the branch `agentvisor/<id>` at `plan.headSha`,
 * checked out as a linked worktree (`git worktree add`) in a fresh temp folder outside the
 * repository, named `agentvisor-worktree-<id>-XXXXXX`. The main checkout is not touched. Safe to
 * run for many tasks of one repository at once (this process adds one worktree of a repository at
 * a time; a lock held by another git process is retried). On failure nothing is left behind and
 * `AgentvisorError('invalid-workspace')` is thrown (`details.reason` `'branch-exists'` or
 * `'worktree-add-failed'`).
 *
 * @example
 * const wt = await createTaskWorktree(plan, 't1');
 * await runAgentTask({ ..., cwd: wt.dir });
 */
export async function createTaskWorktree(
  plan: WorktreePlan,
  taskId: string,
  options: CreateTaskWorktreeOptions = {},
): Promise<TaskWorktree> {
  const branch = plan.branches.get(taskId);
  if (branch === undefined)
    throw new AgentvisorError(
      'invalid-option',
      `task ${JSON.stringify(taskId)} is not in the worktree plan: pass its id to planWorktrees`,
      { details: { field: 'taskId', taskId } },
    );
  const parent = path.resolve(options.parentDir ?? os.tmpdir());
  const realParent = fs.existsSync(parent) ? fs.realpathSync(parent) : parent;
  if (!fs.statSync(realParent, { throwIfNoEntry: false })?.isDirectory())
    throw new AgentvisorError('invalid-option', `parentDir ${parent} is not a folder`, {
      details: { field: 'parentDir' },
    });
  const relative = path.relative(plan.repoRoot, realParent);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    throw new AgentvisorError(
      'invalid-option',
      `parentDir ${parent} is inside the repository ${plan.repoRoot}: the worktrees must be outside it`,
      { details: { field: 'parentDir' } },
    );
  }
  const prefix = path.join(realParent, `agentvisor-worktree-${taskId.replace(/[^\w.-]/g, '_').slice(0, 40)}-`);
  const failed = (output: GitOutput, reason = 'worktree-add-failed'): AgentvisorError =>
    workspaceError(
      reason,
      `could not create the worktree for task ${JSON.stringify(taskId)} on ${branch}: ${gitComplaint(output)}`,
      { taskId, branch },
    );
  const { repoRoot, headSha } = plan;
  const created = await withWorktreeQueue(repoRoot, () =>
    runGitRetrying(['branch', '--no-track', branch, headSha], repoRoot, options),
  );
  if (created.exitCode !== 0)
    throw failed(created, /already exists/.test(created.stderr) ? 'branch-exists' : 'worktree-add-failed');
  const dir = fs.mkdtempSync(prefix);
  const added = await withWorktreeQueue(repoRoot, () =>
    runGitRetrying([...WORKTREE_CONFIG, 'worktree', 'add', '--quiet', dir, branch], repoRoot, options),
  );
  if (added.exitCode === 0) return { taskId, dir, branch, baseSha: headSha, repoRoot };
  await withWorktreeQueue(repoRoot, async () => {
    await runGit(['worktree', 'remove', '--force', dir], repoRoot, options);
    fs.rmSync(dir, { recursive: true, force: true });
    await runGitRetrying(['branch', '-D', branch], repoRoot, options); // it holds nothing yet
  });
  throw failed(added);
}

/**
 * Ends a task's worktree: stages everything the agent changed (`git add -A`), commits it with
 * `message` when anything is staged (as `agentvisor <agentvisor@localhost>` only where the
 * repository has no `user.name` / `user.email`; no hooks, no signing), removes the worktree and
 * reports the files changed since `baseSha`, commits the agent made itself included. The branch
 * stays. When the work cannot be committed (or the agent left the worktree on another branch) the
 * worktree is kept and `AgentvisorError('invalid-workspace')` is thrown with `details.dir`
 * (`details.reason` `'commit-failed'`, `'branch-switched'`, `'nested-repository'`,
 * `'uncommitted-work'`, `'worktree-broken'` or `'remove-failed'`): nothing that is not on the
 * branch is ever deleted. Safe to call again (a later call reports the same outcome).
 *
 * @example
 * const outcome = await finishTaskWorktree(wt, { message: `agentvisor: ${task.id}` });
 * outcome.commit;       // the branch tip, or null when the task changed nothing
 * outcome.filesChanged; // ['src/a.ts', 'README.md']
 */
export async function finishTaskWorktree(
  wt: TaskWorktree,
  options: FinishTaskWorktreeOptions,
): Promise<WorktreeOutcome> {
  const message = options?.message;
  if (typeof message !== 'string' || message.trim() === '' || message.includes('\0'))
    throw new AgentvisorError('invalid-option', 'message must be a non-empty commit message', {
      details: { field: 'message' },
    });
  const isListed = async (): Promise<boolean> =>
    (await listWorktrees(wt.repoRoot, options)).some((listedWt) => path.resolve(listedWt.dir) === path.resolve(wt.dir));
  const registered = await withWorktreeQueue(wt.repoRoot, isListed);
  const kept = (reason: string, what: string): AgentvisorError =>
    workspaceError(
      reason,
      `${what}; the worktree ${wt.dir} was kept so nothing is lost: ` +
        `rescue what you need from it, then \`git worktree remove --force ${shellWord(wt.dir)}\`.`,
      { taskId: wt.taskId, branch: wt.branch, dir: wt.dir },
    );
  if (fs.existsSync(wt.dir)) {
    if (!registered || !fs.existsSync(path.join(wt.dir, '.git')))
      throw kept('worktree-broken', `${wt.dir} is no longer a worktree of ${wt.repoRoot}`);
    await commitWork(wt, message, options, kept);
  }
  await withWorktreeQueue(wt.repoRoot, async () => {
    if (fs.existsSync(wt.dir)) await runGit(['worktree', 'remove', '--force', wt.dir], wt.repoRoot, options);
    // Only when git still lists it: an unconditional prune would also drop the user's own worktrees on unmounted drives.
    if (registered && !fs.existsSync(wt.dir) && (await isListed()))
      await runGit(['worktree', 'prune'], wt.repoRoot, options);
  });
  if (fs.existsSync(wt.dir))
    throw kept('remove-failed', `the task's work is committed on ${wt.branch} but the worktree could not be removed`);
  const tip = await gitOrThrow(
    ['rev-parse', '--verify', '--quiet', `refs/heads/${wt.branch}^{commit}`],
    wt.repoRoot,
    options,
    'branch-missing',
    `the branch ${wt.branch} of task ${JSON.stringify(wt.taskId)} is gone`,
    { taskId: wt.taskId, branch: wt.branch },
  );
  const commit = tip.stdout.trim();
  if (commit === wt.baseSha) return { branch: wt.branch, commit: null, filesChanged: [], removed: true };
  const diff = await gitOrThrow(
    ['diff', '--name-only', '--no-renames', '-z', wt.baseSha, commit, '--'],
    wt.repoRoot,
    options,
    'branch-missing',
    `could not compare ${wt.branch} with its base`,
    { taskId: wt.taskId, branch: wt.branch },
  );
  return { branch: wt.branch, commit, filesChanged: nulSeparated(diff.stdout), removed: true };
}

async function commitWork(
  wt: TaskWorktree,
  message: string,
  options: GitOptions,
  kept: (reason: string, what: string) => AgentvisorError,
): Promise<void> {
  const git = async (args: readonly string[]): Promise<GitOutput> =>
    runGit([...WORKTREE_CONFIG, ...args], wt.dir, options);
  const head = await git(['symbolic-ref', '--quiet', 'HEAD']);
  if (head.stdout.trim() !== `refs/heads/${wt.branch}`) {
    const leftOn = head.exitCode === 0 ? head.stdout.trim().replace(/^refs\/heads\//, 'branch ') : 'a detached HEAD';
    throw kept('branch-switched', `the agent left the worktree on ${leftOn} instead of ${wt.branch}`);
  }
  const staged = await git(['add', '-A']);
  if (staged.exitCode !== 0) throw kept('commit-failed', `git add failed (${gitComplaint(staged)})`);
  const pending = await git(['diff', '--cached', '--quiet']);
  if (pending.exitCode === 1) {
    const identity: string[] = [];
    if ((await git(['config', '--get', 'user.name'])).exitCode !== 0) identity.push('-c', 'user.name=agentvisor');
    if ((await git(['config', '--get', 'user.email'])).exitCode !== 0)
      identity.push('-c', 'user.email=agentvisor@localhost');
    // --no-verify (and no hooksPath): the user's hooks are written for their own checkout; in an agent's worktree
    // a failing pre-commit hook would leave the agent's work uncommitted and a slow one would hold the batch.
    const committed = await git([...identity, 'commit', '--no-verify', '--quiet', '-m', message]);
    if (committed.exitCode !== 0) throw kept('commit-failed', `git commit failed (${gitComplaint(committed)})`);
  } else if (pending.exitCode !== 0) {
    throw kept('commit-failed', `git diff --cached failed (${gitComplaint(pending)})`);
  }
  // `worktree remove --force` deletes a nested repository's own .git: the branch would keep only a pointer to its commits.
  const changes = await git(['diff', '--raw', '-z', '--no-renames', wt.baseSha, 'HEAD']);
  if (changes.exitCode !== 0) throw kept('commit-failed', `git diff failed (${gitComplaint(changes)})`);
  const nested = gitlinkPaths(changes.stdout);
  if (nested.length > 0) {
    throw kept(
      'nested-repository',
      `the task left git repositories inside the worktree (${listed(nested)}): the branch records only their commit ids, not their files`,
    );
  }
  const left = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  if (left.exitCode !== 0 || left.stdout !== '')
    throw kept('uncommitted-work', `changes remain uncommitted after the commit (${listed(statusPaths(left.stdout))})`);
  // A submodule that is not checked out is an empty folder to git: files written into it are invisible to status.
  const gitlinks = await git(['ls-files', '--stage', '-z']);
  if (gitlinks.exitCode !== 0) throw kept('commit-failed', `git ls-files failed (${gitComplaint(gitlinks)})`);
  const hidden = stagedGitlinkPaths(gitlinks.stdout).filter((entry) => holdsUntrackedFiles(path.join(wt.dir, entry)));
  if (hidden.length > 0)
    throw kept(
      'uncommitted-work',
      `the task wrote into submodule folders that are not checked out (${listed(hidden)}): git cannot commit those files`,
    );
}

/** A real folder with entries but no `.git` of its own: what a task wrote into a submodule git has not checked out. */
function holdsUntrackedFiles(dir: string): boolean {
  try {
    if (!fs.lstatSync(dir).isDirectory() || fs.existsSync(path.join(dir, '.git'))) return false;
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false; // gone or unreadable: git status reported what it could
  }
}
