/**
 * Runs `agentvisor batch` from source (ts-node, transpile only) in a hermetic temp folder against a
 * provider API fake, with only the keys a test gives it, and collects its output for secret scans.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FakeRequestRecord, ProviderApiFake } from '../../src/sandbox';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

export interface CliEnd {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly pid: number;
  readonly done: Promise<CliEnd>;
  /** What it printed so far (both streams). */
  output(): string;
}

export interface BatchWorkspace {
  readonly dir: string;
  /** The agents' working directory and the CLI's cwd. */
  readonly work: string;
  /** Everything every run printed, for the secret scan. */
  readonly outputs: string[];
  writeTasks(lines: readonly unknown[], name?: string): string;
  /** Starts the CLI with the given keys (only those) against the fake, plus any `env` of the test's own. */
  cli(args: readonly string[], keys: { readonly claude?: string; readonly openai?: string }, env?: Readonly<Record<string, string>>): CliRun;
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
      const child = spawn(process.execPath, ['-r', TS_NODE, path.join(root, 'src', 'cli', 'main.ts'), ...args], {
        cwd: work,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          TZ: 'UTC',
          CODEX_HOME: path.join(dir, '.codex'),
          CLAUDE_CONFIG_DIR: path.join(dir, '.claude'),
          TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          ...(keys.claude === undefined ? {} : { ANTHROPIC_API_KEY: keys.claude }),
          ...(keys.openai === undefined ? {} : { OPENAI_API_KEY: keys.openai }),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      const done = new Promise<CliEnd>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
        child.on('error', reject);
        child.on('close', (status, signal) => {
          clearTimeout(timer);
          outputs.push(stdout, stderr);
          resolve({ status, signal, stdout, stderr });
        });
      });
      return { pid: child.pid!, done, output: () => stdout + stderr };
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
