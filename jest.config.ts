import path from 'node:path';
import type { Config } from 'jest';

// ts-jest with isolatedModules only transpiles: type errors are caught by `npm run typecheck`.
// @statelyai/inspect ships ESM only, so Jest must transform it (loaded lazily, only by inspector
// code: the package itself needs no transform, see docs/api.md "Package entry points").
const config: Config = {
  // Node's environment with a fresh HOME per test file, removed at the file's end. An absolute path, not
  // `<rootDir>/…`: StrykerJS's jest runner resolves the environment itself and knows no <rootDir>.
  testEnvironment: path.join(__dirname, 'test', 'hermeticEnvironment.js'),
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|js|mjs)$': 'ts-jest' },
  transformIgnorePatterns: ['/node_modules/(?!@statelyai/inspect/)'],
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/summaryReporter.js'],
};

export default config;
