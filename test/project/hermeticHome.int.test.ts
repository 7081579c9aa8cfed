/**
 * The hermetic home of every test file (test/hermeticEnvironment.js): HOME, CODEX_HOME and
 * CLAUDE_CONFIG_DIR in a fresh folder of the file's own, removed when the file is done, also when a
 * `-t` pattern filters out every test of the file (jest then runs no afterAll; Stryker runs each
 * mutant that way).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

describe('the hermetic home of a test file', () => {
  it('should put HOME, CODEX_HOME and CLAUDE_CONFIG_DIR in a fresh folder under the temp folder', () => {
    const home = process.env.HOME ?? '';
    expect(path.basename(home)).toMatch(/^agentvisor-test-home-/);
    expect(fs.realpathSync(path.dirname(home))).toBe(fs.realpathSync(os.tmpdir()));
    expect(fs.statSync(home).isDirectory()).toBe(true);
    expect(process.env.CODEX_HOME).toBe(path.join(home, '.codex'));
    expect(process.env.CLAUDE_CONFIG_DIR).toBe(path.join(home, '.claude'));
  });

  it('should remove the folders of files that ran and of files whose tests a -t pattern filtered out', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hermetic-check-'));
    try {
      const run = (pattern: string) =>
        execFileSync(
          process.execPath,
          [
            path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
            '--runInBand',
            path.join('test', 'project', 'hermeticHome.int.test.ts'),
            '-t',
            pattern,
          ],
          { cwd: root, env: { ...process.env, TMPDIR: tmp }, stdio: 'pipe' },
        );
      run('should put HOME');
      run('no test has this name');
      expect(fs.readdirSync(tmp).filter((name) => name.startsWith('agentvisor-test-home-'))).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
