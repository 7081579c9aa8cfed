/**
 * Starts test/helpers/orchestratorScriptWorker.ts in a child process and talks to it: `send` a
 * command, `next` waits for the answer of a kind (and id), `kill` sends a signal and waits for the
 * exit. Every child is killed by `killAll` (call it in afterEach).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const WORKER = path.join(__dirname, 'orchestratorScriptWorker.ts');
const children = new Set<ChildProcess>();

export interface WorkerMessage {
  readonly op: string;
  readonly id?: string;
  readonly [key: string]: unknown;
}

export interface ScriptedOrchestrator {
  send(command: Record<string, unknown>): void;
  next(op: string, id?: string, timeoutMs?: number): Promise<WorkerMessage>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startScripted(spec: Record<string, unknown>): Promise<ScriptedOrchestrator> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, JSON.stringify(spec)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const messages: WorkerMessage[] = [];
  let err = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') messages.push(JSON.parse(line) as WorkerMessage);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = async (op: string, id?: string, timeoutMs = 20_000): Promise<WorkerMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = messages.findIndex(
        (m) => (m.op === op || (op === 'spawned' && m.op === 'refused')) && (id === undefined || m.id === id),
      );
      if (at >= 0) return messages.splice(at, 1)[0]!;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `worker exited (${child.exitCode ?? child.signalCode}) before answering ${op}: ${err.slice(-2000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`worker did not answer ${op} ${id ?? ''} within ${timeoutMs} ms: ${err.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  await next('ready', undefined, 30_000);
  return {
    send: (command) => child.stdin!.write(`${JSON.stringify(command)}\n`),
    next,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      children.delete(child);
    },
  };
}

export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      children.delete(child);
    }),
  );
}
