/**
 * `npm run bench` (fifth part): what agentvisor costs around the real agent CLIs, against the
 * loopback provider API fake (started in this process). Issue 13's targets:
 * (a) `agentvisor run --agent claude "say pong"` (bin/agentvisor.js, so the compiled dist/: run
 *     `npm run build` first) against Claude Code run directly with the same permissions, in both
 *     modes (bench/lib/agentOverhead.ts): `--sandbox read-only` against a bare
 *     `claude -p --output-format json`, the default workspace-write against `claude -p` with
 *     `--permission-mode acceptEdits` and the sandbox settings; same fake, same quiet env, HOMEs in
 *     a temp dir; ratio of the medians ≤ 1.15× in each mode. A diagnostic row per mode runs Claude
 *     Code exactly as agentvisor starts it, without agentvisor, to split the difference. 2 warm-up
 *     rounds, then rounds in rotating order.
 * (b) from the usage event that passes `maxTokens` (agentvisor aborts the run then) to `run.ended`
 *     (the process group gone and its output closed), through `runAgentTask` and a real
 *     orchestrator, the fake playing a runaway agent; p99 < 500 ms for Claude Code and Codex.
 * Prints a table and rewrites the "Agent runs" section of docs/benchmarks.md (unless --no-write).
 * Options: --runs N (timed rounds in (a), default 30: with 18 the median of runs of about a second moved
 * by ±0.05, the size of the margin), --trials N (per CLI in (b), default 25), --only overhead|cap (never
 * writes), --no-write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAgentTask } from '../src/agents';
import type { AgentTaskEvent } from '../src/agents';
import { createOrchestrator } from '../src/orchestrator';
import { runawayScript, startProviderApiFake } from '../src/sandbox';
import type { FakeUsage, ProviderApiFake } from '../src/sandbox';
import { RUN_TIMEOUT_MS, measureOverhead, overheadLines, percentile } from './lib/agentOverhead';
import { writeDocsSection } from './lib/docsSection';
import { machineInfo } from './lib/machine';
import { cleanUpOnStopSignals } from './lib/stopSignals';

// Bench credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'AgentRunBenchKey'}${'a'.repeat(60)}Ab1a`;
const OPENAI_KEY = `sk-proj-${'AgentRunBenchKey'}${'b'.repeat(40)}Ab2b`;
/** Compiled into .bench-build/bench: the repository root is two levels up. */
const ROOT = path.join(__dirname, '..', '..');
const CAP_TARGET_MS = 500;
const TURN: FakeUsage = { inputTokens: 1_000, outputTokens: 50 };
/** Passed during the fourth turn. */
const MAX_TOKENS = 3_500;

