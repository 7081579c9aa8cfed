/**
 * Part (a) of bench/agentRun.ts: what `agentvisor run` adds around one trivial Claude Code run,
 * against Claude Code run directly with the same permissions, for both modes a user compares:
 * - read-only: `agentvisor run --sandbox read-only` against a bare `claude -p` (Claude Code's
 *   default permission mode, which refuses edits and commands in print mode);
 * - workspace-write (agentvisor's default): `agentvisor run` against `claude -p` with the
 *   permission mode and sandbox settings a user needs for the same capability.
 * A diagnostic row per mode runs Claude Code exactly as agentvisor starts it (its argv, env and a
 * fresh private home), without agentvisor: it splits each difference into Claude Code's own cost
 * under agentvisor's flags and home, and agentvisor's own process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLAUDE_WORKSPACE_SETTINGS, claudeCodeInvocation, createAgentHome } from '../../src/agents';
import type { SandboxMode } from '../../src/agents';
import { AGENT_QUIET_ENV } from '../../src/providers';
import type { ProviderApiFake } from '../../src/sandbox';
import { median } from './measure';

/** Bounds every run: a hung CLI fails the bench instead of stalling it. */
export const RUN_TIMEOUT_MS = 120_000;
export const RATIO_TARGET = 1.15;
const WARMUPS = 2;

