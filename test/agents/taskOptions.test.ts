/**
 * runAgentTask's and runAgentBatch's options, checked by their schemas (docs/decisions.md D42):
 * the field is named, a misspelt option gets a "did you mean" hint, and a bad batch is refused
 * before any task runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkTaskOptions, DEFAULT_TASK_TIMEOUT_MS } from '../../src/agents/checkTaskOptions';
import { alreadyChecked } from '../../src/schema/checkOptions';
import { createOrchestrator, isAgentvisorError, runAgentBatch, runAgentTask } from '../../src';
import type { AgentTaskOptions, Orchestrator } from '../../src';

/** Malformed input, as a host in plain JavaScript could pass it. */
function loose<T>(value: unknown): T {
  return value as T;
}

function problemOf(call: () => unknown): { code: string; message: string } | null {
  try {
    call();
  } catch (error) {
    if (isAgentvisorError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  return null;
}

const task = { task: 'add a test', estimatedTokens: 50_000 };

describe('checkTaskOptions', () => {
  it('should fill in the defaults', () => {
    const checked = checkTaskOptions(task);
    expect(checked).toMatchObject({
      agent: 'auto',
      timeoutMs: DEFAULT_TASK_TIMEOUT_MS,
      waitMs: 0,
      sandbox: 'workspace-write',
      maxTokens: null,
    });
    expect(checked.agentId).toMatch(/^task-[0-9a-f]{8}$/);
  });

  it('should keep every valid option', () => {
    const options: AgentTaskOptions = {
      ...task,
      agent: 'codex',
      agentId: 't-1',
      sandbox: 'read-only',
      maxTokens: 9,
      timeoutMs: 5,
      waitMs: 7,
      worktree: false,
      claudeMaxRetries: 2,
    };
    expect(checkTaskOptions(options)).toEqual({
      agent: 'codex',
      agentId: 't-1',
      sandbox: 'read-only',
      maxTokens: 9,
      timeoutMs: 5,
      waitMs: 7,
    });
  });

  it.each([
    ['no options', null, /^runAgentTask's options must be an object such as \{ task, estimatedTokens \}/],
    ['a misspelt option', { ...task, timeoutms: 5 }, /^timeoutms is not an option; did you mean timeoutMs\?/],
    ['a blank task', { ...task, task: '  ' }, /^task must be a non-empty string without NUL characters/],
    [
      'a task longer than one argument may be (128 KiB)',
      { ...task, task: 'é'.repeat(65_536) },
      /^task must be at most 131071 bytes \(an agent CLI takes the task as one argument\)/,
    ],
    ['a missing estimate', { task: 'x' }, /^estimatedTokens must be a whole number from 1 to 1000000000/],
    ['an unknown agent', { ...task, agent: 'gemini' }, /^agent must be 'auto', 'claude-code' or 'codex'/],
    ['a fractional timeout', { ...task, timeoutMs: 1.5 }, /^timeoutMs must be a whole number from 1 to 86400000/],
    [
      'an unknown sandbox mode',
      { ...task, sandbox: 'none' },
      /^sandbox must be one of read-only, workspace-write, full-access/,
    ],
    ['a string worktree', { ...task, worktree: 'yes' }, /^worktree must be true or false/],
    ['a signal that is not one', { ...task, signal: {} }, /^signal must be an AbortSignal/],
  ])('should refuse %s with invalid-option naming the field', (_name, options, message) => {
    const problem = problemOf(() => checkTaskOptions(loose(options)));
    expect(problem?.code).toBe('invalid-option');
    expect(problem?.message).toMatch(message);
  });

  it('should skip the schema for options the CLI built from checked flags (alreadyChecked)', () => {
    expect(checkTaskOptions(alreadyChecked({ ...task, agentId: 'cli-1' })).agentId).toBe('cli-1');
  });
});

describe('runAgentTask and runAgentBatch refuse bad options before anything runs', () => {
  let home: string;
  let orch: Orchestrator;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'task-options-'));
    orch = createOrchestrator({ home, env: {}, credentialSources: ['env'] });
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('should reject runAgentTask with the misspelt option named', async () => {
    await expect(runAgentTask(orch, loose({ ...task, cwd: home, sandBox: 'read-only' }))).rejects.toMatchObject({
      code: 'invalid-option',
      message: expect.stringMatching(/^sandBox is not an option; did you mean sandbox\?/),
    });
  });

  it.each([
    ['a concurrency of 0', { concurrency: 0 }, /^concurrency must be a whole number from 1 to 1000/],
    ['a misspelt option', { concurency: 2 }, /^concurency is not an option; did you mean concurrency\?/],
    [
      'a misspelt task default',
      { task: { sandBox: 'read-only' } },
      /^task\.sandBox is not an option; did you mean sandbox\?/,
    ],
    ['an unknown provider', { providers: ['gemini'] }, /^providers\[0\] must be a provider: claude or openai/],
  ])('should reject runAgentBatch with %s', async (_name, options, message) => {
    await expect(runAgentBatch(orch, [], loose(options))).rejects.toMatchObject({
      code: 'invalid-option',
      message: expect.stringMatching(message),
    });
  });
});
