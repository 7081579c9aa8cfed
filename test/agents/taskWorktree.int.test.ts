/**
 * Per-task git worktrees against real git in temp folders: the preflight's refusals (which create
 * nothing), concurrent worktrees edited differently, tasks that change nothing or commit on their
 * own, a repository without an identity, hooks that must not run, a commit that fails (the worktree
 * is kept), and the main checkout left byte for byte as it was.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAgentvisorError } from '../../src/errors';
import type { AgentvisorError } from '../../src/errors';
import { withWorktreeQueue } from '../../src/agents/gitCommand';
import { createTaskWorktree, finishTaskWorktree, planWorktrees } from '../../src/agents/taskWorktree';

let root: string;
let repo: string;
let parentDir: string;

/** The test's own git: the host env without GIT_* variables (as the module does), identity given per repository. */
function git(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const clean = Object.fromEntries(
    Object.entries(env).filter(([name]) => !name.startsWith('GIT_') || name === 'GIT_CONFIG_NOSYSTEM'),
  );
  return execFileSync('git', args, {
    cwd,
    env: { ...clean, LC_ALL: 'C' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** A repository with a first commit: a.txt, b.txt, src/c.txt and a .gitignore for `ignored/`. */
function makeRepo(dir: string, identity = true, env: NodeJS.ProcessEnv = process.env): string {
  fs.mkdirSync(dir);
  git(['init', '-q', '-b', 'main'], dir, env);
  if (identity) {
    git(['config', 'user.name', 'Test User'], dir);
    git(['config', 'user.email', 'test@example.com'], dir);
  }
  write(path.join(dir, 'a.txt'), 'alpha\n');
  write(path.join(dir, 'b.txt'), 'beta\n');
  write(path.join(dir, 'src', 'c.txt'), 'gamma\n');
  write(path.join(dir, '.gitignore'), 'ignored/\n');
  git(['add', '-A'], dir, env);
  git(['-c', 'user.name=Setup', '-c', 'user.email=setup@example.com', 'commit', '-q', '-m', 'initial'], dir, env);
  return dir;
}

/** Everything about the main checkout that must not change: files, index bytes, HEAD, branches, worktrees. */
function snapshot(dir: string): Record<string, unknown> {
  const files: Record<string, string> = {};
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (rel === '.git') continue;
      if (entry.isDirectory()) walk(rel);
      else files[rel] = fs.readFileSync(path.join(dir, rel)).toString('base64');
    }
  };
  walk('');
  return {
    files,
    index: fs.readFileSync(path.join(dir, '.git', 'index')).toString('base64'),
    head: fs.readFileSync(path.join(dir, '.git', 'HEAD'), 'utf8'),
    sha: git(['rev-parse', 'HEAD'], dir),
    status: git(['--no-optional-locks', 'status', '--porcelain', '--untracked-files=all', '--ignored'], dir),
    branches: git(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'], dir),
    worktrees: git(['worktree', 'list', '--porcelain'], dir),
  };
}

async function workspaceError(promise: Promise<unknown>, reason: string): Promise<AgentvisorError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isAgentvisorError(error, 'invalid-workspace'))
    throw new Error(`expected an invalid-workspace error, got ${String(error)}`);
  expect(error.details.reason).toBe(reason);
  return error;
}

function log(branch: string, base: string): string[] {
  return git(['log', '--format=%s', `${base}..${branch}`], repo)
    .split('\n')
    .filter((line) => line !== '');
}

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'task-worktree-test-')));
  repo = makeRepo(path.join(root, 'repo'));
  parentDir = path.join(root, 'worktrees');
  fs.mkdirSync(parentDir);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('planWorktrees', () => {
  it('should return the repository root, HEAD and one branch per task, creating nothing', async () => {
    // A new mtime, same content: a plain `git status` would refresh the index's stat data and rewrite .git/index.
    fs.utimesSync(path.join(repo, 'a.txt'), new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
    const before = snapshot(repo);
    write(path.join(repo, 'ignored', 'build.log'), 'ignored files do not make the checkout dirty\n');
    const plan = await planWorktrees(path.join(repo, 'src'), ['t1', '-lead', 'x@', 'a/b']);
    fs.rmSync(path.join(repo, 'ignored'), { recursive: true });
    expect(plan.repoRoot).toBe(repo);
    expect(plan.headSha).toBe(git(['rev-parse', 'HEAD'], repo).trim());
    expect([...plan.branches]).toEqual([
      ['t1', 'agentvisor/t1'],
      ['-lead', 'agentvisor/-lead'],
      ['x@', 'agentvisor/x@'],
      ['a/b', 'agentvisor/a/b'],
    ]);
    expect(snapshot(repo)).toEqual(before);
  });

  it('should refuse a folder outside any git working tree, and a missing folder', async () => {
    const plain = path.join(root, 'plain');
    fs.mkdirSync(plain);
    const error = await workspaceError(planWorktrees(plain, ['t1']), 'not-a-repository');
    expect(error.message).toContain(plain);
    expect(error.message).toContain('not a git repository');
    await workspaceError(planWorktrees(path.join(root, 'missing'), ['t1']), 'not-a-repository');
    git(['init', '-q', '--bare', 'bare.git'], root);
    await workspaceError(planWorktrees(path.join(root, 'bare.git'), ['t1']), 'not-a-repository');
  });

  it('should refuse a repository without a commit', async () => {
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    git(['init', '-q'], empty);
    const error = await workspaceError(planWorktrees(empty, ['t1']), 'no-commit');
    expect(error.message).toMatch(/no commit yet.*commit first/);
    expect(git(['for-each-ref', 'refs/heads'], empty)).toBe('');
  });

  it('should refuse a dirty main checkout, listing up to 5 paths (modified, staged, untracked)', async () => {
    write(path.join(repo, 'a.txt'), 'changed\n');
    write(path.join(repo, 'staged.txt'), 'staged\n');
    git(['add', 'staged.txt'], repo);
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) write(path.join(repo, `${name}.txt`), name);
    write(path.join(repo, 'ignored', 'x.log'), 'ignored\n');
    const before = snapshot(repo);
    const error = await workspaceError(planWorktrees(repo, ['t1']), 'dirty');
    expect(error.details).toMatchObject({ count: 7, paths: ['a.txt', 'staged.txt', 'u1.txt', 'u2.txt', 'u3.txt'] });
    expect(error.message).toContain('a.txt, staged.txt, u1.txt, u2.txt, u3.txt and 2 more');
    expect(error.message).toMatch(/commit or stash/);
    expect(error.message).not.toContain('x.log');
    expect(snapshot(repo)).toEqual(before);
  });

  it('should name every task whose branch already exists and say how to delete them, and the worktrees using them', async () => {
    git(['branch', 'agentvisor/t1'], repo);
    git(['branch', 'agentvisor/t3'], repo);
    git(['branch', 'agentvisor/x'], repo);
    const leftover = path.join(root, 'leftover');
    git(['worktree', 'add', '-q', leftover, 'agentvisor/t3'], repo);
    const before = snapshot(repo);
    const error = await workspaceError(planWorktrees(repo, ['t1', 't2', 't3', 'x/y']), 'branch-exists');
    expect(error.details).toMatchObject({
      taskIds: ['t1', 't3', 'x/y'],
      branches: ['agentvisor/t1', 'agentvisor/t3', 'agentvisor/x'],
      worktrees: [{ dir: leftover, branch: 'agentvisor/t3' }],
    });
    expect(error.message).toContain('git branch -D agentvisor/t1 agentvisor/t3 agentvisor/x');
    expect(error.message).toContain(`git worktree remove --force ${leftover}`);
    expect(snapshot(repo)).toEqual(before);
  });

  it('should name every task id that is not a valid branch name', async () => {
    const before = snapshot(repo);
    const ids = ['ok', 'a:b', 'a..b', 'x.lock', 'a@{b', '/x', 'x/', '.hidden', 'a/.b', 'y.', 'a//b'];
    const error = await workspaceError(planWorktrees(repo, ids), 'invalid-branch-name');
    expect(error.details.taskIds).toEqual(ids.slice(1));
    expect(error.message).toContain('"a:b", "a..b", "x.lock", "a@{b", "/x" and 5 more');
    expect(snapshot(repo)).toEqual(before);
  });

  it('should refuse ids whose branches would clash (a branch and a folder of branches), and repeated ids', async () => {
    const before = snapshot(repo);
    const error = await workspaceError(planWorktrees(repo, ['a', 'a/b', 'c', 'a/b/c']), 'branch-conflict');
    expect(error.details.taskIds).toEqual(['a/b', 'a/b/c']);
    await expect(planWorktrees(repo, ['t1', 't2', 't1'])).rejects.toMatchObject({
      code: 'invalid-option',
      details: { taskIds: ['t1'] },
    });
    expect(snapshot(repo)).toEqual(before);
  });

  it('should ignore GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE in the environment', async () => {
    const other = makeRepo(path.join(root, 'other'));
    const otherBefore = snapshot(other);
    const before = snapshot(repo);
    const env = {
      ...process.env,
      GIT_DIR: path.join(other, '.git'),
      GIT_WORK_TREE: other,
      GIT_INDEX_FILE: path.join(other, '.git', 'index'),
    };
    const plan = await planWorktrees(repo, ['t1'], { env });
    expect(plan.repoRoot).toBe(repo);
    const wt = await createTaskWorktree(plan, 't1', { parentDir, env });
    write(path.join(wt.dir, 'new.txt'), 'new\n');
    const outcome = await finishTaskWorktree(wt, { message: 'task t1', env });
    expect(outcome.filesChanged).toEqual(['new.txt']);
    expect(log('agentvisor/t1', plan.headSha)).toEqual(['task t1']);
    expect(snapshot(other)).toEqual(otherBefore);
    expect(snapshot(repo)).toMatchObject({ ...before, branches: expect.stringContaining('refs/heads/agentvisor/t1') });
  });
});

