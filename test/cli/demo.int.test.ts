import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createDemoFaultPlan } from '../../src/sandbox/demoFaults';

const root = path.join(__dirname, '..', '..');
const DEMO_KEY_FRAGMENTS = ['agentvisor-demo-key-not-real'];

/** Runs the CLI from source (ts-node, transpile only), as `agentvisor …` would. */
function cli(args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(root, 'src', 'cli', 'main.ts'), ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
      // Generous: the demo takes ~10 s alone, but a loaded 2-core machine running the other suites beside it has needed 90 s.
      timeout: 180_000,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

type Faults = { rateLimited: number; overloaded: number; unauthorized: number };

describe('agentvisor demo', () => {
  it('should run API-driven agents against the loopback fakes with injected faults and print a settled JSON summary as the last stdout line', () => {
    const { status, stdout, stderr } = cli(['--json', 'demo', '--agents', '30', '--seed', '3']);
    expect(status).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!);
    expect(summary.ok).toBe(true);
    expect(summary.agents).toBe(30);
    expect(summary.completed + summary.ended + summary.refused).toBe(30);
    // 30 agents waiting for 10 Claude slots: some must have waited, and the limits held.
    expect(summary.queued).toBeGreaterThan(0);
    expect(summary.maxActive.claude).toBe(10);
    expect(summary.maxActive.openai).toBeLessThanOrEqual(8);
    expect(summary.providers.claude).toMatchObject({ maxActive: summary.maxActive.claude, maxConcurrent: 10 });
    expect(summary.providers.openai).toMatchObject({ maxActive: summary.maxActive.openai, maxConcurrent: 8 });
    for (const p of ['claude', 'openai']) {
      expect(summary.stats.providers[p].reserved).toBe(0);
      expect(summary.stats.providers[p].active).toBe(0);
      expect(summary.providers[p].tokens).toBe(summary.stats.providers[p].used);
    }
    const counted = summary.stats.providers.claude.used + summary.stats.providers.openai.used;
    expect(counted).toBe(summary.results.reduce((sum: number, r: { usedTokens: number }) => sum + r.usedTokens, 0));
    expect(counted).toBeGreaterThan(0);
    // Faults were injected on the wire and handled: fallbacks to OpenAI, Claude's circuit opened by the burst of 529s.
    const faults = ['claude', 'openai'].map((p) => summary.providers[p].faults as Faults);
    expect(faults.reduce((n, f) => n + f.rateLimited, 0)).toBeGreaterThan(0);
    expect(faults.reduce((n, f) => n + f.overloaded, 0)).toBeGreaterThanOrEqual(6);
    expect(faults.reduce((n, f) => n + f.unauthorized, 0)).toBeGreaterThan(0);
    expect(summary.fallbacks).toBeGreaterThan(0);
    expect(summary.fallbacks).toBe(summary.providers.claude.fallbacks + summary.providers.openai.fallbacks);
    expect(summary.providers.claude.circuitOpenings).toBeGreaterThanOrEqual(1);
    expect(summary.providers.openai.agents).toBe(summary.providers.claude.fallbacks);
    expect(summary.elapsedMs).toBeLessThan(15_000);
    expect(stderr).toContain('active on');
    expect(stderr).toMatch(/claude circuit open for \d+ ms after \d+ failures/);
    expect(stderr).toMatch(/claude failed \((overloaded|rate-limit|auth)\): falls back to openai/);
    // The throttling phase: the adaptive limit comes down from 8 towards the 3 the sandbox allows, throttled agents are requeued, all complete.
    const phase = summary.throttling;
    expect(phase).toMatchObject({
      provider: 'claude',
      throttleAbove: 3,
      agents: 20,
      completed: 20,
      initialLimit: 8,
      maxConcurrent: 10,
      settled: true,
    });
    expect(phase.limitChanges[0]).toMatchObject({ previous: 8, limit: 4, reason: 'throttle' });
    expect(phase.lowestLimit).toBeLessThanOrEqual(3);
    expect(phase.effectiveLimit).toBeLessThanOrEqual(4);
    expect(phase.throttled).toBeGreaterThan(0);
    expect(phase.throttled).toBeLessThanOrEqual(15);
    expect(phase.requeues).toBeGreaterThan(0);
    expect(phase.requests - phase.throttled).toBeGreaterThanOrEqual(20);
    expect(phase.elapsedMs).toBeLessThan(15_000);
    expect(stderr).toContain('claude limit 8 → 4 (throttled: halved)');
    expect(stderr).toMatch(/throttled-\d\d {2}throttled before any work: back in the queue, not failed/);
    for (const fragment of DEMO_KEY_FRAGMENTS) {
      expect(stdout).not.toContain(fragment);
      expect(stderr).not.toContain(fragment);
    }
  });

  it('should print progress and the final tables for people', () => {
    const { status, stdout } = cli(['demo', '--agents', '4']);
    expect(status).toBe(0);
    expect(stdout).toContain('agent-04');
    expect(stdout).toMatch(
      /provider\s+agents\s+tokens\s+fallbacks\s+max running\s+limit\s+429s\s+529\/503s\s+401s\s+circuit opened/,
    );
    expect(stdout).toMatch(/claude\s+4\s+[\d,]+\s+\d+\s+4\s+10\s/);
    expect(stdout).toContain('settled: every allocation returned, usage counted once');
    expect(stdout).toContain(
      'throttling phase: the Claude sandbox answers 429 "not your usage limit" above 3 requests in flight; adaptive concurrency starts at 8 of 10',
    );
    expect(stdout).toMatch(
      /provider\s+agents\s+completed\s+requests\s+429s\s+requeued\s+max running\s+limit path\s+effective limit/,
    );
    expect(stdout).toMatch(/claude\s+20\s+20\s+\d+\s+\d+\s+\d+\s+\d+\s+8→4→[\d→]+\s+[1-4]\n/);
    expect(stdout).toMatch(
      /the limit came down from 8 and moved between [1-3] and \d+ around what the sandbox allows \(3\), ending at [1-4]: \d+ 429s/,
    );
  });

  it('should skip the throttling phase with --throttle-agents 0', () => {
    const { status, stdout } = cli(['--json', 'demo', '--agents', '2', '--throttle-agents', '0']);
    expect(status).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ ok: true, agents: 2, throttling: null });
  });

  it('should refuse a bad --agents value with a message and a non-zero exit', () => {
    const { status, stderr } = cli(['demo', '--agents', '0']);
    expect(status).not.toBe(0);
    expect(stderr).toContain('expected a whole number from 1 to 1000');
  });
});

describe('demo fault plan', () => {
  it('should answer the same sequence for the same seed, per provider, whatever the other provider does', () => {
    const sequence = (seed: number, interleave: boolean) => {
      const plan = createDemoFaultPlan(seed);
      const claude = plan.script('claude');
      const openai = plan.script('openai');
      const out: unknown[] = [];
      for (let i = 0; i < 40; i += 1) {
        if (interleave) openai();
        out.push(claude());
      }
      return { out, served: plan.served('claude') };
    };
    const a = sequence(5, false);
    const b = sequence(5, true);
    expect(b.out).toEqual(a.out);
    expect(b.served).toEqual(a.served);
    // Claude's burst: six overloads in a row, between the 10th and the 23rd request.
    const overloadRun = a.out.map((s) => ((s as { fault?: string }).fault === 'overloaded' ? 'o' : '.')).join('');
    expect(overloadRun).toMatch(/^.{9,17}o{6}/);
    expect(a.served.replies + a.served.rateLimited + a.served.overloaded + a.served.unauthorized).toBe(40);
    expect(sequence(6, false).out).not.toEqual(a.out);
  });
});
