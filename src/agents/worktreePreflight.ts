import {
  gitOrThrow,
  listed,
  listWorktrees,
  MAX_LISTED,
  runGit,
  shellWord,
  statusPaths,
  withWorktreeQueue,
  workspaceError,
} from './gitCommand';
import type { GitOptions } from './gitCommand';

/**
 * The checks `planWorktrees` makes before any task gets a worktree: the task branches' names, the
 * branches an earlier run left, and a clean main checkout. Each throws `invalid-workspace`.
 */

/** Every task branch is `agentvisor/<id>`. */
export const TASK_BRANCH_PREFIX = 'agentvisor/';

/**
 * Every id makes a valid branch (`git check-ref-format --branch`), and no branch is a folder of
 * another (`'invalid-branch-name'`, `'branch-conflict'`).
 *
 * @example
 * await checkBranchNames(new Map([['t1', 'agentvisor/t1']]), repoRoot, {});
 */
export async function checkBranchNames(
  branches: ReadonlyMap<string, string>,
  repoRoot: string,
  options: GitOptions,
): Promise<void> {
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
      `these task ids cannot be part of a git branch name (agentvisor/<id>): ${listed(ids.map((id) => JSON.stringify(id)))}. ` +
        "A branch name may not contain ':', '..', '@{', '//', spaces or control characters, " +
        "nor have a part that starts with '.' or ends with '.lock', nor end with '/' or '.': rename these tasks.",
      { taskIds: ids },
    );
  }
  const names = new Set(branches.values());
  const clashes = [...branches]
    .filter(([, branch]) => ancestors(branch).some((prefix) => names.has(prefix)))
    .map(([id]) => id);
  if (clashes.length > 0) {
    const message =
      'git cannot have both a branch and a folder of branches with one name, so these task ids clash with a shorter id: ' +
      `${listed(clashes.map((id) => JSON.stringify(id)))} (e.g. "a" and "a/b"): rename them.`;
    throw workspaceError('branch-conflict', message, { taskIds: clashes });
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

/**
 * No task branch exists yet, nor clashes with an existing one (`'branch-exists'`, naming the worktrees that use them).
 *
 * @example
 * await checkExistingBranches(new Map([['t1', 'agentvisor/t1']]), repoRoot, {});
 */
export async function checkExistingBranches(
  branches: ReadonlyMap<string, string>,
  repoRoot: string,
  options: GitOptions,
): Promise<void> {
  const refs = await gitOrThrow(
    ['for-each-ref', '--format=%(refname)', `refs/heads/${TASK_BRANCH_PREFIX.slice(0, -1)}`],
    repoRoot,
    options,
    'not-a-repository',
    'could not list the branches',
  );
  const existing = new Set(
    refs.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((ref) => ref.replace(/^refs\/heads\//, '')),
  );
  if (existing.size === 0) return;
  const blocking = new Set<string>();
  const ids: string[] = [];
  for (const [id, branch] of branches) {
    const blockers = [...existing].filter(
      (name) => name === branch || ancestors(branch).includes(name) || name.startsWith(`${branch}/`),
    );
    if (blockers.length === 0) continue;
    ids.push(id);
    for (const name of blockers) blocking.add(name);
  }
  if (ids.length === 0) return;
  const names = [...blocking].sort();
  const [main, ...linked] = await withWorktreeQueue(repoRoot, () => listWorktrees(repoRoot, options));
  const worktrees = linked.filter((wt) => wt.branch !== null && blocking.has(wt.branch));
  const onMain =
    main?.branch !== null && main?.branch !== undefined && blocking.has(main.branch)
      ? ` The main checkout is on ${main.branch}: switch it to another branch first.`
      : '';
  const removeCommand = worktrees.map((wt) => `git worktree remove --force ${shellWord(wt.dir)}`).join(' && ');
  const removeFirst =
    worktrees.length === 0
      ? ''
      : ` Worktrees still use some of them: rescue any work there, then \`${removeCommand}\`.`;
  throw workspaceError(
    'branch-exists',
    `branches for ${ids.length} task(s) already exist, probably from an earlier run: ${listed(names)}. ` +
      `Keep what you need from them (merge or rename), then delete them: \`git branch -D ${names.map(shellWord).join(' ')}\`.${onMain}${removeFirst}`,
    { taskIds: ids, branches: names, worktrees },
  );
}

/**
 * The main checkout has no modified, staged or untracked files; ignored files are fine (`'dirty'`).
 *
 * @example
 * await checkClean(repoRoot, {});
 */
export async function checkClean(repoRoot: string, options: GitOptions): Promise<void> {
  // --no-optional-locks: status must not rewrite the main checkout's index (its stat cache).
  const status = await gitOrThrow(
    ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=normal'],
    repoRoot,
    options,
    'not-a-repository',
    'git status failed',
  );
  const paths = statusPaths(status.stdout);
  if (paths.length > 0) {
    throw workspaceError(
      'dirty',
      `the main checkout ${repoRoot} has uncommitted changes (${listed(paths)}). ` +
        'Every task starts from the last commit and would not see them: commit or stash them first (git stash -u), or add build output to .gitignore.',
      { repoRoot, paths: paths.slice(0, MAX_LISTED), count: paths.length },
    );
  }
}
