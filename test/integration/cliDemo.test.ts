import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const DEMO_KEY_FRAGMENTS = ['agentvisor-demo-key-not-real'];

/** Runs the CLI from source (ts-node, transpile only), as `agentvisor …` would. */
function cli(args: string[]) {
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('agentvisor demo', () => {
  it('should run the agents through the coordinator and print a settled JSON summary as the last stdout line', () => {
    const { status, stdout, stderr } = cli(['--json', 'demo', '--agents', '30', '--seed', '3']);
    expect(status).toBe(0);
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!);
    expect(summary.ok).toBe(true);
    expect(summary.agents).toBe(30);
    expect(summary.completed + summary.ended + summary.refused).toBe(30);
    // 30 agents against 10 + 8 slots: some must have waited, and the limits held.
    expect(summary.queued).toBeGreaterThan(0);
    expect(summary.maxActive.claude).toBeLessThanOrEqual(10);
    expect(summary.maxActive.openai).toBeLessThanOrEqual(8);
    for (const p of ['claude', 'openai']) {
      expect(summary.stats.providers[p].reserved).toBe(0);
      expect(summary.stats.providers[p].active).toBe(0);
    }
    const counted = summary.stats.providers.claude.used + summary.stats.providers.openai.used;
    expect(counted).toBe(summary.results.reduce((sum: number, r: { usedTokens: number }) => sum + r.usedTokens, 0));
    expect(stderr).toContain('active on');
    for (const fragment of DEMO_KEY_FRAGMENTS) {
      expect(stdout).not.toContain(fragment);
      expect(stderr).not.toContain(fragment);
    }
  });

  it('should print progress and the final tables for people', () => {
    const { status, stdout } = cli(['demo', '--agents', '4']);
    expect(status).toBe(0);
    expect(stdout).toContain('agent-04');
    expect(stdout).toMatch(/provider\s+daily limit\s+used/);
    expect(stdout).toContain('settled: every allocation returned, usage counted once');
  });

  it('should refuse a bad --agents value with a message and a non-zero exit', () => {
    const { status, stderr } = cli(['demo', '--agents', '0']);
    expect(status).not.toBe(0);
    expect(stderr).toContain('expected a whole number from 1 to 1000');
  });
});
