import { parseBatchTasks, permissionDenials, readClaudeCodeRun, readCodexRun } from '../../src/agents';
import { inLocalZone, localTimeZone } from '../../src/agents/agentRunReading';
import { usageLimitResetAt } from '../../src/providers';
import type { ProcessResult } from '../../src/agents';
import { isAgentvisorError } from '../../src/errors';
import { T0 } from '../helpers/timeOrigin';

function run(stdout: string, fields: Partial<ProcessResult> = {}): ProcessResult {
  return {
    exitCode: 0,
    signal: null,
    stdout,
    stderr: '',
    timedOut: false,
    aborted: false,
    truncated: false,
    omittedBytes: { stdout: 0, stderr: 0 },
    durationMs: 5,
    ...fields,
  };
}

const claudeSuccess = JSON.stringify({
  type: 'result',
  subtype: 'success',
  is_error: false,
  api_error_status: null,
  result: 'all done',
  usage: { input_tokens: 17, cache_read_input_tokens: 3, cache_creation_input_tokens: 0, output_tokens: 4 },
});

describe('readClaudeCodeRun', () => {
  it('should read a success: the result text and usage (cache reads count as input)', () => {
    expect(readClaudeCodeRun(run(`${claudeSuccess}\n`), T0)).toEqual({
      type: 'success',
      result: 'all done',
      usage: { inputTokens: 20, outputTokens: 4 },
      permissionDenials: [],
    });
  });

  it('should classify an API error result as a provider failure', () => {
    const out = JSON.stringify({
      type: 'result',
      subtype: 'success',
      is_error: true,
      api_error_status: 529,
      result: 'API Error: 529 Overloaded. This is a server-side issue',
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    const reading = readClaudeCodeRun(run(out, { exitCode: 1 }), T0);
    expect(reading).toMatchObject({
      type: 'provider-failure',
      failure: { kind: 'overloaded', status: 529, provider: 'claude' },
    });
  });

  it('should call a run without a result object an agent failure, with its exit and a masked stderr excerpt', () => {
    const key = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789';
    const reading = readClaudeCodeRun(
      run('', { exitCode: 2, stderr: `\nerror: unknown option\nkey was ${key}\n` }),
      T0,
    );
    expect(reading).toEqual({
      type: 'agent-failure',
      message: 'Claude Code exited with code 2 without printing a result: error: unknown option | key was sk-ant-…6789',
    });
    expect(readClaudeCodeRun(run('not json', { exitCode: null, signal: 'SIGKILL' }), T0)).toEqual({
      type: 'agent-failure',
      message: 'Claude Code was ended by SIGKILL without printing a result',
    });
  });

  it('should not trust a success whose process exited non-zero, but keep its usage', () => {
    expect(readClaudeCodeRun(run(claudeSuccess, { exitCode: 3 }), T0)).toEqual({
      type: 'agent-failure',
      message: 'Claude Code reported success but exited with code 3',
      usage: { inputTokens: 20, outputTokens: 4 },
    });
  });
});

describe('readCodexRun', () => {
  const lines = (...events: unknown[]) => events.map((e) => JSON.stringify(e)).join('\n');

  it('should read a success: the last agent message and the usage summed over turns', () => {
    const out = lines(
      { type: 'thread.started', thread_id: 't' },
      { type: 'turn.started' },
      { type: 'item.completed', item: { id: 'i0', type: 'agent_message', text: 'first' } },
      { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: 'final answer' } },
      { type: 'turn.completed', usage: { input_tokens: 12, cached_input_tokens: 2, output_tokens: 3 } },
    );
    expect(readCodexRun(run(`Reading additional input from stdin...\n${out}\n`), T0)).toEqual({
      type: 'success',
      result: 'final answer',
      usage: { inputTokens: 12, outputTokens: 3 },
      permissionDenials: [],
    });
  });

  it('should classify turn.failed as a provider failure', () => {
    const message = 'unexpected status 401 Unauthorized: Incorrect API key provided';
    const out = lines(
      { type: 'thread.started' },
      { type: 'turn.started' },
      { type: 'error', message },
      { type: 'turn.failed', error: { message } },
    );
    expect(readCodexRun(run(out, { exitCode: 1 }), T0)).toMatchObject({
      type: 'provider-failure',
      failure: { kind: 'auth', status: 401, provider: 'openai' },
    });
  });

  it("should read the reset time Codex prints without a zone in this process's zone, where Codex printed it", () => {
    // Codex formats resets_at in local time ("try again at 3:39 PM"). Jest gives each test file its own
    // copy of process.env, so the zone is passed here; by default it is this process's (TZ=UTC under Jest).
    const message =
      "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again at 3:39 PM.";
    const out = lines({ type: 'turn.started' }, { type: 'turn.failed', error: { message } });
    expect(readCodexRun(run(out, { exitCode: 1 }), T0, 'America/Bogota')).toMatchObject({
      type: 'provider-failure',
      failure: { kind: 'quota', resetAt: Date.UTC(2026, 0, 1, 20, 39) },
    });
    expect(localTimeZone()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    const inLocalZone = usageLimitResetAt(message, { now: T0, timeZone: localTimeZone() });
    expect(inLocalZone).not.toBeNull();
    expect(readCodexRun(run(out, { exitCode: 1 }), T0)).toMatchObject({ failure: { resetAt: inLocalZone } });
  });

  it('should call a run that printed no event an agent failure', () => {
    expect(
      readCodexRun(run('', { exitCode: 1, stderr: 'Error: CODEX_HOME points to a missing folder\n' }), T0),
    ).toEqual({
      type: 'agent-failure',
      message: 'Codex exited with code 1 without printing any event: Error: CODEX_HOME points to a missing folder',
    });
  });
});

describe('permissionDenials', () => {
  it("should keep each refused call's tool and target, never what it meant to write, masked and cut short", () => {
    const key = `sk-ant-api03-${'DenialTestKey'}${'d'.repeat(60)}Dn1a`;
    expect(
      permissionDenials([
        {
          tool_name: 'Write',
          tool_use_id: 'toolu_1',
          tool_input: { file_path: '/w/a.txt', content: `secret content ${key}` },
        },
        {
          tool_name: 'Bash',
          tool_use_id: 'toolu_2',
          tool_input: { command: `curl -H "x-api-key: ${key}" https://x`, description: 'Run a command' },
        },
        { tool_name: 'WebFetch', tool_input: { url: `https://example.com/${'p'.repeat(300)}` } },
        { tool_name: 'Mystery', tool_input: {} },
        'not an entry',
      ]),
    ).toEqual([
      { tool: 'Write', target: '/w/a.txt' },
      { tool: 'Bash', target: expect.not.stringContaining(key.slice(12, 40)) },
      { tool: 'WebFetch', target: expect.stringMatching(/^https:\/\/example\.com\/p{170,}…$/) },
      { tool: 'Mystery', target: null },
    ]);
    expect(permissionDenials(undefined)).toEqual([]);
  });
});

describe('parseBatchTasks', () => {
  function error(text: string): { message: string; details: Record<string, unknown> } {
    try {
      parseBatchTasks(text, { source: 'tasks.jsonl' });
    } catch (caught) {
      expect(isAgentvisorError(caught, 'invalid-option')).toBe(true);
      return caught as { message: string; details: Record<string, unknown> };
    }
    throw new Error('expected a throw');
  }

  it.each([null, undefined, 42, ['{"id":"a","task":"x"}']])(
    'should refuse %p for the text with invalid-option, not a TypeError',
    (text) => {
      expect(() => parseBatchTasks(text as unknown as string)).toThrow(
        expect.objectContaining({ code: 'invalid-option', message: expect.stringMatching(/text must be a string/) }),
      );
    },
  );

  it('should read one task per line, skipping blank lines, with the defaults for agent and estimate', () => {
    const text =
      '{"id":"a","task":"first"}\n\n{"id":7,"task":"second","agent":"claude","estimate":1200}\r\n{"id":"c/1","task":"third","agent":"codex"}\n';
    expect(parseBatchTasks(text, { defaultEstimate: 9000 })).toEqual([
      { id: 'a', task: 'first', agent: 'auto', estimatedTokens: 9000, line: 1 },
      { id: '7', task: 'second', agent: 'claude-code', estimatedTokens: 1200, line: 3 },
      { id: 'c/1', task: 'third', agent: 'codex', estimatedTokens: 9000, line: 4 },
    ]);
  });

  it("should read a task's own sandbox, cap, folder and worktree", () => {
    const text =
      '{"id":"w","task":"t","sandbox":"read-only","maxTokens":5000,"cwd":"pkg/a","worktree":true}\n{"id":"x","task":"t","worktree":false}\n';
    expect(parseBatchTasks(text)).toEqual([
      {
        id: 'w',
        task: 't',
        agent: 'auto',
        estimatedTokens: 50_000,
        sandbox: 'read-only',
        maxTokens: 5000,
        cwd: 'pkg/a',
        worktree: true,
        line: 1,
      },
      { id: 'x', task: 't', agent: 'auto', estimatedTokens: 50_000, worktree: false, line: 2 },
    ]);
  });

  it.each([
    [
      '{"id":"a","task":"x"}\n{"id":"b",',
      'tasks.jsonl line 2: not valid JSON: each line must be one object such as {"id":"t1","task":"fix the failing test"}',
    ],
    ['["a","b"]', 'tasks.jsonl line 1: must be a JSON object such as {"id":"t1","task":"fix the failing test"}'],
    [
      '{"id":"a","task":"x","estimte":5}',
      'tasks.jsonl line 1: unknown field "estimte": the fields are id, task, agent, estimate, sandbox, maxTokens, cwd and worktree',
    ],
    [
      '{"id":"a","task":"x","sandbox":"everything"}',
      'tasks.jsonl line 1: "sandbox" must be one of "read-only", "workspace-write", "full-access"',
    ],
    [
      '{"id":"a","task":"x","maxTokens":-5}',
      'tasks.jsonl line 1: "maxTokens" must be a whole number of tokens from 1 to 1,000,000,000',
    ],
    [
      '{"id":"a","task":"x","maxTokens":"1000"}',
      'tasks.jsonl line 1: "maxTokens" must be a whole number of tokens from 1 to 1,000,000,000',
    ],
    ['{"id":"a","task":"x","cwd":""}', 'tasks.jsonl line 1: "cwd" must be a non-empty path'],
    ['{"id":"a","task":"x","worktree":"yes"}', 'tasks.jsonl line 1: "worktree" must be true or false'],
    [
      '{"id":"a b","task":"x"}',
      'tasks.jsonl line 1: "id" must be 1-128 letters, digits or _ . : @ / - (or a whole number)',
    ],
    ['{"task":"x"}', 'tasks.jsonl line 1: "id" must be 1-128 letters, digits or _ . : @ / - (or a whole number)'],
    [
      '{"id":"a","task":"x"}\n\n{"id":"a","task":"y"}',
      'tasks.jsonl line 3: "id" "a" was already used on line 1: ids must be unique',
    ],
    ['{"id":"a","task":"  "}', 'tasks.jsonl line 1: "task" must be a non-empty string'],

    ['{"id":"a","task":"x","agent":"gpt"}', 'tasks.jsonl line 1: "agent" must be "auto", "claude" or "codex"'],
    [
      '{"id":"a","task":"x","estimate":0}',
      'tasks.jsonl line 1: "estimate" must be a whole number of tokens from 1 to 1,000,000,000',
    ],
    [
      '\n\n',
      'tasks.jsonl has no tasks: write one JSON object per line, such as {"id":"t1","task":"fix the failing test"}',
    ],
  ])('should refuse %s naming the line', (text, message) => {
    expect(error(text).message).toBe(message);
  });

  it('should refuse a task longer than an agent CLI can take as one argument (128 KiB), and take one just under', () => {
    const line = (task: string): string => JSON.stringify({ id: 'a', task });
    expect(error(line('é'.repeat(65_536))).message).toBe(
      'tasks.jsonl line 1: "task" is 131072 bytes, more than the 131071 an agent CLI can take as one argument: put the long text in a file the task names',
    );
    expect(parseBatchTasks(line('x'.repeat(131_071)))[0]?.task).toHaveLength(131_071);
  });

  it('should never quote the line itself (a task may hold anything)', () => {
    const caught = error('{"id":"a","task":"use sk-ant-api03-abcdefghijklmnopqrstuvwxyz","agent":"nope"}');
    expect(caught.message).not.toContain('sk-ant');
    expect(caught.details).toEqual({ file: 'tasks.jsonl', line: 1, field: 'agent' });
  });
});

describe('inLocalZone', () => {
  const recording = (ok: boolean) => {
    const zones: (string | undefined)[] = [];
    const classify = (zone: string | undefined) => {
      zones.push(zone);
      return { ok };
    };
    return { zones, classify };
  };

  it('should classify a success without looking the local zone up', () => {
    const { zones, classify } = recording(true);
    expect(inLocalZone(classify)).toEqual({ ok: true });
    expect(zones).toEqual([undefined]);
  });

  it('should classify a failure again in the local zone, and use a given zone as it is', () => {
    const failing = recording(false);
    inLocalZone(failing.classify);
    expect(failing.zones).toEqual([undefined, localTimeZone()]);
    const given = recording(false);
    inLocalZone(given.classify, 'Asia/Tokyo');
    expect(given.zones).toEqual(['Asia/Tokyo']);
  });
});