describe('createTaskWorktree and finishTaskWorktree', () => {
  it('should give 3 concurrent tasks their own worktree and branch, commit the changes of each and leave the main checkout as it was', async () => {
    fs.utimesSync(path.join(repo, 'b.txt'), new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
    const before = snapshot(repo);
    const plan = await planWorktrees(repo, ['add', 'modify', 'delete']);
    const [added, modified, deleted] = await Promise.all(
      ['add', 'modify', 'delete'].map((id) => createTaskWorktree(plan, id, { parentDir })),
    );
    if (added === undefined || modified === undefined || deleted === undefined) throw new Error('missing worktree');
    for (const wt of [added, modified, deleted]) {
      expect(path.dirname(wt.dir)).toBe(parentDir);
      expect(path.basename(wt.dir)).toMatch(new RegExp(`^agentvisor-worktree-${wt.taskId}-`));
      expect(wt).toMatchObject({ branch: `agentvisor/${wt.taskId}`, baseSha: plan.headSha, repoRoot: repo });
      expect(git(['symbolic-ref', 'HEAD'], wt.dir).trim()).toBe(`refs/heads/${wt.branch}`);
      expect(fs.readFileSync(path.join(wt.dir, 'a.txt'), 'utf8')).toBe('alpha\n');
    }
    write(path.join(added.dir, 'src', 'new.txt'), 'new\n');
    fs.appendFileSync(path.join(modified.dir, 'a.txt'), 'more\n');
    fs.rmSync(path.join(deleted.dir, 'b.txt'));
    const outcomes = await Promise.all(
      [added, modified, deleted].map((wt) => finishTaskWorktree(wt, { message: `agentvisor: ${wt.taskId}` })),
    );
    expect(outcomes.map((o) => [o.branch, o.filesChanged, o.removed])).toEqual([
      ['agentvisor/add', ['src/new.txt'], true],
      ['agentvisor/modify', ['a.txt'], true],
      ['agentvisor/delete', ['b.txt'], true],
    ]);
    for (const outcome of outcomes) {
      expect(outcome.commit).toBe(git(['rev-parse', outcome.branch], repo).trim());
      expect(log(outcome.branch, plan.headSha)).toEqual([`agentvisor: ${outcome.branch.slice('agentvisor/'.length)}`]);
      expect(git(['log', '-1', '--format=%an <%ae>', outcome.branch], repo).trim()).toBe(
        'Test User <test@example.com>',
      );
    }
    expect(git(['show', 'agentvisor/add:src/new.txt'], repo)).toBe('new\n');
    expect(git(['show', 'agentvisor/modify:a.txt'], repo)).toBe('alpha\nmore\n');
    expect(fs.readdirSync(parentDir)).toEqual([]);
    expect(snapshot(repo)).toEqual({ ...before, branches: expect.any(String) });
    expect(git(['for-each-ref', '--format=%(refname)', 'refs/heads'], repo).split('\n').filter(Boolean)).toEqual([
      'refs/heads/agentvisor/add',
      'refs/heads/agentvisor/delete',
      'refs/heads/agentvisor/modify',
      'refs/heads/main',
    ]);
    // A second call reports the same and changes nothing.
    await expect(finishTaskWorktree(added, { message: 'again' })).resolves.toEqual(outcomes[0]);
  });

  it('should leave the branch at its base and report commit null when the task changed nothing', async () => {
    const plan = await planWorktrees(repo, ['idle']);
    const wt = await createTaskWorktree(plan, 'idle', { parentDir });
    write(path.join(wt.dir, 'ignored', 'cache.bin'), 'ignored output is not work\n');
    await expect(finishTaskWorktree(wt, { message: 'task idle' })).resolves.toEqual({
      branch: 'agentvisor/idle',
      commit: null,
      filesChanged: [],
      removed: true,
    });
    expect(git(['rev-parse', 'agentvisor/idle'], repo).trim()).toBe(plan.headSha);
    expect(fs.existsSync(wt.dir)).toBe(false);
    expect(git(['worktree', 'list', '--porcelain'], repo)).not.toContain(wt.dir);
  });

  it('should keep the commits the agent made itself and commit what it left uncommitted', async () => {
    const plan = await planWorktrees(repo, ['self']);
    const wt = await createTaskWorktree(plan, 'self', { parentDir });
    write(path.join(wt.dir, 'x.txt'), 'x\n');
    git(['add', 'x.txt'], wt.dir);
    git(['commit', '-q', '-m', 'agent commit'], wt.dir);
    write(path.join(wt.dir, 'src', 'c.txt'), 'changed later\n');
    const outcome = await finishTaskWorktree(wt, { message: 'task self' });
    expect(outcome.filesChanged.slice().sort()).toEqual(['src/c.txt', 'x.txt']);
    expect(log('agentvisor/self', plan.headSha)).toEqual(['task self', 'agent commit']);
    expect(outcome.commit).toBe(git(['rev-parse', 'agentvisor/self'], repo).trim());
  });

  it('should commit as agentvisor when the repository has no identity configured', async () => {
    const home = path.join(root, 'home');
    fs.mkdirSync(home);
    const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
    const bare = makeRepo(path.join(root, 'anonymous'), false, env);
    const plan = await planWorktrees(bare, ['t1'], { env });
    const wt = await createTaskWorktree(plan, 't1', { parentDir, env });
    write(path.join(wt.dir, 'new.txt'), 'new\n');
    const outcome = await finishTaskWorktree(wt, { message: 'task t1', env });
    expect(git(['log', '-1', '--format=%an <%ae>|%cn <%ce>', outcome.commit ?? 'missing'], bare, env).trim()).toBe(
      'agentvisor <agentvisor@localhost>|agentvisor <agentvisor@localhost>',
    );
    expect(() => git(['config', '--get', 'user.email'], bare, env)).toThrow();
  });

  it("should run none of the user's hooks in the worktree", async () => {
    const marker = path.join(root, 'hook-ran');
    for (const hook of ['pre-commit', 'commit-msg', 'prepare-commit-msg', 'post-commit', 'post-checkout']) {
      fs.writeFileSync(path.join(repo, '.git', 'hooks', hook), `#!/bin/sh\necho ${hook} >> '${marker}'\nexit 1\n`, {
        mode: 0o755,
      });
    }
    const plan = await planWorktrees(repo, ['hooked']);
    const wt = await createTaskWorktree(plan, 'hooked', { parentDir });
    write(path.join(wt.dir, 'new.txt'), 'new\n');
    const outcome = await finishTaskWorktree(wt, { message: 'task hooked' });
    expect(outcome.filesChanged).toEqual(['new.txt']);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('should keep the worktree when committing fails, and finish on a later call', async () => {
    const plan = await planWorktrees(repo, ['locked']);
    const wt = await createTaskWorktree(plan, 'locked', { parentDir });
    write(path.join(wt.dir, 'work.txt'), 'precious\n');
    const lock = path.join(git(['rev-parse', '--absolute-git-dir'], wt.dir).trim(), 'index.lock');
    fs.writeFileSync(lock, '');
    const error = await workspaceError(finishTaskWorktree(wt, { message: 'task locked' }), 'commit-failed');
    expect(error.details).toMatchObject({ dir: wt.dir, branch: 'agentvisor/locked', taskId: 'locked' });
    expect(error.message).toContain(wt.dir);
    expect(error.message).toContain('index.lock');
    expect(fs.readFileSync(path.join(wt.dir, 'work.txt'), 'utf8')).toBe('precious\n');
    expect(git(['worktree', 'list', '--porcelain'], repo)).toContain(wt.dir);
    expect(git(['rev-parse', 'agentvisor/locked'], repo).trim()).toBe(plan.headSha);
    fs.rmSync(lock);
    const outcome = await finishTaskWorktree(wt, { message: 'task locked' });
    expect(outcome.filesChanged).toEqual(['work.txt']);
    expect(fs.existsSync(wt.dir)).toBe(false);
  });

  it('should keep the worktree when the task left a git repository inside it (its files would be lost)', async () => {
    const plan = await planWorktrees(repo, ['nested']);
    const wt = await createTaskWorktree(plan, 'nested', { parentDir });
    const nested = path.join(wt.dir, 'lib');
    makeRepo(nested);
    const error = await workspaceError(finishTaskWorktree(wt, { message: 'task nested' }), 'nested-repository');
    expect(error.message).toContain('(lib)');
    expect(fs.readFileSync(path.join(nested, 'a.txt'), 'utf8')).toBe('alpha\n');
    git(['worktree', 'remove', '--force', wt.dir], repo);
  });

  it("should keep the worktree when the task wrote into a submodule's folder that git does not see (not checked out)", async () => {
    makeRepo(path.join(root, 'sub'));
    git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', path.join(root, 'sub'), 'vendor/sub'], repo);
    git(['commit', '-q', '-m', 'add submodule'], repo);
    const plan = await planWorktrees(repo, ['insub']);
    const wt = await createTaskWorktree(plan, 'insub', { parentDir });
    write(path.join(wt.dir, 'vendor', 'sub', 'new.txt'), 'precious\n');
    const error = await workspaceError(finishTaskWorktree(wt, { message: 'task insub' }), 'uncommitted-work');
    expect(error.message).toContain('vendor/sub');
    expect(fs.readFileSync(path.join(wt.dir, 'vendor', 'sub', 'new.txt'), 'utf8')).toBe('precious\n');
    git(['worktree', 'remove', '--force', wt.dir], repo);
    // An empty submodule folder (the task did not touch it) is no reason to keep anything.
    const idle = await createTaskWorktree(await planWorktrees(repo, ['idle']), 'idle', { parentDir });
    expect(await finishTaskWorktree(idle, { message: 'task idle' })).toMatchObject({ commit: null, removed: true });
  });

  it('should keep the worktree when the agent left it on a detached HEAD', async () => {
    const plan = await planWorktrees(repo, ['detached']);
    const wt = await createTaskWorktree(plan, 'detached', { parentDir });
    git(['checkout', '-q', '--detach'], wt.dir);
    write(path.join(wt.dir, 'x.txt'), 'x\n');
    const error = await workspaceError(finishTaskWorktree(wt, { message: 'task detached' }), 'branch-switched');
    expect(error.message).toContain('detached HEAD');
    expect(fs.existsSync(path.join(wt.dir, 'x.txt'))).toBe(true);
    git(['worktree', 'remove', '--force', wt.dir], repo);
  });

  it('should retry while a ref lock is held or another worktree is half added, and leave nothing behind when that lasts', async () => {
    const plan = await planWorktrees(repo, ['t1', 't2', 't3']);
    const before = snapshot(repo);
    const lock = path.join(repo, '.git', 'refs', 'heads', 'agentvisor', 't1.lock');
    write(lock, '');
    const error = await workspaceError(createTaskWorktree(plan, 't1', { parentDir }), 'worktree-add-failed');
    expect(error.message).toContain('t1.lock');
    expect(fs.readdirSync(parentDir)).toEqual([]);
    expect(snapshot(repo)).toEqual(before);
    const releaseLock = setTimeout(() => fs.rmSync(lock), 150);
    const first = await createTaskWorktree(plan, 't1', { parentDir });
    clearTimeout(releaseLock);
    expect(git(['symbolic-ref', 'HEAD'], first.dir).trim()).toBe('refs/heads/agentvisor/t1');
    // What another process's `git worktree add` looks like half-way: git 2.39 dies reading its empty commondir.
    const half = path.join(repo, '.git', 'worktrees', 'half');
    write(path.join(half, 'commondir'), '');
    write(path.join(half, 'gitdir'), path.join(root, 'elsewhere', '.git'));
    write(path.join(half, 'locked'), 'initializing');
    const releaseHalf = setTimeout(() => fs.rmSync(half, { recursive: true }), 150);
    const second = await createTaskWorktree(plan, 't2', { parentDir });
    clearTimeout(releaseHalf);
    expect(git(['symbolic-ref', 'HEAD'], second.dir).trim()).toBe('refs/heads/agentvisor/t2');
    await Promise.all([first, second].map((wt) => finishTaskWorktree(wt, { message: wt.taskId })));
    // A worktree that cannot be added takes its new branch with it.
    fs.rmSync(path.join(repo, '.git', 'worktrees'), { recursive: true, force: true });
    fs.writeFileSync(path.join(repo, '.git', 'worktrees'), 'not a folder');
    await workspaceError(createTaskWorktree(plan, 't3', { parentDir }), 'worktree-add-failed');
    expect(git(['for-each-ref', '--format=%(refname)', 'refs/heads/agentvisor/t3'], repo)).toBe('');
    expect(fs.readdirSync(parentDir)).toEqual([]);
  });

  it('should refuse a task outside the plan and a parentDir inside the repository, creating nothing', async () => {
    const plan = await planWorktrees(repo, ['t1']);
    const before = snapshot(repo);
    await expect(createTaskWorktree(plan, 't2', { parentDir })).rejects.toMatchObject({
      code: 'invalid-option',
      details: { field: 'taskId' },
    });
    await expect(createTaskWorktree(plan, 't1', { parentDir: path.join(repo, 'src') })).rejects.toMatchObject({
      code: 'invalid-option',
      details: { field: 'parentDir' },
    });
    expect(snapshot(repo)).toEqual(before);
  });
});

describe('withWorktreeQueue', () => {
  it('should run the work of one repository one at a time, in order, past failures, and not hold up another repository', async () => {
    const events: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async (): Promise<string> => {
        events.push(`${name}+`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      withWorktreeQueue('/repo/a', step('a1', 40, true)),
      withWorktreeQueue('/repo/a', step('a2', 5)),
      withWorktreeQueue('/repo/b', step('b1', 5)),
      withWorktreeQueue('/repo/a', step('a3', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(events.filter((e) => e.startsWith('a'))).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(events.indexOf('b1-')).toBeLessThan(events.indexOf('a1-'));
  });
});
