/**
 * `npm run bench` (fifth part): what agentvisor costs around the real agent CLIs, against the
 * loopback provider API fake (started in this process). Issue 13's targets:
 * (a) `agentvisor run --agent claude "say pong"` (bin/agentvisor.js, so the compiled dist/: run
 *     `npm run build` first) against `claude -p --output-format json "say pong"`, same fake, same
 *     quiet env, HOMEs in a temp dir; ratio of the medians ≤ 1.15×. A diagnostic third row runs
 *     Claude Code exactly as agentvisor starts it, without agentvisor, to split the difference.
 *     2 warm-up rounds, then rounds in rotating order.
 * (b) from the usage event that passes `maxTokens` (agentvisor aborts the run then) to `run.ended`
 *     (the process group gone and its output closed), through `runAgentTask` and a real
 *     orchestrator, the fake playing a runaway agent; p99 < 500 ms for Claude Code and Codex.
 * Prints a table and rewrites the "Agent runs" section of docs/benchmarks.md (unless --no-write).
 * Options: --runs N (timed rounds in (a), default 18), --trials N (per CLI in (b), default 25),
 * --only overhead|cap (never writes), --no-write.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claudeCodeInvocation, createAgentHome, runAgentTask } from '../src/agents';
import type { AgentTaskEvent } from '../src/agents';
import { createOrchestrator } from '../src/orchestrator';
import { AGENT_QUIET_ENV } from '../src/providers';
import { runawayScript, startProviderApiFake } from '../src/sandbox';
import type { FakeUsage, ProviderApiFake } from '../src/sandbox';
import { writeDocsSection } from './lib/docsSection';
import { machineInfo } from './lib/machine';
import { median } from './lib/measure';

// Bench credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'AgentRunBenchKey'}${'a'.repeat(60)}Ab1a`;
const OPENAI_KEY = `sk-proj-${'AgentRunBenchKey'}${'b'.repeat(40)}Ab2b`;
/** Compiled into .bench-build/bench: the repository root is two levels up. */
const ROOT = path.join(__dirname, '..', '..');
const RATIO_TARGET = 1.15;
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
  if (only !== undefined && only !== 'overhead' && only !== 'cap') throw new Error(`--only takes overhead or cap, got ${only}`);
  // A partial run would overwrite the section with half of it: only a full run writes the docs.
  return { runs: count('--runs', 18), trials: count('--trials', 25), overhead: only !== 'cap', cap: only !== 'overhead', write: only === undefined && !argv.includes('--no-write') };
}

/** Nearest rank: the smallest sample with at least p% of the samples at or below it. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const log = (line: string) => console.log(`· agent runs: ${line}`);
const ms = (n: number) => n.toFixed(0);

/** The newest .ts file under src/ and machines/ is newer than dist/: the CLI measured would be old code. */
function distIsStale(): boolean {
  const built = fs.statSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), { throwIfNoEntry: false });
  if (built === undefined) throw new Error('dist/ is missing: run `npm run build` before the agent-run benchmark');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((t, e) => Math.max(t, e.isDirectory() ? newest(path.join(dir, e.name)) : e.name.endsWith('.ts') ? fs.statSync(path.join(dir, e.name)).mtimeMs : 0), 0);
  return Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'machines'))) > built.mtimeMs;
}

/** Bounds every run: a hung CLI fails the bench instead of stalling it. */
const RUN_TIMEOUT_MS = 120_000;

/** Runs a process to its end without blocking this event loop (the fake answers from it). */
function timedRun(command: string, args: readonly string[], env: Record<string, string>, cwd: string): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    // A killed agentvisor takes its agent with it (the parent-death watch); a killed claude has no children left.
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code, stdout, stderr });
    });
  });
}

interface Side {
  readonly name: string;
  readonly runs: number[];
}

interface Contender {
  readonly side: Side;
  /** The command line of one run; `done` cleans up after it. */
  prepare(): { command: string; args: readonly string[]; env: Record<string, string>; cwd: string; done?: () => void };
}

/**
 * (a): `agentvisor run` against `claude -p`, each in its own HOME under `dir` with the same quiet
 * env, plus a diagnostic: Claude Code started with the argv, env and fresh private home agentvisor
 * gives it (claudeCodeInvocation), without agentvisor around it. The order rotates every round.
 */
