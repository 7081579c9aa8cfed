/**
 * A bench stopped by a signal leaves nothing behind (bench/lib/stopSignals.ts): a real process
 * sets up the handlers over its own temp folder, starts a child in its process group and one
 * leading a group of its own whose grandchild has left the tree (as Claude Code's helpers do),
 * and is sent the signal.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Starts the children, writes their pids once every one runs, then waits to be stopped. */
const BENCH_LIKE = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const { cleanUpOnStopSignals } = require(${JSON.stringify(path.join(ROOT, 'bench', 'lib', 'stopSignals.ts'))});
const dir = process.argv[1];
cleanUpOnStopSignals(dir);
const inGroup = spawn('sleep', ['120'], { stdio: 'ignore' });
// As the bench does when a timed run fails: the exit code must still be the signal's.
inGroup.on('exit', () => process.exit(1));
// The subshell's sleep is orphaned at once: only its process group still ties it to the bench.
const ownGroup = spawn('sh', ['-c', '(sleep 120 & echo $! > "$1"); exec sleep 120', 'sh', dir + '/orphan'], {
  stdio: 'ignore',
  detached: true,
});
fs.mkdirSync(dir + '/work');
const wait = setInterval(() => {
  if (!fs.existsSync(dir + '/orphan') || fs.readFileSync(dir + '/orphan', 'utf8') === '') return;
  clearInterval(wait);
  const pids = [inGroup.pid, ownGroup.pid, Number(fs.readFileSync(dir + '/orphan', 'utf8'))];
  process.stdout.write(JSON.stringify(pids) + '\\n');
  setInterval(() => undefined, 1_000);
}, 10);
`;

/** Alive, and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

let dir: string;
let started: number[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avbench-signal-test-'));
  started = [];
});

afterEach(() => {
  for (const pid of started)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('cleanUpOnStopSignals', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)(
    'should kill every process started, remove the folder and exit with %s code %i',
    async (signal, code) => {
      const bench = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', BENCH_LIKE, dir], {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(bench.pid!);
      let stderr = '';
      bench.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => bench.on('exit', (exitCode) => resolve(exitCode)));
      const pids = await new Promise<number[]>((resolve, reject) => {
        bench.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as number[]));
        void exited.then(() => reject(new Error(`the bench-like process exited early: ${stderr}`)));
      });
      started.push(...pids);
      expect(pids.every(running)).toBe(true);
      expect(fs.existsSync(path.join(dir, 'work'))).toBe(true);

      bench.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toContain(`stopped by ${signal}`);
      expect(fs.existsSync(dir)).toBe(false);
      // The orphan is reaped by init (or a subreaper), which may take a moment.
      expect(await until(() => !pids.some(running), 5_000)).toBe(true);
    },
    60_000,
  );
});
