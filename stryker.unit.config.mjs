// The fast mutation pass: stryker.config.json without the tests that replay paths against the real orchestrator
// (the three model tests and the two orchestrator property tests). Stryker's jest runner loads every test file for
// each mutant (it filters by test name only), so those files cost seconds per mutant even when they cover nothing.
import { readFileSync } from 'node:fs';

// Stryker runs from the repository root.
const base = JSON.parse(readFileSync('stryker.config.json', 'utf8'));

export default {
  ...base,
  jest: {
    ...base.jest,
    config: {
      ...base.jest.config,
      testMatch: ['<rootDir>/test/machines/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.model\\.test\\.ts$'],
    },
  },
};