/** Runs a process to its end without blocking this event loop (the fake answers from it). */
function timedRun(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
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

export interface Side {
  readonly name: string;
  readonly runs: number[];
}

/** One mode's three rows. */
export interface ModeSides {
  readonly mode: Extract<SandboxMode, 'read-only' | 'workspace-write'>;
  readonly direct: Side;
  readonly asAgentvisorStartsIt: Side;
  readonly agentvisor: Side;
}

interface Contender {
  readonly side: Side;
  /** The command line of one run; `done` cleans up after it. */
  prepare(): { command: string; args: readonly string[]; env: Record<string, string>; cwd: string; done?: () => void };
}

export interface OverheadSetup {
  readonly fake: ProviderApiFake;
  /** The bench's temp folder: every HOME lives below it. */
  readonly dir: string;
  readonly root: string;
  readonly claudeKey: string;
  readonly runs: number;
  readonly log: (line: string) => void;
}

/**
 * Both modes' rows, `runs` timed rounds after 2 warm-ups, every round in rotating order (each round
 * starts with the next contender, so none always runs first). The direct runs share one HOME, as a
 * user's `claude` does; the agentvisor runs share one agentvisor home (its ledger and audit trail
 * grow as a user's would) and each create and remove a private agent home, checked at the end.
 */
export async function measureOverhead(setup: OverheadSetup): Promise<ModeSides[]> {
  const claude = path.join(setup.root, 'node_modules', '.bin', 'claude');
  if (!fs.existsSync(claude))
    throw new Error(`${claude} is missing: run npm ci (the devDependency @anthropic-ai/claude-code)`);
  const pathVar = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  const keys = { ANTHROPIC_API_KEY: setup.claudeKey, ANTHROPIC_BASE_URL: setup.fake.anthropicBaseUrl };
  const homeOf = (name: string) => {
    const home = path.join(setup.dir, name);
    for (const sub of ['.codex', '.claude', 'tmp', 'work'])
      fs.mkdirSync(path.join(home, sub), { recursive: true, mode: 0o700 });
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
  // Short names: Claude Code's sandbox puts a socket at $TMPDIR/claude-http-<16 hex>.sock, and an
  // agent home nested deep in the bench's folder would pass the 107-byte limit of a socket path
  // (its network bridge then fails, about 0.6 s per run) where a user's /tmp does not.
  const direct = homeOf('d');
  const viaAgentvisor = homeOf('a');
  const privateHomes = homeOf('p');
  const socketPath = path.join(
    viaAgentvisor,
    'tmp',
    'agentvisor-agent-XXXXXX',
    'tmp',
    'claude-http-0123456789abcdef.sock',
  );
  if (Buffer.byteLength(socketPath) > 107)
    throw new Error(
      `the bench's folder ${setup.dir} is too deep for Claude Code's sandbox socket (${socketPath}): set TMPDIR to a shorter folder`,
    );
  const modes: ModeSides[] = [];
  const contenders: Contender[] = [];
  for (const mode of ['read-only', 'workspace-write'] as const) {
    const permissions =
      mode === 'read-only' ? [] : ['--permission-mode', 'acceptEdits', '--settings', CLAUDE_WORKSPACE_SETTINGS];
    const sandboxFlag = mode === 'read-only' ? ['--sandbox', 'read-only'] : [];
    const sides: ModeSides = {
      mode,
      direct: {
        name:
          `claude -p --output-format json ${permissions.map((a) => (a.startsWith('{') ? `'${a}'` : a)).join(' ')}` +
          `${permissions.length > 0 ? ' ' : ''}"say pong"`,
        runs: [],
      },
      asAgentvisorStartsIt: {
        name: `claude as agentvisor starts it for ${mode} (its argv, env and a fresh private home), without agentvisor`,
        runs: [],
      },
      agentvisor: {
        name: `agentvisor run --agent claude ${sandboxFlag.join(' ')}${sandboxFlag.length > 0 ? ' ' : ''}"say pong"`,
        runs: [],
      },
    };
    modes.push(sides);
    contenders.push(
      {
        side: sides.direct,
        prepare: () => ({
          command: claude,
          args: ['-p', '--output-format', 'json', ...permissions, 'say pong'],
          env: envOf(direct),
          cwd: path.join(direct, 'work'),
        }),
      },
      {
        side: sides.asAgentvisorStartsIt,
        prepare: () => {
          const home = createAgentHome({ parent: path.join(privateHomes, 'tmp') });
          const { args, env } = claudeCodeInvocation({
            task: 'say pong',
            agentEnv: { ...AGENT_QUIET_ENV, ...keys },
            home,
            hostEnv: { PATH: pathVar },
            sandbox: mode,
          });
          return { command: claude, args, env, cwd: path.join(privateHomes, 'work'), done: () => home.remove() };
        },
      },
      {
        side: sides.agentvisor,
        prepare: () => ({
          command: process.execPath,
          args: [path.join(setup.root, 'bin', 'agentvisor.js'), 'run', '--agent', 'claude', ...sandboxFlag, 'say pong'],
          env: envOf(viaAgentvisor),
          cwd: path.join(viaAgentvisor, 'work'),
        }),
      },
    );
  }
  for (let i = 0; i < WARMUPS + setup.runs; i += 1) {
    const shift = i % contenders.length;
    for (const c of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
      const { command, args, env, cwd, done } = c.prepare();
      const run = await timedRun(command, args, env, cwd);
      done?.();
      if (run.code !== 0 || !run.stdout.includes('pong'))
        throw new Error(`${c.side.name} failed (exit ${run.code}): ${run.stderr.slice(-400)}`);
      if (i >= WARMUPS) c.side.runs.push(run.ms);
    }
    const lastRuns = () => contenders.map((c) => c.side.runs.at(-1)!.toFixed(0)).join(' / ');
    setup.log(
      `overhead ${i < WARMUPS ? `warm-up ${i + 1}/${WARMUPS}` : `run ${i - WARMUPS + 1}/${setup.runs}: ${lastRuns()} ms`}`,
    );
  }
  const left = fs.readdirSync(path.join(viaAgentvisor, 'tmp')).filter((name) => name.startsWith('agentvisor-agent-'));
  if (left.length > 0) throw new Error(`agentvisor run left agent homes behind: ${left.join(', ')}`);
  return modes;
}

/** Nearest rank: the smallest sample with at least p% of the samples at or below it. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (n: number) => n.toFixed(0);

/** The table and one verdict per mode: PASS when agentvisor / direct (medians) ≤ RATIO_TARGET. */
export function overheadLines(modes: readonly ModeSides[]): { lines: string[]; pass: boolean } {
  const row = (s: Side, label: string, direct: Side) =>
    `| ${label} | ${ms(median(s.runs))} | ${ms(percentile(s.runs, 90))} | ${ms(Math.min(...s.runs))} | ${ms(Math.max(...s.runs))} | ` +
    `${(median(s.runs) / median(direct.runs)).toFixed(3)}× |`;
  const verdicts = modes.map((m) => {
    const ratio = median(m.agentvisor.runs) / median(m.direct.runs);
    const pass = ratio <= RATIO_TARGET;
    const claudeCost = median(m.asAgentvisorStartsIt.runs) - median(m.direct.runs);
    const ownCost = median(m.agentvisor.runs) - median(m.asAgentvisorStartsIt.runs);
    return {
      pass,
      line:
        `- **${m.mode}**: agentvisor / direct **${ratio.toFixed(3)}×** (+${ms(median(m.agentvisor.runs) - median(m.direct.runs))} ms), ` +
        `target ≤ ${RATIO_TARGET}×: **${pass ? 'PASS' : 'MISS'}**. ` +
        `Of the difference, ${ms(claudeCost)} ms is Claude Code itself under the argv, env and fresh home agentvisor gives it (the diagnostic row), ` +
        `${ms(ownCost)} ms agentvisor's own process.`,
    };
  });
  const runs = modes[0]?.direct.runs.length ?? 0;
  return {
    pass: verdicts.every((v) => v.pass),
    lines: [
      `**(a) Overhead around one trivial Claude Code run**, against Claude Code run directly with the same permissions ` +
        `(${runs} timed runs each after ${WARMUPS} warm-ups, all six interleaved in rotating order; wall time from spawn to exit, ms):`,
      '',
      '| mode | command | median | p90 | min | max | median / direct |',
      '|:---|:---|---:|---:|---:|---:|---:|',
      ...modes.flatMap((m) => [
        row(m.direct, `${m.mode} | \`${m.direct.name}\``, m.direct),
        row(m.agentvisor, `${m.mode} | \`${m.agentvisor.name}\``, m.direct),
        row(m.asAgentvisorStartsIt, `${m.mode} | diagnostic: ${m.asAgentvisorStartsIt.name}`, m.direct),
      ]),
      '',
      'Ratios of the medians (when issue 13 was filed, before the modes were told apart: ' +
        '2.35× a bare `claude -p`, 1.27× Claude Code as agentvisor started it for workspace-write):',
      '',
      ...verdicts.map((v) => v.line),
    ],
  };
}
