// @ts-check
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettierConfig from 'eslint-config-prettier';

/**
 * The layers of src/, lowest first (docs/architecture.md): a folder may import its own layer and
 * the ones before it, never one after it. A nested folder (credentials/sources) is a layer of its
 * own, below its parent. src/index.ts sits above every layer; machines/ is below all of them.
 */
const layers = [
  'errors',
  'schema', // checkOptions, lazySchema and the schema parts: everything above builds its option schemas with them
  'storage',
  'quota',
  'providers',
  'options', // the option schemas shared by createOrchestrator and the config file (ledger option, limits, providers, failure policy)
  'observability',
  'credentials/sources', // the credential file readers
  'oauth',
  'credentials',
  'config',
  'orchestrator',
  'sandbox',
  'agents',
  'cli',
  'entries',
];

/** Known imports against the layer order, each with its reason: `layer: [import patterns it may use]`. */
const layerExceptions = {
  // Required lazily (it loads zod) only when a check failed: the problem formatter the config file shares.
  schema: ['../config/configProblems'],
  // Type-only: a config file holds orchestrator options (the config ↔ orchestrator types move to src/options).
  config: ['../orchestrator/options', '../orchestrator/ledgerOption', '../orchestrator/providerSwitches'],
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The no-restricted-imports pattern that keeps `layer`'s files from importing any later layer. A
 * regex, not a gitignore group: a group cannot let a nested lower layer (credentials/sources) or an
 * exception through once it excluded the folder around it.
 */
function layerPattern(layer) {
  const index = layers.indexOf(layer);
  const allowed = [
    ...layers
      .slice(0, index)
      .filter((l) => l.includes('/') && layers.indexOf(l.split('/')[0]) > index)
      .map((l) => `${escape(path.posix.relative(layer, l))}(?:/|$)`),
    ...(layerExceptions[layer] ?? []).map((p) => `${escape(p)}$`),
  ];
  const forbidden = layers.slice(index + 1).map((target) =>
    // A later layer that is this one's parent (credentials for credentials/sources): the parent's own files.
    layer.startsWith(`${target}/`)
      ? `${escape(path.posix.relative(layer, target))}(?:/[^./][^/]*)?$`
      : `${escape(path.posix.relative(layer, target))}(?:/|$)`,
  );
  const below = layers.slice(0, index).join(', ') || 'nothing in src/';
  return {
    regex: `^${allowed.length ? `(?!${allowed.join('|')})` : ''}(?:${forbidden.join('|')})`,
    message: `layer order (docs/architecture.md): src/${layer} may import only ${below} (and machines/).`,
  };
}

/** Libraries that do I/O or keep global state: machines/ must stay pure and may use none of them. */
const ioLibraries = [
  'fs',
  'fs/*',
  'node:*',
  'net',
  'http',
  'https',
  'child_process',
  'os',
  'path',
  'crypto',
  'worker_threads',
  'ioredis',
  'pino',
  'pino-*',
  'eventemitter3',
  'commander',
  'nanoid',
  'ws',
  '@statelyai/*',
  'write-file-atomic',
  'proper-lockfile',
  'oauth4webapi',
  'prom-client',
  'cli-progress',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'bin/**',
      '.prof/**',
      '.bench-build/**',
      '.stryker-tmp/**',
      'reports/**',
      'test/summaryReporter.js',
      'test/hermeticEnvironment.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use `as const` objects and derived unions, not enums.' },
      ],
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/src', '**/src/**'], message: 'machines/ is pure: it must not import from src/.' },
            {
              group: ioLibraries,
              message: 'machines/ is pure: side effects belong in named actors and actions bound in src/.',
            },
          ],
        },
      ],
    },
  },
  // Files directly in each layer's folder (no layer has deeper folders of its own yet).
  ...layers.slice(0, -1).map((layer) => ({
    files: [`src/${layer}/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [layerPattern(layer)] }] },
  })),
  // Formatting is prettier's (npm run format); these two it cannot do: a long string stays long, a long file long.
  prettierConfig,
  {
    files: ['src/**/*.ts', 'machines/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.{ts,mjs}'],
    rules: { 'max-len': ['error', { code: 160 }] },
  },
  {
    files: ['src/**/*.ts', 'machines/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 400 }] },
  },
);
