/**
 * The real Claude Code and Codex CLIs driven by the provider API fake into tool calls that edit
 * files and run commands: which permission / sandbox flags let them act, how refusals look, and
 * which output lines carry usage while an agent loops. docs/sandbox.md ("Tool calls: agents that
 * edit files") records the same observations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { editFileScript, fakeStep, runawayScript, toolTurnScript } from '../../src/sandbox';
import type { FakeScript } from '../../src/sandbox';
import { runToolCase, TOOL_RUN_KEYS, turnUsage } from '../helpers/agentToolRuns';
import type { ToolRun, ToolRunCase } from '../helpers/agentToolRuns';
import { agentBin, mapWithConcurrency } from '../helpers/cliHome';

const IS_ROOT = process.getuid?.() === 0;
// Claude Code's sandbox needs bubblewrap and socat; without them it runs commands unsandboxed, so they need approval.
const HAS_BUBBLEWRAP = ['bwrap', 'socat'].every((bin) =>
  ['/usr/local/bin', '/usr/bin', '/bin'].some((dir) => fs.existsSync(path.join(dir, bin))),
);
const NOTE = 'hello from the fake\n';
const NODE_WRITE = `node -e "require('fs').writeFileSync('ran.txt', 'ran')"`;
const IN_AND_OUT = 'echo in > in.txt; echo out > ../outside.txt; echo ok';
const ROOT_REFUSAL = '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n';

const commands = (...list: string[]): FakeScript =>
  toolTurnScript([
    ...list.map((command, i) => fakeStep.toolCall({ kind: 'shell', command }, { usage: turnUsage(i + 1) })),
    fakeStep.reply({ text: 'done', usage: turnUsage(list.length + 1) }),
  ]);
const loop = toolTurnScript([
  fakeStep.toolCall({ kind: 'shell', command: 'echo one' }, { text: 'Running one.', usage: turnUsage(1) }),
  fakeStep.toolCall(
    { kind: 'write', path: 'two.txt', content: 'two\n' },
    { text: 'Writing two.', usage: turnUsage(2) },
  ),
  fakeStep.reply({ text: 'all done', usage: turnUsage(3) }),
]);
const edit = editFileScript({ path: 'notes.txt', content: NOTE, usagePerTurn: turnUsage(1) });
const runaway = runawayScript({ usagePerTurn: turnUsage(1) });
const json = ['--output-format', 'json'];
const streamJson = ['--verbose', '--output-format', 'stream-json', '--permission-mode', 'acceptEdits'];
const acceptEdits = [...json, '--permission-mode', 'acceptEdits'];
const autoAllow = fakeStep.reply({ text: '<block>no</block>', usage: turnUsage(9) });

const CASES: readonly ToolRunCase[] = [
  { name: 'claude write acceptEdits', cli: 'claude', flags: acceptEdits, script: edit },
  { name: 'claude write', cli: 'claude', flags: json, script: edit },
  {
    name: 'claude bash acceptEdits',
    cli: 'claude',
    flags: acceptEdits,
    script: commands('touch touched.txt', NODE_WRITE),
  },
  { name: 'claude bash', cli: 'claude', flags: json, script: commands('ls', 'touch touched.txt') },
  {
    name: 'claude bash dontAsk',
    cli: 'claude',
    flags: [...json, '--permission-mode', 'dontAsk'],
    script: commands('touch touched.txt'),
  },
  {
    name: 'claude allowedTools Bash',
    cli: 'claude',
    flags: [...json, '--allowedTools', 'Bash'],
    script: commands(NODE_WRITE),
  },
  {
    name: 'claude allowedTools Bash(node:*)',
    cli: 'claude',
    flags: [...json, '--allowedTools', 'Bash(node:*)'],
    script: commands(NODE_WRITE, 'git init -q'),
  },
  {
    name: 'claude auto',
    cli: 'claude',
    flags: [...json, '--permission-mode', 'auto'],
    script: toolTurnScript(
      [
        fakeStep.toolCall({ kind: 'shell', command: NODE_WRITE }, { usage: turnUsage(1) }),
        fakeStep.reply({ text: 'done', usage: turnUsage(2) }),
      ],
      { sideReply: autoAllow },
    ),
  },
  {
    name: 'claude sandbox',
    cli: 'claude',
    flags: [...json, '--settings', JSON.stringify({ sandbox: { enabled: true, autoAllowBashIfSandboxed: true } })],
    script: commands(IN_AND_OUT),
  },
  {
    name: 'claude skip permissions',
    cli: 'claude',
    flags: [...json, '--dangerously-skip-permissions'],
    script: commands('git init -q'),
  },
  {
    name: 'claude bypassPermissions',
    cli: 'claude',
    flags: [...json, '--permission-mode', 'bypassPermissions'],
    script: commands('git init -q'),
  },
  {
    name: 'claude skip permissions IS_SANDBOX',
    cli: 'claude',
    flags: [...json, '--dangerously-skip-permissions'],
    script: commands('git init -q'),
    env: { IS_SANDBOX: '1' },
  },
  { name: 'claude stream-json', cli: 'claude', flags: streamJson, script: loop },
  {
    name: 'claude stream-json partial',
    cli: 'claude',
    flags: [...streamJson, '--include-partial-messages'],
    script: loop,
  },
  { name: 'claude max-turns', cli: 'claude', flags: [...acceptEdits, '--max-turns', '3'], script: runaway },
  { name: 'claude max-budget', cli: 'claude', flags: [...acceptEdits, '--max-budget-usd', '0.01'], script: runaway },
  { name: 'claude runaway', cli: 'claude', flags: streamJson, script: runaway, stopAfterRequests: 10 },
  { name: 'codex write workspace-write', cli: 'codex', flags: ['-s', 'workspace-write'], script: edit },
  { name: 'codex write', cli: 'codex', flags: [], script: edit },
  { name: 'codex shell', cli: 'codex', flags: [], script: commands('echo ran > ran.txt; echo ok') },
  {
    name: 'codex shell workspace-write',
    cli: 'codex',
    flags: [
      '-s',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.exclude_slash_tmp=true',
      '-c',
      'sandbox_workspace_write.exclude_tmpdir_env_var=true',
    ],
    script: commands(IN_AND_OUT),
  },
  {
    name: 'codex bypass',
    cli: 'codex',
    flags: ['--dangerously-bypass-approvals-and-sandbox'],
    script: commands(IN_AND_OUT),
  },
  { name: 'codex -C', cli: 'codex', flags: ['-s', 'workspace-write', '-C', '@WORK'], script: edit, cwd: 'dir' },
  { name: 'codex loop', cli: 'codex', flags: ['-s', 'workspace-write'], script: loop },
  { name: 'codex runaway', cli: 'codex', flags: ['-s', 'workspace-write'], script: runaway, stopAfterRequests: 10 },
];

const runs = new Map<string, ToolRun>();

beforeAll(async () => {
  agentBin('claude');
  agentBin('codex');
  const results = await mapWithConcurrency(CASES, 2, runToolCase);
  CASES.forEach((spec, index) => runs.set(spec.name, results[index] as ToolRun));
}, 300_000);

function run(name: string): ToolRun {
  const found = runs.get(name);
  if (found === undefined) throw new Error(`no run named ${name}`);
  return found;
}

function claudeResult(name: string): Record<string, unknown> {
  const results = run(name).lines.filter((line) => line.type === 'result');
  expect(results).toHaveLength(1);
  return results[0] as Record<string, unknown>;
}

/** What the agent was told after its last tool call. */
const told = (name: string): string | undefined => run(name).requests.at(-1)?.view.lastToolResult;
const file = (name: string, relative: string): string | undefined => run(name).files.get(relative);
const denial = (tool: string, input: Record<string, unknown>): Record<string, unknown> => ({
  tool_name: tool,
  tool_use_id: expect.stringMatching(/^toolu_fake/),
  tool_input: input,
});
const bashDenial = (command: string): Record<string, unknown> =>
  denial('Bash', { command, description: 'Run a command' });
