import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentvisorError } from '../errors';
import { MAX_LISTED, WORKTREE_CONFIG, gitComplaint, gitlinkPaths, gitOrThrow, listWorktrees, listed, nulSeparated, runGit, runGitRetrying, shellWord, statusPaths, withWorktreeQueue, workspaceError } from './gitCommand';
import type { GitOptions, GitOutput } from './gitCommand';

/** The preflight's result: where the worktrees come from and each task's branch. */
export interface WorktreePlan {
  /** The top folder of the main checkout. */
  readonly repoRoot: string;
  /** The commit every task's branch starts at (the main checkout's HEAD). */
  readonly headSha: string;
  /** Task id → its branch, `agentvisor/<id>`. */
  readonly branches: ReadonlyMap<string, string>;
}

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

export const TASK_BRANCH_PREFIX = 'agentvisor/';
/**
 * The preflight of `agentvisor batch --worktree`, before any agent starts; it creates nothing.
 * Checks that `repoDir` is in a git working tree with at least one commit, that every task id
 * makes a valid branch `agentvisor/<id>` (per `git check-ref-format --branch`) that does not exist
 * yet and does not clash with another (`agentvisor/a` vs `agentvisor/a/b`), and that the main
 * checkout is clean (no modified, staged or untracked files; ignored files are fine). Otherwise
 * throws `AgentvisorError('invalid-workspace')` with `details.reason` `'not-a-repository'`,
 * `'no-commit'`, `'invalid-branch-name'`, `'branch-conflict'`, `'branch-exists'` or `'dirty'`,
 * naming every offending id, branch or path (up to 5 paths) and what to do. Duplicate ids are
 * `'invalid-option'`.
 *
 * @example
 * const plan = await planWorktrees(process.cwd(), tasks.map((t) => t.id));
 * plan.branches.get('t1'); // 'agentvisor/t1'
 */
export async function planWorktrees(repoDir: string, taskIds: readonly string[], options: GitOptions = {}): Promise<WorktreePlan> {
  if (!Array.isArray(taskIds) || !taskIds.every((id) => typeof id === 'string')) throw new AgentvisorError('invalid-option', 'taskIds must be an array of strings', { details: { field: 'taskIds' } });
  const duplicates = [...new Set(taskIds.filter((id, index) => taskIds.indexOf(id) !== index))];
  if (duplicates.length > 0) throw new AgentvisorError('invalid-option', `task ids must be unique; repeated: ${listed(duplicates)}`, { details: { field: 'taskIds', taskIds: duplicates } });
  const dir = path.resolve(repoDir);
  const notRepo = (why: string): AgentvisorError =>
    workspaceError('not-a-repository', `${dir} is not inside a git working tree (${why}): run in a git checkout (or \`git init\` and commit) to give each task its own worktree.`, { repoDir: dir });
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw notRepo('no such folder');
  const top = await runGit(['rev-parse', '--show-toplevel'], dir, options);
  if (top.exitCode !== 0) throw notRepo(gitComplaint(top));
  const repoRoot = top.stdout.replace(/\n$/, '');
  const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], repoRoot, options);
  if (head.exitCode !== 0) {
    throw workspaceError('no-commit', `the repository at ${repoRoot} has no commit yet, so there is nothing to start the task branches from: commit first (git add -A && git commit -m "initial commit").`, { repoRoot });
  }
  const headSha = head.stdout.trim();
  const branches = new Map(taskIds.map((id) => [id, `${TASK_BRANCH_PREFIX}${id}`]));
  await checkBranchNames(branches, repoRoot, options);
  await checkExistingBranches(branches, repoRoot, options);
  await checkClean(repoRoot, options);
  return { repoRoot, headSha, branches };
}

async function checkBranchNames(branches: ReadonlyMap<string, string>, repoRoot: string, options: GitOptions): Promise<void> {
  const invalid: string[] = [];
  const entries = [...branches];
  for (let start = 0; start < entries.length; start += 8) {
    await Promise.all(
      entries.slice(start, start + 8).map(async ([id, branch]) => {
        if (id === '' || id.includes('\0')) return invalid.push(id);
        const checked = await runGit(['check-ref-format', '--branch', branch], repoRoot, options);
        if (checked.exitCode !== 0 || checked.stdout.trim() !== branch) invalid.push(id);
      }),
    );
  }
  if (invalid.length > 0) {
    const ids = taskOrder(branches, invalid);
    throw workspaceError(
      'invalid-branch-name',
      `these task ids cannot be part of a git branch name (agentvisor/<id>): ${listed(ids.map((id) => JSON.stringify(id)))}. A branch name may not contain ':', '..', '@{', '//', spaces or control characters, nor have a part that starts with '.' or ends with '.lock', nor end with '/' or '.': rename these tasks.`,
      { taskIds: ids },
    );
  }
  const names = new Set(branches.values());
  const clashes = [...branches].filter(([, branch]) => ancestors(branch).some((prefix) => names.has(prefix))).map(([id]) => id);
  if (clashes.length > 0) {
    throw workspaceError('branch-conflict', `git cannot have both a branch and a folder of branches with one name, so these task ids clash with a shorter id: ${listed(clashes.map((id) => JSON.stringify(id)))} (e.g. "a" and "a/b"): rename them.`, { taskIds: clashes });
  }
}

