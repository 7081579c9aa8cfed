import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO_ROOT = path.join(__dirname, '..', '..');
const PROBE = path.join(REPO_ROOT, 'test', 'helpers', 'cliZodProbe.ts');
const run = promisify(execFile);

async function probe(mode: 'cli' | 'library'): Promise<{ before: boolean; after: boolean }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-zod-'));
  try {
    const { stdout } = await run(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), PROBE, home, mode],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json') },
        timeout: 60_000,
      },
    );
    return JSON.parse(stdout) as { before: boolean; after: boolean };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

describe('zod on the CLI run path (docs/decisions.md D42)', () => {
  jest.setTimeout(120_000);

  it('should start and stop the orchestrator of `run` without loading zod', async () => {
    expect(await probe('cli')).toEqual({ before: false, after: false });
  });

  it('should load zod when a library caller creates an orchestrator, as its options are checked', async () => {
    expect(await probe('library')).toEqual({ before: false, after: true });
  });
});
