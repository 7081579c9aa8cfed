import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

let home: string;

beforeEach(() => {
  home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'demo-signal-')));
});

afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

/** Runs `agentvisor --audit demo` from source and sends SIGTERM once its progress shows a fallback. */
function demoStoppedAfterAFallback(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      path.join(root, 'src', 'cli', 'main.ts'),
      ...['--home', home, '--audit', 'demo', '--agents', '60', '--throttle-agents', '0'],
    ],
    { cwd: root, env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tsconfig.json') } },
  );
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!signalled && stdout.includes('falls back to')) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('agentvisor demo stopped by a signal', () => {
  it('should stop the agents, flush the audit trail and exit 143 on SIGTERM', async () => {
    const { code, stdout, stderr } = await demoStoppedAfterAFallback();
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(143);
    const fallbacksShown = stdout.split('\n').filter((line) => line.includes('falls back to')).length;
    expect(fallbacksShown).toBeGreaterThan(0);
    const file = path.join(home, 'audit', 'audit.jsonl');
    const entries = fs.existsSync(file)
      ? fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as { event: string; to?: string | null })
      : [];
    // Every fallback the progress showed was recorded before the process ended.
    expect(entries.filter((e) => e.event === 'agent.fallback' && e.to !== null).length).toBeGreaterThanOrEqual(
      fallbacksShown,
    );
    expect(stdout).toContain('stopped by SIGTERM');
  }, 120_000);
});