async function measureOverhead(fake: ProviderApiFake, dir: string, runs: number): Promise<{ direct: Side; asAgentvisorStartsIt: Side; agentvisor: Side }> {
  const claude = path.join(ROOT, 'node_modules', '.bin', 'claude');
  if (!fs.existsSync(claude)) throw new Error(`${claude} is missing: run npm ci (the devDependency @anthropic-ai/claude-code)`);
  const pathVar = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  const keys = { ANTHROPIC_API_KEY: CLAUDE_KEY, ANTHROPIC_BASE_URL: fake.anthropicBaseUrl };
  const homeOf = (name: string) => {
    const home = path.join(dir, name);
    for (const sub of ['.codex', '.claude', 'tmp', 'work']) fs.mkdirSync(path.join(home, sub), { recursive: true, mode: 0o700 });
    return home;
  };
  const envOf = (home: string): Record<string, string> => ({
    PATH: pathVar,
    HOME: home,
    CODEX_HOME: path.join(home, '.codex'),
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    // Agent homes, Claude Code's temp files and the stale-home sweep stay in the bench's folder.
    TMPDIR: path.join(home, 'tmp'),
    ...AGENT_QUIET_ENV,
    ...keys,
  });
  const direct = homeOf('direct');
  const viaAgentvisor = homeOf('agentvisor');
  const privateHomes = homeOf('private-homes');
  const contenders: Contender[] = [
    {
      side: { name: 'claude -p --output-format json "say pong"', runs: [] },
      prepare: () => ({ command: claude, args: ['-p', '--output-format', 'json', 'say pong'], env: envOf(direct), cwd: path.join(direct, 'work') }),
    },
    {
      side: { name: 'claude as agentvisor starts it (its argv, env and a fresh private home), without agentvisor', runs: [] },
      prepare: () => {
        const home = createAgentHome({ parent: path.join(privateHomes, 'tmp') });
        const { args, env } = claudeCodeInvocation({ task: 'say pong', agentEnv: { ...AGENT_QUIET_ENV, ...keys }, home, hostEnv: { PATH: pathVar } });
        return { command: claude, args, env, cwd: path.join(privateHomes, 'work'), done: () => home.remove() };
      },
    },
    {
      side: { name: 'agentvisor run --agent claude "say pong"', runs: [] },
      prepare: () => ({ command: process.execPath, args: [path.join(ROOT, 'bin', 'agentvisor.js'), 'run', '--agent', 'claude', 'say pong'], env: envOf(viaAgentvisor), cwd: path.join(viaAgentvisor, 'work') }),
    },
  ];
  const warmups = 2;
  for (let i = 0; i < warmups + runs; i += 1) {
    // Each round starts with the next contender: none always runs right after the same other one.
    const shift = i % contenders.length;
    for (const c of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
      const { command, args, env, cwd, done } = c.prepare();
      const run = await timedRun(command, args, env, cwd);
      done?.();
      if (run.code !== 0 || !run.stdout.includes('pong')) throw new Error(`${c.side.name} failed (exit ${run.code}): ${run.stderr.slice(-400)}`);
      if (i >= warmups) c.side.runs.push(run.ms);
    }
    log(`overhead ${i < warmups ? `warm-up ${i + 1}/${warmups}` : `run ${i - warmups + 1}/${runs}`}${i < warmups ? '' : `: ${contenders.map((c) => ms(c.side.runs.at(-1)!)).join(' / ')} ms`}`);
  }
  return { direct: contenders[0]!.side, asAgentvisorStartsIt: contenders[1]!.side, agentvisor: contenders[2]!.side };
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
async function measureCap(fake: ProviderApiFake, dir: string, agent: 'claude-code' | 'codex', trials: number): Promise<CapTrials> {
  const provider = agent === 'claude-code' ? 'claude' : 'openai';
  fake.setScript(provider, runawayScript({ usagePerTurn: TURN }));
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_BASE_URL: fake.anthropicBaseUrl, OPENAI_BASE_URL: fake.openaiBaseUrl },
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
      const result = await runAgentTask(orch, { task: 'loop until stopped', agent, estimatedTokens: 20_000, maxTokens: MAX_TOKENS, timeoutMs: RUN_TIMEOUT_MS, cwd: workdir, tempDir, hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, onEvent });
      if (result.error?.code !== 'token-limit' || passedAt === null || endedAt === null || groupGone === null) {
        throw new Error(`${agent} trial ${i}: not stopped by its cap (${JSON.stringify(result.error ?? result.result)})`);
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
    if (books.used !== used || books.reserved !== 0 || books.active !== 0) throw new Error(`${agent}: the ledger does not match the runs (${JSON.stringify(books)}, ${used} used)`);
  } finally {
    await orch.stop();
  }
  if (fs.readdirSync(tempDir).length > 0) throw new Error(`${agent}: agent homes left in ${tempDir}`);
  return out;
}

