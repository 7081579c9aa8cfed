/**
 * Runs the agentvisor CLI from source (ts-node, transpile only) as its own process, with only the
 * environment a test gives it: `runCliSync` / `startCli` for any command, and `makeBatchWorkspace`
 * for `agentvisor batch` in a hermetic temp folder against a provider API fake, collecting every
 * output for secret scans.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FakeRequestRecord, ProviderApiFake } from '../../src/sandbox';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');
const CLI_MAIN = path.join(root, 'src', 'cli', 'main.ts');

export interface CliEnd {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly pid: number;
  readonly done: Promise<CliEnd>;
  /** The CLI's stdin, with `stdinPipe`; null otherwise. */
  readonly stdin: NodeJS.WritableStream | null;
  /** What it printed so far (both streams). */
  output(): string;
}

export interface CliOptions {
  /** The CLI's working directory. */
  readonly cwd: string;
  /** HOME: the environment is PATH, HOME, TS_NODE_PROJECT and `env`, nothing inherited besides PATH. */
  readonly home: string;
  readonly env?: Readonly<Record<string, string>>;
  /** What the CLI reads on stdin (runCliSync only; startCli gives it none unless `stdinPipe`). */
  readonly input?: string;
  /** startCli: stdin is a pipe the test writes to (`CliRun.stdin`) instead of none. */
  readonly stdinPipe?: boolean;
  /** Scripts node loads (`-r`) before ts-node, e.g. a probe that reports on exit. */
  readonly preload?: readonly string[];
  /** The run is killed after this long (runCliSync: SIGTERM, default 60 s; startCli: SIGKILL, default never). */
  readonly timeoutMs?: number;
  /** Where both streams go when it ends, for the caller's secret scan. */
  readonly outputs?: string[];
}

function cliArgv(args: readonly string[], preload: readonly string[] = []): string[] {
  return [...preload.flatMap((script) => ['-r', script]), '-r', TS_NODE, CLI_MAIN, ...args];
}

function cliEnv(options: CliOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.home,
    TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
    ...options.env,
  };
}

/**
 * Runs the CLI to its end, blocking this process (so not against a fake served from here).
 *
 * @example const { status, stdout } = runCliSync(['--json', 'status'], { cwd: dir, home: dir });
 */
export function runCliSync(args: readonly string[], options: CliOptions): CliEnd {
  const result = spawnSync(process.execPath, cliArgv(args, options.preload), {
    cwd: options.cwd,
    encoding: 'utf8',
    env: cliEnv(options),
    input: options.input ?? '',
    timeout: options.timeoutMs ?? 60_000,
  });
  options.outputs?.push(result.stdout, result.stderr);
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Starts the CLI without blocking this process (a fake served from here can answer it).
 *
 * @example const { status, stdout } = await startCli(['test'], { cwd: root, home: dir, env: fakeEnv }).done;
 */
export function startCli(args: readonly string[], options: CliOptions): CliRun {
  const child = spawn(process.execPath, cliArgv(args, options.preload), {
    cwd: options.cwd,
    env: cliEnv(options),
    stdio: [options.stdinPipe === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  // Both output streams are pipes (stdio above); only stdin may be absent.
  const [stdoutPipe, stderrPipe] = [child.stdout!, child.stderr!];
  let stdout = '';
  let stderr = '';
  const done = new Promise<CliEnd>((resolve, reject) => {
    stdoutPipe.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    stderrPipe.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      options.outputs?.push(stdout, stderr);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { pid: child.pid!, done, stdin: child.stdin, output: () => stdout + stderr };
}

/**
 * The `--json` result of a command: its last stdout line.
 *
 * @example expect(lastJson(run.stdout)).toMatchObject({ ok: true });
 */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}

/**
 * Fails the test when any output holds a secret, or a long stretch of one (a key split or re-quoted).
 *
 * @example afterEach(() => expectNoSecrets(outputs, [CLAUDE_KEY]));
 */
export function expectNoSecrets(outputs: readonly string[], secrets: readonly string[]): void {
  for (const text of outputs) {
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(8, 40));
    }
  }
}

export interface BatchWorkspace {
  readonly dir: string;
  /** The agents' working directory and the CLI's cwd. */
  readonly work: string;
  /** Everything every run printed, for the secret scan. */
  readonly outputs: string[];
  writeTasks(lines: readonly unknown[], name?: string): string;
  /** Starts the CLI with the given keys (only those) against the fake, plus any `env` of the test's own. */
  cli(
    args: readonly string[],
    keys: { readonly claude?: string; readonly openai?: string },
    env?: Readonly<Record<string, string>>,
  ): CliRun;
  cleanup(): void;
}

/**
 * A temp folder (HOME, CODEX_HOME, CLAUDE_CONFIG_DIR and the work folder inside it) and a way to run
 * the CLI in it against `fake`.
 *
 * @example const ws = makeBatchWorkspace(fake); const run = ws.cli(['batch', ws.writeTasks(lines)], { claude: KEY });
 */
export function makeBatchWorkspace(fake: ProviderApiFake, prefix = 'cli-batch-'): BatchWorkspace {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const work = path.join(dir, 'work');
  fs.mkdirSync(work);
  const outputs: string[] = [];
  return {
    dir,
    work,
    outputs,
    writeTasks(lines, name = 'tasks.jsonl') {
      const file = path.join(dir, name);
      fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
      return file;
    },
    cli(args, keys, env = {}) {
      const keyEnv = {
        ...(keys.claude === undefined ? {} : { ANTHROPIC_API_KEY: keys.claude }),
        ...(keys.openai === undefined ? {} : { OPENAI_API_KEY: keys.openai }),
      };
      return startCli(args, {
        cwd: work,
        home: dir,
        outputs,
        timeoutMs: 100_000,
        env: {
          TZ: 'UTC',
          CODEX_HOME: path.join(dir, '.codex'),
          CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          ...keyEnv,
          ...env,
        },
      });
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** The JSON lines of a `--json` batch's stdout: one per task, the summary last. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Model requests (Claude Messages) whose body carries the given task text. */
export function messagesFor(fake: ProviderApiFake, text: string): FakeRequestRecord[] {
  return fake.requests.filter((r) => r.route === 'anthropic.messages' && JSON.stringify(r.body).includes(text));
}

/** Polls until `check` is true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
