'use strict';
/**
 * Jest setup: every test file runs with HOME, CODEX_HOME and CLAUDE_CONFIG_DIR pointing at a fresh
 * empty folder, so no test can read (or write) the real credentials of whoever runs the suite.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-test-home-'));
process.env.HOME = home;
process.env.CODEX_HOME = path.join(home, '.codex');
process.env.CLAUDE_CONFIG_DIR = path.join(home, '.claude');