/** 'agentvisor/a/b' → ['agentvisor', 'agentvisor/a']. */
function ancestors(ref: string): string[] {
  const parts = ref.split('/');
  return parts.slice(1).map((_, index) => parts.slice(0, index + 1).join('/'));
}

function taskOrder(branches: ReadonlyMap<string, string>, ids: readonly string[]): string[] {
  return [...branches.keys()].filter((id) => ids.includes(id));
}

async function checkExistingBranches(branches: ReadonlyMap<string, string>, repoRoot: string, options: GitOptions): Promise<void> {
  const refs = await gitOrThrow(['for-each-ref', '--format=%(refname)', `refs/heads/${TASK_BRANCH_PREFIX.slice(0, -1)}`], repoRoot, options, 'not-a-repository', 'could not list the branches');
  const existing = new Set(refs.stdout.split('\n').filter((line) => line !== '').map((ref) => ref.replace(/^refs\/heads\//, '')));
  if (existing.size === 0) return;
  const blocking = new Set<string>();
  const ids: string[] = [];
  for (const [id, branch] of branches) {
    const blockers = [...existing].filter((name) => name === branch || ancestors(branch).includes(name) || name.startsWith(`${branch}/`));
    if (blockers.length === 0) continue;
    ids.push(id);
    for (const name of blockers) blocking.add(name);
  }
  if (ids.length === 0) return;
  const names = [...blocking].sort();
  const [main, ...linked] = await withWorktreeQueue(repoRoot, () => listWorktrees(repoRoot, options));
  const worktrees = linked.filter((wt) => wt.branch !== null && blocking.has(wt.branch));
  const onMain = main?.branch !== null && main?.branch !== undefined && blocking.has(main.branch) ? ` The main checkout is on ${main.branch}: switch it to another branch first.` : '';
  const removeFirst = worktrees.length === 0 ? '' : ` Worktrees still use some of them: rescue any work there, then \`${worktrees.map((wt) => `git worktree remove --force ${shellWord(wt.dir)}`).join(' && ')}\`.`;
  throw workspaceError(
    'branch-exists',
    `branches for ${ids.length} task(s) already exist, probably from an earlier run: ${listed(names)}. Keep what you need from them (merge or rename), then delete them: \`git branch -D ${names.map(shellWord).join(' ')}\`.${onMain}${removeFirst}`,
    { taskIds: ids, branches: names, worktrees },
  );
}

async function checkClean(repoRoot: string, options: GitOptions): Promise<void> {
  // --no-optional-locks: status must not rewrite the main checkout's index (its stat cache).
  const status = await gitOrThrow(['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=normal'], repoRoot, options, 'not-a-repository', 'git status failed');
  const paths = statusPaths(status.stdout);
  if (paths.length > 0) {
    throw workspaceError(
      'dirty',
      `the main checkout ${repoRoot} has uncommitted changes (${listed(paths)}). Every task starts from the last commit and would not see them: commit or stash them first (git stash -u), or add build output to .gitignore.`,
      { repoRoot, paths: paths.slice(0, MAX_LISTED), count: paths.length },
    );
  }
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
export async function createTaskWorktree(plan: WorktreePlan, taskId: string, options: CreateTaskWorktreeOptions = {}): Promise<TaskWorktree> {
  const branch = plan.branches.get(taskId);
  if (branch === undefined) throw new AgentvisorError('invalid-option', `task ${JSON.stringify(taskId)} is not in the worktree plan: pass its id to planWorktrees`, { details: { field: 'taskId', taskId } });
  const parent = path.resolve(options.parentDir ?? os.tmpdir());
  const realParent = fs.existsSync(parent) ? fs.realpathSync(parent) : parent;
  if (!fs.statSync(realParent, { throwIfNoEntry: false })?.isDirectory()) throw new AgentvisorError('invalid-option', `parentDir ${parent} is not a folder`, { details: { field: 'parentDir' } });
  const relative = path.relative(plan.repoRoot, realParent);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    throw new AgentvisorError('invalid-option', `parentDir ${parent} is inside the repository ${plan.repoRoot}: the worktrees must be outside it`, { details: { field: 'parentDir' } });
  }
  const prefix = path.join(realParent, `agentvisor-worktree-${taskId.replace(/[^\w.-]/g, '_').slice(0, 40)}-`);
  const failed = (output: GitOutput, reason = 'worktree-add-failed'): AgentvisorError =>
    workspaceError(reason, `could not create the worktree for task ${JSON.stringify(taskId)} on ${branch}: ${gitComplaint(output)}`, { taskId, branch });
  const { repoRoot, headSha } = plan;
  const created = await withWorktreeQueue(repoRoot, () => runGitRetrying(['branch', '--no-track', branch, headSha], repoRoot, options));
  if (created.exitCode !== 0) throw failed(created, /already exists/.test(created.stderr) ? 'branch-exists' : 'worktree-add-failed');
  const dir = fs.mkdtempSync(prefix);
  const added = await withWorktreeQueue(repoRoot, () => runGitRetrying([...WORKTREE_CONFIG, 'worktree', 'add', '--quiet', dir, branch], repoRoot, options));
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
export async function finishTaskWorktree(wt: TaskWorktree, options: FinishTaskWorktreeOptions): Promise<WorktreeOutcome> {
  const message = options?.message;
  if (typeof message !== 'string' || message.trim() === '' || message.includes('\0')) throw new AgentvisorError('invalid-option', 'message must be a non-empty commit message', { details: { field: 'message' } });
  const isListed = async (): Promise<boolean> => (await listWorktrees(wt.repoRoot, options)).some((listedWt) => path.resolve(listedWt.dir) === path.resolve(wt.dir));
  const registered = await withWorktreeQueue(wt.repoRoot, isListed);
  const kept = (reason: string, what: string): AgentvisorError =>
    workspaceError(reason, `${what}; the worktree ${wt.dir} was kept so nothing is lost: rescue what you need from it, then \`git worktree remove --force ${shellWord(wt.dir)}\`.`, { taskId: wt.taskId, branch: wt.branch, dir: wt.dir });
  if (fs.existsSync(wt.dir)) {
    if (!registered || !fs.existsSync(path.join(wt.dir, '.git'))) throw kept('worktree-broken', `${wt.dir} is no longer a worktree of ${wt.repoRoot}`);
    await commitWork(wt, message, options, kept);
  }
  await withWorktreeQueue(wt.repoRoot, async () => {
    if (fs.existsSync(wt.dir)) await runGit(['worktree', 'remove', '--force', wt.dir], wt.repoRoot, options);
    // Only when git still lists it: an unconditional prune would also drop the user's own worktrees on unmounted drives.
    if (registered && !fs.existsSync(wt.dir) && (await isListed())) await runGit(['worktree', 'prune'], wt.repoRoot, options);
  });
  if (fs.existsSync(wt.dir)) throw kept('remove-failed', `the task's work is committed on ${wt.branch} but the worktree could not be removed`);
  const tip = await gitOrThrow(['rev-parse', '--verify', '--quiet', `refs/heads/${wt.branch}^{commit}`], wt.repoRoot, options, 'branch-missing', `the branch ${wt.branch} of task ${JSON.stringify(wt.taskId)} is gone`, { taskId: wt.taskId, branch: wt.branch });
  const commit = tip.stdout.trim();
  if (commit === wt.baseSha) return { branch: wt.branch, commit: null, filesChanged: [], removed: true };
  const diff = await gitOrThrow(['diff', '--name-only', '--no-renames', '-z', wt.baseSha, commit, '--'], wt.repoRoot, options, 'branch-missing', `could not compare ${wt.branch} with its base`, { taskId: wt.taskId, branch: wt.branch });
  return { branch: wt.branch, commit, filesChanged: nulSeparated(diff.stdout), removed: true };
}

async function commitWork(wt: TaskWorktree, message: string, options: GitOptions, kept: (reason: string, what: string) => AgentvisorError): Promise<void> {
  const git = async (args: readonly string[]): Promise<GitOutput> => runGit([...WORKTREE_CONFIG, ...args], wt.dir, options);
  const head = await git(['symbolic-ref', '--quiet', 'HEAD']);
  if (head.stdout.trim() !== `refs/heads/${wt.branch}`) {
    throw kept('branch-switched', `the agent left the worktree on ${head.exitCode === 0 ? head.stdout.trim().replace(/^refs\/heads\//, 'branch ') : 'a detached HEAD'} instead of ${wt.branch}`);
  }
  const staged = await git(['add', '-A']);
  if (staged.exitCode !== 0) throw kept('commit-failed', `git add failed (${gitComplaint(staged)})`);
  const pending = await git(['diff', '--cached', '--quiet']);
  if (pending.exitCode === 1) {
    const identity: string[] = [];
    if ((await git(['config', '--get', 'user.name'])).exitCode !== 0) identity.push('-c', 'user.name=agentvisor');
    if ((await git(['config', '--get', 'user.email'])).exitCode !== 0) identity.push('-c', 'user.email=agentvisor@localhost');
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
  if (nested.length > 0) throw kept('nested-repository', `the task left git repositories inside the worktree (${listed(nested)}): the branch records only their commit ids, not their files`);
  const left = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  if (left.exitCode !== 0 || left.stdout !== '') throw kept('uncommitted-work', `changes remain uncommitted after the commit (${listed(statusPaths(left.stdout))})`);
}
