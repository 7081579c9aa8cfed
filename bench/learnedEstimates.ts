/**
 * `npm run bench` (fourth part): allocations that learn. One synthetic workload (task kinds with
 * their own log-normal usage distributions, drawn from a seeded generator) runs twice through the
 * real orchestrator, side by side: with one fixed estimate for every task (what a host passes
 * without learning), and with `spawnAgent({ taskKind })` taking the learned estimate (p90 of the
 * last 50 settled sessions of the kind). Issue 8's target: tokens reserved but unused at settlement
 * drop by at least half, while top-up refusals stay at or under 1%. Two budgets: ample (1.5 × the
 * workload's usage) and tight (1.1 ×).
 * Prints a table and rewrites the "Learned estimates" section of docs/benchmarks.md (unless --no-write).
 */
import os from 'node:os';
import { createManualClock, createOrchestrator, isAgentvisorError } from '../src';
import type { ManagedAgent } from '../src';
import { writeDocsSection } from './lib/docsSection';
import { seededRandom } from '../src/sandbox/random';

const ENV = { ANTHROPIC_API_KEY: 'sk-ant-api03-bench-learned-key-0000' };
const SESSIONS = 3_000;
const CONCURRENCY = 16;
/** The fixed estimate: enough for nearly every task of the largest kind, as a careful host would pick. */
const FIXED_ESTIMATE = 60_000;

interface Kind {
  readonly name: string;
  readonly weight: number;
  /** Median usage (tokens) and log-normal sigma. */
  readonly median: number;
  readonly sigma: number;
}

const KINDS: readonly Kind[] = [
  { name: 'lint', weight: 0.35, median: 3_000, sigma: 0.35 },
  { name: 'docs', weight: 0.2, median: 6_000, sigma: 0.6 },
  { name: 'fix-test', weight: 0.3, median: 15_000, sigma: 0.5 },
  { name: 'refactor', weight: 0.15, median: 40_000, sigma: 0.3 },
];

interface Task {
  readonly kind: string;
  readonly used: number;
}

function workload(seed: number): Task[] {
  const next = seededRandom(seed);
  const tasks: Task[] = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    let pick = next();
    const kind = KINDS.find((k) => (pick -= k.weight) < 0) ?? KINDS[KINDS.length - 1]!;
    // Box-Muller: a standard normal from two uniforms.
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    tasks.push({ kind: kind.name, used: Math.max(1, Math.round(kind.median * Math.exp(kind.sigma * z))) });
  }
  return tasks;
}

interface Outcome {
  readonly sessions: number;
  readonly reservedUnused: number;
  readonly allocatedAtAdmission: number;
  readonly toppedUp: number;
  readonly topUpRefusals: number;
  readonly admissionRefusals: number;
}

