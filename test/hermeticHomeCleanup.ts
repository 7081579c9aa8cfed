/**
 * Jest setup (after the framework): removes the test file's hermetic home (test/hermeticHome.js)
 * when the file is done, so a test run leaves no folder behind. Only a folder that is ours by its
 * name, directly under the temp folder, is removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const home = process.env.HOME;

afterAll(() => {
  if (home === undefined || !path.basename(home).startsWith('agentvisor-test-home-')) return;
  const parent = path.dirname(home);
  if (parent !== os.tmpdir() && parent !== fs.realpathSync(os.tmpdir())) return;
  fs.rmSync(home, { recursive: true, force: true });
});