function overheadLines(direct: Side, started: Side, agentvisor: Side): { lines: string[]; pass: boolean } {
  const ratio = median(agentvisor.runs) / median(direct.runs);
  const pass = ratio <= RATIO_TARGET;
  const row = (s: Side, label: string) => `| ${label} | ${ms(median(s.runs))} | ${ms(percentile(s.runs, 90))} | ${ms(Math.min(...s.runs))} | ${ms(Math.max(...s.runs))} | ${(median(s.runs) / median(direct.runs)).toFixed(3)}× |`;
  return {
    pass,
    lines: [
      `**(a) Overhead around one trivial Claude Code run** (${direct.runs.length} timed runs each after 2 warm-ups, interleaved in rotating order; wall time from spawn to exit, ms):`,
      '',
      '| command | median | p90 | min | max | median / direct |',
      '|:---|---:|---:|---:|---:|---:|',
      row(direct, `\`${direct.name}\``),
      row(agentvisor, `\`${agentvisor.name}\``),
      row(started, `diagnostic: ${started.name}`),
      '',
      `Ratio of the medians, agentvisor / direct: **${ratio.toFixed(3)}×** (+${ms(median(agentvisor.runs) - median(direct.runs))} ms). Target ≤ ${RATIO_TARGET}× (1.27× when issue 13 was filed): **${pass ? 'PASS' : 'MISS'}**. ` +
        `Of the difference, ${ms(median(started.runs) - median(direct.runs))} ms is Claude Code itself under the flags and fresh home agentvisor gives it (the diagnostic row), ${ms(median(agentvisor.runs) - median(started.runs))} ms agentvisor's own process.`,
    ],
  };
}

function capLines(results: readonly CapTrials[]): { lines: string[]; pass: boolean } {
  const pass = results.every((r) => percentile(r.stopMs, 99) < CAP_TARGET_MS);
  const row = (r: CapTrials) =>
    `| ${r.agent} | ${r.stopMs.length} | ${ms(percentile(r.stopMs, 50))} | ${ms(percentile(r.stopMs, 99))} | ${ms(Math.max(...r.stopMs))} | ${ms(percentile(r.groupGoneMs, 50))} / ${ms(Math.max(...r.groupGoneMs))} | ${Math.max(...r.overshoot)} | ${percentile(r.stopMs, 99) < CAP_TARGET_MS ? 'PASS' : 'MISS'} |`;
  return {
    pass,
    lines: [
      `**(b) From the cap passed to the agent gone**: \`runAgentTask\` with \`maxTokens: ${MAX_TOKENS}\` and a real orchestrator, the fake answering every request with another tool call of ${TURN.inputTokens + TURN.outputTokens} tokens; ` +
        `from the \`usage\` event that passes the cap (the run is aborted then) to \`run.ended\` (the process group gone, its output closed), ms, after one warm-up trial per CLI. ` +
        `p99 is the nearest rank: with ${results[0]?.stopMs.length ?? 0} trials it is the slowest one. Beside it, when the last live process of the group was gone (zombies left to init not counted).`,
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
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-agent-run-bench-')));
  const fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const stale = options.overhead && distIsStale();
  const sections: string[][] = [];
  let pass = true;
  try {
    if (stale) log('WARNING: src/ has files newer than dist/: the CLI measured may be old code (run npm run build)');
    if (options.overhead) {
      const { direct, asAgentvisorStartsIt, agentvisor } = await measureOverhead(fake, dir, options.runs);
      const part = overheadLines(direct, asAgentvisorStartsIt, agentvisor);
      sections.push(part.lines);
      pass &&= part.pass;
    }
    if (options.cap) {
      const results = [await measureCap(fake, dir, 'claude-code', options.trials), await measureCap(fake, dir, 'codex', options.trials)];
      const part = capLines(results);
      sections.push(part.lines);
      pass &&= part.pass;
    }
  } finally {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const text = [
    `Measured ${machine.date} by \`npm run bench\` on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), ${machine.platform}, Node ${machine.node}, commit ${machine.commit}${stale ? ', dist/ older than src/' : ''}; load average ${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? Number.NaN).toFixed(2)} after.`,
    '',
    ...sections.flatMap((lines) => [...lines, '']),
    'Alone, for quick iterations: `npm run build && npx tsc -p tsconfig.bench.json && node .bench-build/bench/agentRun.js [--runs N] [--trials N] [--only overhead|cap] [--no-write]` (`--only` never writes this section).',
  ].join('\n').trimEnd();
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
