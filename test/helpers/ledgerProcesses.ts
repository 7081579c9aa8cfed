/**
 * Starts ledgerWorker.ts child processes for the multi-process ledger tests and follows their
 * output: `waitForLine` resolves when the child printed a given line, `summary` when it finished.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkerSpec, WorkerSummary } from './ledgerWorker';

const REPO_ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(REPO_ROOT, 'test', 'helpers', 'ledgerWorker.ts');

export interface RunningWorker {
  readonly child: ChildProcess;
  /** Resolves once the child printed exactly this line. */
  waitForLine(line: string, timeoutMs?: number): Promise<void>;
  /** The child's summary; rejects with its stderr when it exits otherwise. */
  readonly summary: Promise<WorkerSummary>;
  /** Resolves when the process has exited (by any cause). */
  readonly exited: Promise<void>;
}

export function startLedgerWorker(spec: WorkerSpec): RunningWorker {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, JSON.stringify(spec)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (spec.barrier !== true) child.stdin!.end();
  const lines: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  let stderr = '';
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const summary = exited.then((code) => {
    const last = lines[lines.length - 1];
    if (code !== 0 || last === undefined || !last.startsWith('{'))
      throw new Error(`ledger worker ${spec.name} exited with ${code}: ${stderr.trim()}`);
    return JSON.parse(last) as WorkerSummary;
  });
  summary.catch(() => undefined);
  return {
    child,
    summary,
    exited: exited.then(() => undefined),
    waitForLine: (line, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (lines.includes(line)) return resolve();
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `ledger worker ${spec.name} did not print ${JSON.stringify(line)} within ${timeoutMs} ms: ${stderr.trim()}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          line,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(
            new Error(`ledger worker ${spec.name} exited before printing ${JSON.stringify(line)}: ${stderr.trim()}`),
          );
        });
      }),
  };
}

/** Starts workers with `barrier: true` and releases them together once every one printed `ready`. */
export async function startTogether(specs: readonly WorkerSpec[]): Promise<RunningWorker[]> {
  const workers = specs.map((spec) => startLedgerWorker({ ...spec, barrier: true }));
  await Promise.all(workers.map((w) => w.waitForLine('ready')));
  for (const w of workers) w.child.stdin!.end('go\n');
  return workers;
}

/** The most sessions held at once, replaying `+ id` / `- id` lines in the order they were appended. */
export function maxOverlap(eventLines: readonly string[]): number {
  let held = 0;
  let max = 0;
  for (const line of eventLines) {
    if (line.startsWith('+ ')) max = Math.max(max, (held += 1));
    else if (line.startsWith('- ')) held -= 1;
  }
  return max;
}