interface Options {
  readonly runs: number;
  readonly trials: number;
  readonly overhead: boolean;
  readonly cap: boolean;
  readonly write: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const count = (name: string, fallback: number): number => {
    const raw = value(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a whole number of 1 or more, got ${raw}`);
    return n;
  };
  const only = value('--only');
  if (only !== undefined && only !== 'overhead' && only !== 'cap')
    throw new Error(`--only takes overhead or cap, got ${only}`);
  // A partial run would overwrite the section with half of it: only a full run writes the docs.
  return {
    runs: count('--runs', 30),
    trials: count('--trials', 25),
    overhead: only !== 'cap',
    cap: only !== 'overhead',
    write: only === undefined && !argv.includes('--no-write'),
  };
}

const log = (line: string) => console.log(`· agent runs: ${line}`);
const ms = (n: number) => n.toFixed(0);

/** The newest .ts file under src/ and machines/ is newer than dist/: the CLI measured would be old code. */
function distIsStale(): boolean {
  const built = fs.statSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), { throwIfNoEntry: false });
  if (built === undefined) throw new Error('dist/ is missing: run `npm run build` before the agent-run benchmark');
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .reduce(
        (t, e) =>
          Math.max(
            t,
            e.isDirectory()
              ? newest(path.join(dir, e.name))
              : e.name.endsWith('.ts')
                ? fs.statSync(path.join(dir, e.name)).mtimeMs
                : 0,
          ),
        0,
      );
  return Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'machines'))) > built.mtimeMs;
}

interface CapTrials {
  readonly agent: 'claude-code' | 'codex';
  /** From the usage event passing maxTokens to run.ended. */
  readonly stopMs: number[];
  /** From the same usage event to the last live process of the group (watchdog, CLI, helpers) gone. */
  readonly groupGoneMs: number[];
  readonly overshoot: number[];
}

/** State and process group of a process, or null once it is gone. */
function procStat(pid: string): { state: string; pgid: number } | null {
  try {
    const m = /\) (\S) \d+ (\d+)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m === null ? null : { state: m[1]!, pgid: Number(m[2]) };
  } catch {
    return null;
  }
}

/**
 * Resolves with the time from `t0` at which every live member of the group has exited. Zombies do
 * not count: a member orphaned by the CLI (codex's git, Claude Code's socat) is reaped by init,
 * which on some machines takes a second. The group is listed once (after the abort this event
 * started), then its members are polled every 2 ms.
 */
function whenGroupGone(pgid: number, t0: number): Promise<number> {
  return new Promise((resolve) => {
    setImmediate(() => {
      let members = fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && procStat(pid)?.pgid === pgid);
      const poll = () => {
        members = members.filter((pid) => {
          const stat = procStat(pid);
          return stat !== null && stat.pgid === pgid && stat.state !== 'Z';
        });
        if (members.length === 0) resolve(performance.now() - t0);
        else setTimeout(poll, 2);
      };
      poll();
    });
  });
}

/** (b): a runaway agent stopped by maxTokens, `trials` times through one orchestrator. */
async function measureCap(
  fake: ProviderApiFake,
  dir: string,
  agent: 'claude-code' | 'codex',
  trials: number,
): Promise<CapTrials> {
  const provider = agent === 'claude-code' ? 'claude' : 'openai';
  fake.setScript(provider, runawayScript({ usagePerTurn: TURN }));
  const orch = createOrchestrator({
    env: {
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
    },
    credentialSources: ['env'],
    providerPriority: 'prefer-claude',
    limits: { [provider]: { dailyLimit: 1e9 } },
  });
  await orch.start();
  const out: CapTrials = { agent, stopMs: [], groupGoneMs: [], overshoot: [] };
  let used = 0;
  const tempDir = path.join(dir, `${agent}-homes`);
  const workdir = path.join(dir, `${agent}-work`);
  fs.mkdirSync(tempDir);
  fs.mkdirSync(workdir);
  try {
    for (let i = 0; i < trials + 1; i += 1) {
      let pid: number | undefined;
      let passedAt: number | null = null;
      let endedAt: number | null = null;
      let groupGone: Promise<number> | null = null;
      const onEvent = (e: AgentTaskEvent) => {
        if (e.type === 'run.started') pid = e.pid;
        if (e.type === 'usage' && passedAt === null && e.totalTokens > MAX_TOKENS) {
          passedAt = performance.now();
          if (pid !== undefined) groupGone = whenGroupGone(pid, passedAt);
        }
        if (e.type === 'run.ended') endedAt = performance.now();
      };
      const result = await runAgentTask(orch, {
        task: 'loop until stopped',
        agent,
        estimatedTokens: 20_000,
        maxTokens: MAX_TOKENS,
        timeoutMs: RUN_TIMEOUT_MS,
        cwd: workdir,
        tempDir,
        hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        onEvent,
      });
      if (result.error?.code !== 'token-limit' || passedAt === null || endedAt === null || groupGone === null) {
        throw new Error(
          `${agent} trial ${i}: not stopped by its cap (${JSON.stringify(result.error ?? result.result)})`,
        );
      }
      used += result.usage.totalTokens;
      // The first trial starts the CLI cold (its files not yet in the page cache): a warm-up.
      if (i === 0) continue;
      out.stopMs.push(endedAt - passedAt);
      out.groupGoneMs.push(await groupGone);
      out.overshoot.push(result.usage.totalTokens - MAX_TOKENS);
      if (i % 5 === 0) log(`cap ${agent}: trial ${i}/${trials}, last ${ms(out.stopMs.at(-1)!)} ms`);
    }
    // The books: every stopped run settled with its real usage, nothing left reserved or active.
    const books = orch.stats().providers[provider];
    if (books.used !== used || books.reserved !== 0 || books.active !== 0)
      throw new Error(`${agent}: the ledger does not match the runs (${JSON.stringify(books)}, ${used} used)`);
  } finally {
    await orch.stop();
  }
  if (fs.readdirSync(tempDir).length > 0) throw new Error(`${agent}: agent homes left in ${tempDir}`);
  return out;
}

function capLines(results: readonly CapTrials[]): { lines: string[]; pass: boolean } {
  const pass = results.every((r) => percentile(r.stopMs, 99) < CAP_TARGET_MS);
  const row = (r: CapTrials) =>
    `| ${r.agent} | ${r.stopMs.length} | ${ms(percentile(r.stopMs, 50))} | ${ms(percentile(r.stopMs, 99))} | ${ms(Math.max(...r.stopMs))} | ` +
    `${ms(percentile(r.groupGoneMs, 50))} / ${ms(Math.max(...r.groupGoneMs))} | ${Math.max(...r.overshoot)} | ` +
    `${percentile(r.stopMs, 99) < CAP_TARGET_MS ? 'PASS' : 'MISS'} |`;
  return {
    pass,
    lines: [
      `**(b) From the cap passed to the agent gone**: \`runAgentTask\` with \`maxTokens: ${MAX_TOKENS}\` and a real orchestrator, ` +
        `the fake answering every request with another tool call of ${TURN.inputTokens + TURN.outputTokens} tokens; ` +
        `from the \`usage\` event that passes the cap (the run is aborted then) to \`run.ended\` (the process group gone, its output closed), ` +
        `ms, after one warm-up trial per CLI. ` +
        `p99 is the nearest rank: with ${results[0]?.stopMs.length ?? 0} trials it is the slowest one. ` +
        `Beside it, when the last live process of the group was gone (zombies left to init not counted).`,
      '',
      `| CLI | trials | p50 | p99 | max | live group members gone p50 / max | overshoot max (tokens) | target p99 < ${CAP_TARGET_MS} ms |`,
      '|:---|---:|---:|---:|---:|---:|---:|:---|',
      ...results.map(row),
    ],
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const machine = machineInfo(ROOT);
  // Before anything is created: it throws when dist/ is missing.
  const stale = options.overhead && distIsStale();
  // A short name: agent homes below it must keep Claude Code's sandbox socket paths short (bench/lib/agentOverhead.ts).
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'avbench-')));
  const releaseSignals = cleanUpOnStopSignals(dir);
  const fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const sections: string[][] = [];
  let pass = true;
  try {
    if (stale) log('WARNING: src/ has files newer than dist/: the CLI measured may be old code (run npm run build)');
    if (options.overhead) {
      const modes = await measureOverhead({ fake, dir, root: ROOT, claudeKey: CLAUDE_KEY, runs: options.runs, log });
      const part = overheadLines(modes);
      sections.push(part.lines);
      pass &&= part.pass;
    }
    if (options.cap) {
      const results = [
        await measureCap(fake, dir, 'claude-code', options.trials),
        await measureCap(fake, dir, 'codex', options.trials),
      ];
      const part = capLines(results);
      sections.push(part.lines);
      pass &&= part.pass;
    }
  } finally {
    await fake.close();
    releaseSignals();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const text = [
    `Measured ${machine.date} by \`npm run bench\` on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), ${machine.platform}, ` +
      `Node ${machine.node}, commit ${machine.commit}${stale ? ', dist/ older than src/' : ''}; ` +
      `load average ${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? Number.NaN).toFixed(2)} after.`,
    '',
    ...sections.flatMap((lines) => [...lines, '']),
    'Alone, for quick iterations: `npm run build && npx tsc -p tsconfig.bench.json && ' +
      'node .bench-build/bench/agentRun.js [--runs N] [--trials N] [--only overhead|cap] [--no-write]` (`--only` never writes this section).',
  ]
    .join('\n')
    .trimEnd();
  console.log(text);
  if (!pass) process.exitCode = 1;
  if (!options.write) return;
  writeDocsSection('agent-runs', 'Agent runs', text);
  console.log('written to docs/benchmarks.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
