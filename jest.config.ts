import type { Config } from 'jest';

// ts-jest with isolatedModules only transpiles: type errors are caught by `npm run typecheck`.
// @statelyai/inspect ships ESM only, so Jest must transform it (loaded lazily, only by inspector
// code: the package itself needs no transform, see docs/api.md "Package entry points").
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|js|mjs)$': 'ts-jest' },
  transformIgnorePatterns: ['/node_modules/(?!@statelyai/inspect/)'],
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/summaryReporter.js'],
  setupFiles: ['<rootDir>/test/hermeticHome.js'],
  setupFilesAfterEnv: ['<rootDir>/test/hermeticHomeCleanup.ts'],
};

export default config;
