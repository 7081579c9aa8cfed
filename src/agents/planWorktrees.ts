import fs from 'node:fs';
import path from 'node:path';
import { AgentvisorError } from '../errors';
import { gitComplaint, listed, runGit, workspaceError } from './gitCommand';
import type { GitOptions } from './gitCommand';
import { checkBranchNames, checkClean, checkExistingBranches, TASK_BRANCH_PREFIX } from './worktreePreflight';

/** The preflight's result: where the worktrees come from and each task's branch. */
export interface WorktreePlan {
  /** The top folder of the main checkout. */
  readonly repoRoot: string;
  /** The commit every task's branch starts at (the main checkout's HEAD). */
  readonly headSha: string;
  /** Task id → its branch, `agentvisor/<id>`. */
  readonly branches: ReadonlyMap<string, string>;
}

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
export async function planWorktrees(
  repoDir: string,
  taskIds: readonly string[],
  options: GitOptions = {},
): Promise<WorktreePlan> {
  if (!Array.isArray(taskIds) || !taskIds.every((id) => typeof id === 'string'))
    throw new AgentvisorError('invalid-option', 'taskIds must be an array of strings', {
      details: { field: 'taskIds' },
    });
  const duplicates = [...new Set(taskIds.filter((id, index) => taskIds.indexOf(id) !== index))];
  if (duplicates.length > 0)
    throw new AgentvisorError('invalid-option', `task ids must be unique; repeated: ${listed(duplicates)}`, {
      details: { field: 'taskIds', taskIds: duplicates },
    });
  const dir = path.resolve(repoDir);
  const notRepo = (why: string): AgentvisorError =>
    workspaceError(
      'not-a-repository',
      `${dir} is not inside a git working tree (${why}): ` +
        'run in a git checkout (or `git init` and commit) to give each task its own worktree.',
      { repoDir: dir },
    );
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw notRepo('no such folder');
  const top = await runGit(['rev-parse', '--show-toplevel'], dir, options);
  if (top.exitCode !== 0) throw notRepo(gitComplaint(top));
  const repoRoot = top.stdout.replace(/\n$/, '');
  const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], repoRoot, options);
  if (head.exitCode !== 0) {
    const message =
      `the repository at ${repoRoot} has no commit yet, so there is nothing to start the task branches from: ` +
      'commit first (git add -A && git commit -m "initial commit").';
    throw workspaceError('no-commit', message, { repoRoot });
  }
  const headSha = head.stdout.trim();
  const branches = new Map(taskIds.map((id) => [id, `${TASK_BRANCH_PREFIX}${id}`]));
  await checkBranchNames(branches, repoRoot, options);
  await checkExistingBranches(branches, repoRoot, options);
  await checkClean(repoRoot, options);
  return { repoRoot, headSha, branches };
}
