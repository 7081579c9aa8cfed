/**
 * What a task counts when its agent prints usage no report may hold (a hostile or broken CLI): a
 * small fake agent program (AGENTVISOR_CLAUDE_BIN) prints it in its stream or its result line, and
 * runAgentTask runs it through a real orchestrator.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, runAgentTask } from '../../src';
import type { Orchestrator } from '../../src';

// Test key only: well-formed, never real; the fake agent never sends it anywhere.
const CLAUDE_KEY = `sk-ant-api03-${'TaskMeterTestKey'}${'m'.repeat(60)}Tm1a`;
const HUGE = 9_007_199_254_740_991;
const resultLine = (input: number, output: number): string =>
  JSON.stringify({
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: 'done',
    usage: { input_tokens: input, output_tokens: output },
  });
const messageStart = (input: number): string =>
  JSON.stringify({
    type: 'stream_event',
    event: { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: input, output_tokens: 1 } } },
  });

let dir: string;
let orch: Orchestrator;

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'task-meter-')));
  orch = createOrchestrator({ env: { ANTHROPIC_API_KEY: CLAUDE_KEY }, credentialSources: ['env'] });
  await orch.start();
});

afterEach(async () => {
  await orch.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a task whose agent claims more usage than one report may hold', () => {
  it.each([
    ['in its result line', [resultLine(HUGE, HUGE)]],
    ['while it streams', [messageStart(HUGE), resultLine(10, 5)]],
  ])('should fail agent-failed %s, count nothing it did not count, and say why', async (_where, lines) => {
    const agentBin = path.join(dir, 'fake-claude.sh');
    fs.writeFileSync(agentBin, `#!/bin/sh\n${lines.map((line) => `echo '${line}'`).join('\n')}\n`, { mode: 0o755 });
    const result = await runAgentTask(orch, {
      task: 'do the task',
      agent: 'claude-code',
      estimatedTokens: 1_000,
      cwd: dir,
      tempDir: dir,
      hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', AGENTVISOR_CLAUDE_BIN: agentBin },
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'agent-failed' } });
    expect(result.error?.message).toContain('9,007,199,254,740,991 input tokens');
    expect(result.error?.message).toContain('1,000,000,000');
    expect(result.usage.totalTokens).toBe(orch.stats().providers.claude.used);
    expect(result.usage.totalTokens).toBeLessThan(1_000);
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
  });
});
