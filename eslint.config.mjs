// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Libraries that do I/O or keep global state: machines/ must stay pure and may use none of them. */
const ioLibraries = [
  'fs', 'fs/*', 'node:*', 'net', 'http', 'https', 'child_process', 'os', 'path', 'crypto', 'worker_threads',
  'ioredis', 'pino', 'pino-*', 'eventemitter3', 'commander', 'nanoid', 'ws', '@statelyai/*',
  'write-file-atomic', 'proper-lockfile', 'oauth4webapi', 'prom-client', 'cli-progress',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', '.prof/**', '.bench-build/**', 'test/summaryReporter.js', 'test/hermeticHome.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', performance: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', NodeJS: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use `as const` objects and derived unions, not enums.' }],
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/src', '**/src/**'], message: 'machines/ is pure: it must not import from src/.' },
          { group: ioLibraries, message: 'machines/ is pure: side effects belong in named actors and actions bound in src/.' },
        ],
      }],
    },
  },
);