const items = (name: string, type: string): Record<string, unknown>[] =>
  run(name).lines.flatMap((line) => ((line.item as { type?: string } | undefined)?.type === type ? [line] : []));

describe('real agent CLIs making tool calls against the provider API fake', () => {
  it('should have run every case without a spawn error, stopped only the runaways, and printed no credential', () => {
    for (const spec of CASES) {
      const { result } = run(spec.name);
      expect({ name: spec.name, spawnError: result.spawnError, stopped: result.timedOut || result.aborted }).toEqual({
        name: spec.name,
        spawnError: undefined,
        stopped: spec.stopAfterRequests !== undefined,
      });
      for (const secret of Object.values(TOOL_RUN_KEYS))
        expect(result.stdout + result.stderr).not.toContain(secret.slice(12, 40));
    }
  });

  describe('claude -p', () => {
    it('should write the file with --permission-mode acceptEdits, having been told the working directory and offered Write and Bash', () => {
      const { requests, workdir } = run('claude write acceptEdits');
      expect(file('claude write acceptEdits', 'work/notes.txt')).toBe(NOTE);
      expect(claudeResult('claude write acceptEdits')).toMatchObject({
        subtype: 'success',
        is_error: false,
        num_turns: 2,
        result: 'done',
        permission_denials: [],
      });
      expect(requests.map((r) => [r.view.toolResults, r.answer?.step])).toEqual([
        [0, 'toolCall'],
        [1, 'reply'],
      ]);
      expect(requests[0]?.view.text).toContain(`Primary working directory: ${workdir}`);
      expect(requests[0]?.view.tools).toEqual(expect.arrayContaining(['Write', 'Bash', 'Edit', 'Read']));
      expect(told('claude write acceptEdits')).toMatch(
        new RegExp(`^File created successfully at: ${workdir}/notes\\.txt`),
      );
    });

    it('should not write without a permission flag, listing the refusal in permission_denials', () => {
      const { workdir } = run('claude write');
      expect(file('claude write', 'work/notes.txt')).toBeUndefined();
      expect(run('claude write').result.exitCode).toBe(0);
      expect(claudeResult('claude write')).toMatchObject({
        subtype: 'success',
        is_error: false,
        permission_denials: [denial('Write', { file_path: `${workdir}/notes.txt`, content: NOTE })],
      });
      expect(told('claude write')).toBe(
        `Claude requested permissions to write to ${workdir}/notes.txt, but you haven't granted it yet.`,
      );
    });

    it('should let acceptEdits run file-system commands in the workdir but not other programs', () => {
      expect(file('claude bash acceptEdits', 'work/touched.txt')).toBe('');
      expect(file('claude bash acceptEdits', 'work/ran.txt')).toBeUndefined();
      expect(claudeResult('claude bash acceptEdits').permission_denials).toEqual([bashDenial(NODE_WRITE)]);
      expect(told('claude bash acceptEdits')).toBe('This command requires approval');
    });

    it('should allow only read-only commands without a flag, and deny everything it would ask about with dontAsk', () => {
      const { workdir } = run('claude bash');
      expect(run('claude bash').requests[1]?.view.lastToolResult).toBe('(Bash completed with no output)');
      expect(claudeResult('claude bash').permission_denials).toEqual([bashDenial('touch touched.txt')]);
      expect(told('claude bash')).toBe(
        `touch in '${workdir}/touched.txt' was blocked. ` +
          `For security, Claude Code may only create or modify files in the allowed working directories for this session: '${workdir}'.`,
      );
      expect(claudeResult('claude bash dontAsk').permission_denials).toEqual([bashDenial('touch touched.txt')]);
      expect(told('claude bash dontAsk')).toMatch(
        /^Permission to use Bash has been denied because Claude Code is running in don't ask mode\./,
      );
    });

    it('should run any command with --allowedTools Bash, and only matching ones with a prefix rule', () => {
      expect(file('claude allowedTools Bash', 'work/ran.txt')).toBe('ran');
      expect(claudeResult('claude allowedTools Bash').permission_denials).toEqual([]);
      expect(file('claude allowedTools Bash(node:*)', 'work/ran.txt')).toBe('ran');
      expect(file('claude allowedTools Bash(node:*)', 'work/.git')).toBeUndefined();
      expect(claudeResult('claude allowedTools Bash(node:*)').permission_denials).toEqual([bashDenial('git init -q')]);
    });

    it('should ask the model a tool-less safety question in auto mode, and leave its usage out of the result', () => {
      const { requests } = run('claude auto');
      expect(file('claude auto', 'work/ran.txt')).toBe('ran');
      expect(requests.map((r) => ({ stream: r.stream, tools: r.view.tools.length > 0 }))).toEqual([
        { stream: true, tools: true },
        { stream: false, tools: false },
        { stream: true, tools: true },
      ]);
      expect(requests[1]?.view.text).toContain('You are a security monitor for autonomous AI coding agents');
      const out = claudeResult('claude auto');
      expect(out).toMatchObject({ permission_denials: [], usage: { input_tokens: 300, output_tokens: 30 } });
      expect(Object.values(out.modelUsage as object)).toEqual([expect.objectContaining({ inputTokens: 300 })]);
    });

    it(
      HAS_BUBBLEWRAP
        ? 'should run commands in its sandbox, writable only in the workdir'
        : 'should ask before commands when the sandbox has no bubblewrap',
      () => {
        const out = claudeResult('claude sandbox');
        expect(file('claude sandbox', 'outside.txt')).toBeUndefined();
        if (HAS_BUBBLEWRAP) {
          expect(file('claude sandbox', 'work/in.txt')).toBe('in\n');
          expect(told('claude sandbox')).toContain('../outside.txt: Read-only file system');
          expect(out.permission_denials).toEqual([]);
        } else {
          expect(file('claude sandbox', 'work/in.txt')).toBeUndefined();
          expect(out.permission_denials).toEqual([bashDenial(IN_AND_OUT)]);
        }
      },
    );

    it(
      IS_ROOT
        ? 'should refuse to skip permissions as root unless IS_SANDBOX=1'
        : 'should skip permissions when not root',
      () => {
        for (const name of ['claude skip permissions', 'claude bypassPermissions']) {
          const { result, requests } = run(name);
          if (IS_ROOT)
            expect({
              exit: result.exitCode,
              stderr: result.stderr,
              stdout: result.stdout,
              requests: requests.length,
            }).toEqual({ exit: 1, stderr: ROOT_REFUSAL, stdout: '', requests: 0 });
          else expect(file(name, 'work/.git')).toBe('(dir)');
        }
        expect(file('claude skip permissions IS_SANDBOX', 'work/.git')).toBe('(dir)');
        expect(claudeResult('claude skip permissions IS_SANDBOX').permission_denials).toEqual([]);
      },
    );
  });

  describe('claude -p --verbose --output-format stream-json', () => {
    const usageAt = (n: number, output: number): Record<string, unknown> => ({
      input_tokens: 100 * n,
      cache_creation_input_tokens: 2 * n,
      cache_read_input_tokens: n,
      output_tokens: output,
      service_tier: 'standard',
    });

    it('should print one assistant line per content block, each with the message_start usage (output_tokens 1), and the totals last', () => {
      const { lines, workdir } = run('claude stream-json');
      expect(lines.map((l) => l.type)).toEqual([
        'system',
        'assistant',
        'assistant',
        'user',
        'assistant',
        'assistant',
        'user',
        'assistant',
        'result',
      ]);
      expect(lines[0]).toMatchObject({ subtype: 'init', cwd: workdir, permissionMode: 'acceptEdits' });
      const assistant = lines
        .filter((l) => l.type === 'assistant')
        .map((l) => l.message as { id: string; content: { type: string }[]; usage: unknown });
      expect(assistant.map((m) => m.content.map((c) => c.type).join())).toEqual([
        'text',
        'tool_use',
        'text',
        'tool_use',
        'text',
      ]);
      expect(new Set(assistant.map((m) => m.id)).size).toBe(3);
      expect(assistant[0]?.id).toBe(assistant[1]?.id);
      expect(assistant.map((m) => m.usage)).toEqual([
        usageAt(1, 1),
        usageAt(1, 1),
        usageAt(2, 1),
        usageAt(2, 1),
        usageAt(3, 1),
      ]);
      expect(claudeResult('claude stream-json')).toMatchObject({
        num_turns: 3,
        result: 'all done',
        usage: { input_tokens: 600, output_tokens: 60, cache_read_input_tokens: 6, cache_creation_input_tokens: 12 },
      });
      expect(file('claude stream-json', 'work/two.txt')).toBe('two\n');
    });

    it("should add stream_event lines with --include-partial-messages, whose message_delta carries each message's final usage", () => {
      const events = run('claude stream-json partial').lines.flatMap((l) =>
        l.type === 'stream_event' ? [l.event as { type: string; usage?: unknown; message?: { usage: unknown } }] : [],
      );
      expect(events.filter((e) => e.type === 'message_start').map((e) => e.message?.usage)).toEqual([
        usageAt(1, 1),
        usageAt(2, 1),
        usageAt(3, 1),
      ]);
      expect(events.filter((e) => e.type === 'message_delta').map((e) => e.usage)).toEqual([
        usageAt(1, 10),
        usageAt(2, 20),
        usageAt(3, 30),
      ]);
    });

    it('should stop at --max-turns and --max-budget-usd with an error result', () => {
      expect(run('claude max-turns').result.exitCode).toBe(1);
      expect(run('claude max-turns').requests).toHaveLength(3);
      expect(claudeResult('claude max-turns')).toMatchObject({
        subtype: 'error_max_turns',
        is_error: true,
        num_turns: 4,
        terminal_reason: 'max_turns',
        errors: ['Reached maximum number of turns (3)'],
        usage: { input_tokens: 300 },
      });
      const budget = claudeResult('claude max-budget');
      const requests = run('claude max-budget').requests.length;
      expect(budget).toMatchObject({
        subtype: 'error_max_budget_usd',
        is_error: true,
        errors: ['Reached maximum budget ($0.01)'],
      });
      expect(budget.total_cost_usd).toBeGreaterThanOrEqual(0.01);
      // modelUsage counts every answered request; `usage` misses the last one.
      expect(Object.values(budget.modelUsage as object)).toEqual([
        expect.objectContaining({ inputTokens: 100 * requests }),
      ]);
      expect(budget.usage).toMatchObject({ input_tokens: 100 * (requests - 1) });
    });

    it('should keep calling tools until killed, printing no result line', () => {
      const { requests, lines } = run('claude runaway');
      expect(requests.length).toBeGreaterThanOrEqual(10);
      expect(lines.filter((l) => l.type === 'assistant').length).toBeGreaterThanOrEqual(9);
      expect(lines.some((l) => l.type === 'result')).toBe(false);
    });
  });

  describe('codex exec --json', () => {
    it('should write the file with -s workspace-write (apply_patch inside exec), shown as file_change items', () => {
      const { requests, workdir } = run('codex write workspace-write');
      expect(file('codex write workspace-write', 'work/notes.txt')).toBe(NOTE);
      expect(requests[0]?.view.text).toContain('`sandbox_mode` is `workspace-write`');
      expect(requests[0]?.view.tools).toEqual(expect.arrayContaining(['exec', 'wait']));
      const change = { id: 'item_0', type: 'file_change', changes: [{ path: `${workdir}/notes.txt`, kind: 'add' }] };
      expect(items('codex write workspace-write', 'file_change')).toEqual([
        { type: 'item.started', item: { ...change, status: 'in_progress' } },
        { type: 'item.completed', item: { ...change, status: 'completed' } },
      ]);
      expect(run('codex write workspace-write').lines.at(-1)).toEqual({
        type: 'turn.completed',
        usage: {
          input_tokens: 200,
          cached_input_tokens: 2,
          cache_write_input_tokens: 0,
          output_tokens: 20,
          reasoning_output_tokens: 6,
        },
      });
    });

    it('should run read-only by default: the patch is rejected and no file_change item is printed', () => {
      expect(file('codex write', 'work/notes.txt')).toBeUndefined();
      expect(run('codex write').requests[0]?.view.text).toContain(
        '`sandbox_mode` is `read-only`: The sandbox only permits reading files.',
      );
      expect(told('codex write')).toContain(
        'patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings',
      );
      expect(items('codex write', 'file_change')).toEqual([]);
      expect(run('codex write').result.exitCode).toBe(0);
    });

    it('should sandbox commands on this machine: read-only everywhere by default, writable in the workdir with workspace-write', () => {
      const [done] = items('codex shell', 'command_execution').filter((l) => l.type === 'item.completed');
      expect(done?.item).toMatchObject({
        command: "/bin/bash -lc 'echo ran > ran.txt; echo ok'",
        exit_code: 0,
        status: 'completed',
        aggregated_output: expect.stringContaining('ran.txt: Read-only file system'),
      });
      expect(file('codex shell', 'work/ran.txt')).toBeUndefined();
      expect(file('codex shell workspace-write', 'work/in.txt')).toBe('in\n');
      expect(file('codex shell workspace-write', 'outside.txt')).toBeUndefined();
      expect(told('codex shell workspace-write')).toContain('../outside.txt: Read-only file system');
    });

    it('should drop the sandbox with --dangerously-bypass-approvals-and-sandbox, and take the workspace from -C', () => {
      expect(file('codex bypass', 'outside.txt')).toBe('out\n');
      expect(run('codex bypass').requests[0]?.view.text).toContain('`sandbox_mode` is `danger-full-access`');
      expect(file('codex -C', 'work/notes.txt')).toBe(NOTE);
      expect(run('codex -C').requests[0]?.view.workingDirectory).toBe(run('codex -C').workdir);
    });

    it('should print usage once, in turn.completed at the end, while its rollout file gets a token_count per request', () => {
      const { lines, tokenCounts } = run('codex loop');
      expect(
        lines.map((l) => [l.type, (l.item as { type?: string } | undefined)?.type].filter(Boolean).join(' ')),
      ).toEqual([
        'thread.started',
        'turn.started',
        'item.completed agent_message',
        'item.started command_execution',
        'item.completed command_execution',
        'item.completed agent_message',
        'item.started file_change',
        'item.completed file_change',
        'item.completed agent_message',
        'turn.completed',
      ]);
      expect(lines.filter((l) => 'usage' in l)).toEqual([
        {
          type: 'turn.completed',
          usage: {
            input_tokens: 600,
            cached_input_tokens: 6,
            cache_write_input_tokens: 0,
            output_tokens: 60,
            reasoning_output_tokens: 18,
          },
        },
      ]);
      const codexUsage = (n: number): Record<string, number> => ({
        input_tokens: 100 * n,
        cached_input_tokens: n,
        cache_write_input_tokens: 0,
        output_tokens: 10 * n,
        reasoning_output_tokens: 3 * n,
        total_tokens: 110 * n,
      });
      expect(tokenCounts.map((t) => (t.info as { last_token_usage: unknown }).last_token_usage)).toEqual([
        codexUsage(1),
        codexUsage(2),
        codexUsage(3),
      ]);
      expect(tokenCounts.map((t) => (t.info as { total_token_usage: unknown }).total_token_usage)).toEqual([
        codexUsage(1),
        codexUsage(3),
        codexUsage(6),
      ]);
    });

    it('should keep calling tools until killed, printing no turn.completed', () => {
      const { requests, lines, tokenCounts } = run('codex runaway');
      expect(requests.length).toBeGreaterThanOrEqual(5);
      expect(lines.some((l) => l.type === 'turn.completed')).toBe(false);
      expect(tokenCounts.length).toBeGreaterThanOrEqual(requests.length - 1);
    });
  });
});