/** Runs the tasks `CONCURRENCY` at a time; each reports its usage in three parts and is released. */
async function run(tasks: readonly Task[], dailyLimit: number, learned: boolean): Promise<Outcome> {
  const orch = createOrchestrator({
    env: ENV,
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    clock: createManualClock(Date.parse('2026-03-10T01:00:00Z')),
    limits: { claude: { dailyLimit, maxConcurrent: CONCURRENCY } },
    learnedEstimates: { percentile: 90, window: 50, min: 500, max: 200_000, initial: 20_000 },
  });
  await orch.start();
  let overruns = 0;
  orch.on('quota.overrun', () => (overruns += 1));
  const live: { agent: ManagedAgent; task: Task; allocated: number }[] = [];
  const outcome = {
    sessions: 0,
    reservedUnused: 0,
    allocatedAtAdmission: 0,
    toppedUp: 0,
    topUpRefusals: 0,
    admissionRefusals: 0,
  };
  const finish = async (entry: { agent: ManagedAgent; task: Task; allocated: number }) => {
    const parts = [Math.floor(entry.task.used / 3), Math.floor(entry.task.used / 3)];
    parts.push(entry.task.used - parts[0]! - parts[1]!);
    try {
      for (const part of parts) entry.agent.reportUsage({ inputTokens: part, outputTokens: 0 });
    } catch (error) {
      if (!isAgentvisorError(error, 'quota-exhausted')) throw error;
    }
    if (entry.task.used > entry.allocated) outcome.toppedUp += 1;
    if (entry.agent.isLive) {
      const released = await entry.agent.release();
      outcome.reservedUnused += released.returnedTokens;
    }
  };
  for (const task of tasks) {
    if (live.length >= CONCURRENCY) await finish(live.shift()!);
    try {
      const agent = await orch.spawnAgent(
        learned ? { taskKind: task.kind } : { estimatedTokens: FIXED_ESTIMATE, taskKind: task.kind },
      );
      live.push({ agent, task, allocated: agent.allocatedTokens });
      outcome.sessions += 1;
      outcome.allocatedAtAdmission += agent.allocatedTokens;
    } catch (error) {
      if (!isAgentvisorError(error, 'quota-exhausted')) throw error;
      outcome.admissionRefusals += 1;
    }
  }
  while (live.length > 0) await finish(live.shift()!);
  outcome.topUpRefusals = overruns;
  await orch.stop();
  return outcome;
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const tasks = workload(8);
  const totalUse = tasks.reduce((sum, t) => sum + t.used, 0);
  const rows: string[] = [];
  let pass = true;
  for (const [label, factor] of [
    ['ample (1.5 × use)', 1.5],
    ['tight (1.0 × use)', 1.0],
  ] as const) {
    const dailyLimit = Math.round(totalUse * factor);
    const fixed = await run(tasks, dailyLimit, false);
    const learned = await run(tasks, dailyLimit, true);
    const ratio = learned.reservedUnused / fixed.reservedUnused;
    const refusalRate = learned.topUpRefusals / Math.max(1, learned.sessions);
    const ok = ratio <= 0.5 && refusalRate <= 0.01;
    pass &&= ok;
    const pct = (n: number, d: number) => `${((100 * n) / Math.max(1, d)).toFixed(2)}%`;
    const m = (n: number) => `${(n / 1e6).toFixed(2)} M`;
    rows.push(
      `| ${label}, fixed ${FIXED_ESTIMATE.toLocaleString('en-US')} | ${fixed.sessions.toLocaleString('en-US')} | ` +
        `${m(fixed.allocatedAtAdmission)} | ${m(fixed.reservedUnused)} | ${pct(fixed.toppedUp, fixed.sessions)} | ` +
        `${pct(fixed.topUpRefusals, fixed.sessions)} | ${fixed.admissionRefusals} | | |`,
      `| ${label}, learned p90 per kind | ${learned.sessions.toLocaleString('en-US')} | ` +
        `${m(learned.allocatedAtAdmission)} | ${m(learned.reservedUnused)} | ${pct(learned.toppedUp, learned.sessions)} | ` +
        `${pct(learned.topUpRefusals, learned.sessions)} | ${learned.admissionRefusals} | ${ratio.toFixed(3)} | ${ok ? 'PASS' : 'MISS'} |`,
    );
  }
  const lines = [
    `Measured ${new Date().toISOString()} by \`npm run bench\` ` +
      `(Node ${process.version}, ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores).`,
    '',
    `Workload: ${SESSIONS.toLocaleString('en-US')} tasks, ${CONCURRENCY} at a time, usage ${(totalUse / 1e6).toFixed(2)} M tokens; ` +
      `kinds (share, median, log-normal σ): ` +
      `${KINDS.map((k) => `${k.name} ${Math.round(k.weight * 100)}% ${k.median.toLocaleString('en-US')} σ${k.sigma}`).join(', ')}. ` +
      `Same tasks, same order, in both runs.`,
    '',
    '| budget, estimate | sessions | allocated at admission | reserved but unused at settlement | needed a top-up | top-up refused | ' +
      'admission refused | unused learned / fixed | target: ≤ 0.5 and top-up refused ≤ 1% |',
    '|:---|---:|---:|---:|---:|---:|---:|---:|:---|',
    ...rows,
  ];
  const text = lines.join('\n');
  console.log(text);
  if (!pass) process.exitCode = 1;
  if (!write) return;
  writeDocsSection('learned', 'Learned estimates', text);
  console.log('written to docs/benchmarks.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
