'use strict';
/**
 * Jest's node environment with a hermetic home: every test file runs with HOME, CODEX_HOME and
 * CLAUDE_CONFIG_DIR pointing at a fresh empty folder, so no test can read (or write) the real
 * credentials of whoever runs the suite, and the folder is removed when the file is done.
 *
 * The removal is the environment's teardown, not an afterAll: jest runs no afterAll in a file whose
 * tests are all filtered out (a `-t` pattern; Stryker runs each mutant with the pattern of the tests
 * that cover it), and a hook there left one folder per file and mutant (10,000 in a day of mutation runs).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

class HermeticHomeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.hermeticHome = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-test-home-'));
    const env = this.global.process.env;
    env.HOME = this.hermeticHome;
    env.CODEX_HOME = path.join(this.hermeticHome, '.codex');
    env.CLAUDE_CONFIG_DIR = path.join(this.hermeticHome, '.claude');
  }

  async teardown() {
    fs.rmSync(this.hermeticHome, { recursive: true, force: true });
    await super.teardown();
  }
}

module.exports = HermeticHomeEnvironment;
