import type { Config } from 'jest';

// ts-jest with isolatedModules only transpiles: type errors are caught by `npm run typecheck`.
// nanoid, @xstate/store and @statelyai/inspect ship ESM only, so Jest must transform them too.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|js|mjs)$': 'ts-jest' },
  transformIgnorePatterns: ['/node_modules/(?!(nanoid|@xstate/store|@statelyai/inspect)/)'],
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/summaryReporter.js'],
  setupFiles: ['<rootDir>/test/hermeticHome.js'],
  setupFilesAfterEnv: ['<rootDir>/test/hermeticHomeCleanup.ts'],
};

export default config;
