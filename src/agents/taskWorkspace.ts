import fs from 'node:fs';
import path from 'node:path';
import { isAgentvisorError } from '../errors';
import type { TaskWorktreeResult } from './agentTaskTypes';
import { createTaskWorktree, finishTaskWorktree, planWorktrees } from './taskWorktree';
import type { TaskWorktree, WorktreePlan } from './taskWorktree';

/** Where a task's agent works, and what happens to that place when the task ends. */
export interface TaskWorkspace {
  /** The agent's working directory. */
  readonly dir: string;
  /** With a worktree: commits the agent's changes on its branch and removes the worktree (null without one). Never rejects. */
  finish(): Promise<TaskWorktreeResult | null>;
}

export interface TaskWorkspaceInput {
  readonly cwd: string;
  readonly worktree: boolean;
  readonly taskId: string;
  readonly task: string;
  /** A batch's preflight covering this task; without it the repository is checked here. */
  readonly plan: WorktreePlan | null;
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * The commit message of a task's work: `agentvisor: <task id>: <first line of the task>` (cut to 72 characters of task).
 *
 * @example commitMessage('t1', 'fix the parser\nand its tests') // 'agentvisor: t1: fix the parser'
 */
export function commitMessage(taskId: string, task: string): string {
  const first = task.trim().split(/\r?\n/, 1)[0] ?? '';
  return `agentvisor: ${taskId}: ${first.length > 72 ? `${first.slice(0, 71)}…` : first}`;
}

/**
 * Opens the task's workspace: `cwd` itself, or a new worktree of its repository on branch
 * `agentvisor/<task id>` (rejects with `invalid-workspace`, creating nothing, when the repository
 * is unusable: not a repository, no commit, a dirty main checkout, the branch exists).
 *
 * @example
 * const workspace = await openTaskWorkspace({ cwd: repo, worktree: true, taskId: 't1', task, plan: null, hostEnv: process.env });
 * try { run(workspace.dir); } finally { const outcome = await workspace.finish(); }
 */
export async function openTaskWorkspace(input: TaskWorkspaceInput): Promise<TaskWorkspace> {
  if (!input.worktree) return { dir: input.cwd, finish: () => Promise.resolve(null) };
  const git = { env: input.hostEnv };
  const plan = input.plan ?? (await planWorktrees(input.cwd, [input.taskId], git));
  const worktree: TaskWorktree = await createTaskWorktree(plan, input.taskId, git);
  let finished: Promise<TaskWorktreeResult> | null = null;
  const finish = async (): Promise<TaskWorktreeResult> => {
    try {
      const outcome = await finishTaskWorktree(worktree, { ...git, message: commitMessage(input.taskId, input.task) });
      return { branch: outcome.branch, commit: outcome.commit, filesChanged: outcome.filesChanged };
    } catch (error) {
      // The work could not be put on the branch: the worktree stays where it is, and the result says where.
      const keptAt =
        isAgentvisorError(error) && typeof error.details.dir === 'string' ? error.details.dir : worktree.dir;
      return { branch: worktree.branch, commit: null, filesChanged: [], keptAt };
    }
  };
  // A task started in a subfolder of the checkout works in the same subfolder of its worktree.
  const inside = path.relative(plan.repoRoot, path.resolve(input.cwd));
  const sub =
    inside === '' || inside.startsWith('..') || path.isAbsolute(inside)
      ? worktree.dir
      : path.join(worktree.dir, inside);
  return {
    // An empty folder is not in git, so the worktree may lack it: the worktree's top then.
    dir: fs.existsSync(sub) ? sub : worktree.dir,
    finish: () => (finished ??= finish()),
  };
}
