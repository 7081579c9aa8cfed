/**
 * runAgentBatch against a hostile world, with a small fake agent program (AGENTVISOR_CLAUDE_BIN) and
 * real git: a worktree that can no longer be created once the batch runs (another batch took the
 * branch) fails that task alone; the others finish and nothing is left running or reserved.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, planBatchWorkspaces, runAgentBatch } from '../../src';
import type { BatchTask, Orchestrator } from '../../src';

// Test key only: well-formed, never real; the fake agent never sends it anywhere.
const CLAUDE_KEY = `sk-ant-api03-${'RunAgentBatchKey'}${'k'.repeat(60)}Rb1a`;
const RESULT_LINE =
  '{"type":"result","subtype":"success","is_error":false,"result":"done","usage":{"input_tokens":10,"output_tokens":5}}';

let dir: string;
let repo: string;
let tempDir: string;
let agentBin: string;
let orch: Orchestrator;

function git(args: readonly string[], cwd: string): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'run-agent-batch-')));
  repo = path.join(dir, 'repo');
  tempDir = path.join(dir, 'homes');
  fs.mkdirSync(repo);
  fs.mkdirSync(tempDir);
  git(['init', '-q', '-b', 'main'], repo);
  fs.writeFileSync(path.join(repo, 'a.txt'), 'alpha\n');
  git(['add', '-A'], repo);
  git(['commit', '-q', '-m', 'initial'], repo);
  agentBin = path.join(dir, 'fake-claude.sh');
  fs.writeFileSync(agentBin, `#!/bin/sh\necho work > agent.txt\nsleep 0.3\necho '${RESULT_LINE}'\n`, { mode: 0o755 });
  orch = createOrchestrator({ env: { ANTHROPIC_API_KEY: CLAUDE_KEY }, credentialSources: ['env'] });
  await orch.start();
});

afterEach(async () => {
  await orch.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('runAgentBatch with worktrees', () => {
  it('should fail only the task whose branch another batch created after the check, and finish the others', async () => {
    const tasks: BatchTask[] = ['t1', 't2', 't3'].map((id, index) => ({
      id,
      task: `task ${id}`,
      agent: 'claude-code',
      estimatedTokens: 1_000,
      worktree: true,
      line: index + 1,
    }));
    const taskDefaults = {
      cwd: repo,
      tempDir,
      hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', AGENTVISOR_CLAUDE_BIN: agentBin },
    };
    const workspaces = await planBatchWorkspaces(tasks, { task: taskDefaults });
    git(['branch', 'agentvisor/t2'], repo); // another batch with the same ids, between the check and the start
    const batch = await runAgentBatch(orch, tasks, { concurrency: 3, task: taskDefaults, workspaces });
    expect(batch.results.map((r) => [r.id, r.ok, r.error?.code])).toEqual([
      ['t1', true, undefined],
      ['t2', false, 'invalid-workspace'],
      ['t3', true, undefined],
    ]);
    const refused = batch.results[1];
    expect(refused).toMatchObject({ sessionId: null, runs: 0, usage: { totalTokens: 0 } });
    expect(refused?.error?.message).toContain('agentvisor/t2');
    expect(git(['rev-parse', 'agentvisor/t2'], repo).trim()).toBe(git(['rev-parse', 'main'], repo).trim());
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
    expect(git(['worktree', 'list', '--porcelain'], repo).match(/^worktree /gm)).toHaveLength(1);
    expect(fs.readdirSync(tempDir)).toEqual([]);
  });
});
