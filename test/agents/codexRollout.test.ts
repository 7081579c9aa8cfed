import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchCodexRollout } from '../../src/agents/codexRollout';
import type { TokenUsage } from '../../src/providers';

const tokenCount = (input: number, output: number): string =>
  `${JSON.stringify({
    timestamp: 't',
    type: 'event_msg',
    payload: { type: 'token_count', info: { total_token_usage: { input_tokens: input, output_tokens: output } } },
  })}\n`;
const refused = (text: string): string =>
  `${JSON.stringify({ type: 'response_item', payload: { type: 'custom_tool_call_output', call_id: 'c1', output: [{ type: 'input_text', text }] } })}\n`;

describe('watchCodexRollout', () => {
  let codexHome: string;
  let day: string;

  beforeEach(() => {
    codexHome = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-watch-'));
    day = path.join(codexHome, 'sessions', '2026', '12', '07');
  });

  afterEach(() => fs.rmSync(codexHome, { recursive: true, force: true }));

  it("should count a new run's rollout as it grows, from where an earlier run's file ended, and report refusals", async () => {
    fs.mkdirSync(day, { recursive: true });
    // An earlier run of the same task: its usage was counted then.
    const earlier = path.join(day, 'rollout-earlier.jsonl');
    fs.writeFileSync(earlier, tokenCount(5_000, 500));
    const seen: TokenUsage[] = [];
    const watch = watchCodexRollout(codexHome, (u) => seen.push(u), 20);
    const current = path.join(day, 'rollout-current.jsonl');
    fs.writeFileSync(current, tokenCount(100, 10));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Seen while the run goes on, before stop().
    expect(seen).toEqual([{ inputTokens: 100, outputTokens: 10 }]);
    // A line written in two pieces is read once it is whole; a refusal and a path are reported.
    const second = tokenCount(250, 30);
    fs.appendFileSync(current, second.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen).toHaveLength(1);
    fs.appendFileSync(current, second.slice(20));
    fs.appendFileSync(
      current,
      refused(
        'Script error:\npatch rejected: writing is blocked by read-only sandbox; rejected by user approval settings',
      ),
    );
    fs.appendFileSync(current, refused('sh: 1: cannot create /w/out.txt: Read-only file system'));
    watch.stop();
    expect(seen).toEqual([
      { inputTokens: 100, outputTokens: 10 },
      { inputTokens: 150, outputTokens: 20 },
    ]);
    expect(watch.counted).toEqual({ inputTokens: 250, outputTokens: 30 });
    expect(watch.denials).toEqual([
      { tool: 'apply_patch', target: null },
      { tool: 'exec_command', target: '/w/out.txt' },
    ]);
    // Stopped: nothing more is read.
    fs.appendFileSync(current, tokenCount(900, 90));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen).toHaveLength(2);
  });

  it('should count nothing while Codex has written no rollout', () => {
    const watch = watchCodexRollout(codexHome, () => undefined, 20);
    watch.stop();
    expect(watch.counted).toEqual({ inputTokens: 0, outputTokens: 0 });
  });
});
