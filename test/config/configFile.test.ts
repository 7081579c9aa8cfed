/**
 * The config file (issue 15, item 4): read from real files in a temp home, validated by the zod
 * schema with the field named and a "did you mean" for unknown keys, never written, refused through
 * a symlink that leaves the home; `createOrchestrator({ configFile })` with options over it; the
 * committed JSON Schema matches a fresh generation; zod loads only when there is a file.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createManualClock, createOrchestrator } from '../../src';
import type { OrchestratorOptions } from '../../src';
import { closestName } from '../../src/config/closestName';
import { defaultConfigFile, overlayConfig, readConfigFile } from '../../src/config';
import { CONFIG_GROUPS } from '../../src/config/configTypes';
import { CONFIG_SCHEMA_FILE, GENERATE_CONFIG_SCHEMA, configJsonSchema } from '../../scripts/generateConfigSchema';
import { BOTH_KEYS_ENV, T0, agentvisorErrorOf } from '../helpers/orchestratorFixtures';

const root = path.join(__dirname, '..', '..');
let dir: string;
let home: string;
let file: string;

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'config-file-')));
  home = path.join(dir, 'home');
  file = defaultConfigFile(home);
  fs.mkdirSync(path.dirname(file), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(value: unknown, target = file): void {
  fs.writeFileSync(target, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

async function refusal(value: unknown, code: 'invalid-config' | 'insecure-permissions' = 'invalid-config') {
  if (value !== undefined) write(value);
  const before = fs.readFileSync(file);
  const error = await agentvisorErrorOf(() => readConfigFile(file, { home }), code);
  expect(fs.readFileSync(file)).toEqual(before);
  return error;
}

describe('readConfigFile', () => {
  it.each([
    ['no file', [null, { home: os.tmpdir() }]],
    ['an empty file name', ['', { home: os.tmpdir() }]],
    ['no options', [path.join(os.tmpdir(), 'missing-config.json'), null]],
  ])('should refuse %s with invalid-option, not a TypeError', (_what, args) => {
    const [file, options] = args as [string, { home: string }];
    expect(() => readConfigFile(file, options)).toThrow(expect.objectContaining({ code: 'invalid-option' }));
  });

  it('should give null for a missing file, and refuse it when required', async () => {
    expect(readConfigFile(file, { home })).toBeNull();
    const error = await agentvisorErrorOf(() => readConfigFile(file, { home, required: true }), 'invalid-config');
    expect(error.details).toMatchObject({ file, reason: 'missing' });
  });

  it('should read the settings, taking a relative ledger file from the config file folder', () => {
    write({
      $schema: '../schema/config.schema.json',
      limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } },
      fallbackChain: ['openai', 'claude'],
      ledger: { file: 'budget.json', leaseMs: 5_000 },
    });
    expect(readConfigFile(file, { home })).toEqual({
      file,
      settings: {
        $schema: '../schema/config.schema.json',
        limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 4 } },
        fallbackChain: ['openai', 'claude'],
        ledger: { file: path.join(path.dirname(file), 'budget.json'), leaseMs: 5_000 },
      },
    });
  });

  it('should refuse an unknown key with a did-you-mean hint and the field path, leaving the file as it is', async () => {
    const error = await refusal({ limits: { claude: { dailyTokens: 2_000_000 } } });
    expect(error.message).toBe(
      `Config file ${file}: limits.claude.dailyTokens: unknown setting; did you mean dailyLimit? (known: dailyLimit, maxConcurrent). It was left as it is.`,
    );
    expect(error.details).toEqual({
      file,
      reason: 'schema',
      field: 'limits.claude.dailyTokens',
      fields: ['limits.claude.dailyTokens'],
    });
  });

  it.each([
    [
      { limits: { claude: { dailyLimit: -5 } } },
      'limits.claude.dailyLimit',
      'expected a whole number from 0 to 1000000000000000, got -5',
    ],
    [
      { limits: { openai: { maxConcurrent: 1.5 } } },
      'limits.openai.maxConcurrent',
      'expected a whole number from 0 to 1000000, got 1.5',
    ],
    [{ limits: { anthropic: {} } }, 'limits.anthropic', 'unknown setting (known: claude, openai)'],
    [{ limits: 5 }, 'limits', 'expected an object, got 5'],
    [
      { fallbackChain: ['claud'] },
      'fallbackChain[0]',
      'expected a provider: claude or openai, got "claud"; did you mean "claude"?',
    ],
    [{ fallbackChain: ['openai', 'openai'] }, 'fallbackChain', 'expected each provider at most once'],
    [{ fallbackChain: [] }, 'fallbackChain', 'expected at least one provider'],
    [
      { providerPriority: 'subscriptoin' },
      'providerPriority',
      'expected one of subscription, prefer-claude, prefer-openai or a list of providers, got "subscriptoin"; did you mean "subscription"?',
    ],
    [
      { providers: { openai: { enable: false } } },
      'providers.openai.enable',
      'unknown setting; did you mean enabled? (known: enabled, rolloutPercent)',
    ],
    [
      { providers: { openai: { rolloutPercent: 101 } } },
      'providers.openai.rolloutPercent',
      'expected a whole number from 0 to 100, got 101',
    ],
    [
      { failurePolicy: { kinds: { 'invalid-request': { action: 'retry' } } } },
      'failurePolicy.kinds.invalid-request.action',
      `expected 'fail' (a request at fault fails on every provider), got "retry"`,
    ],
    [
      { failurePolicy: { kinds: { ratelimit: {} } } },
      'failurePolicy.kinds.ratelimit',
      'unknown setting; did you mean rate-limit? (known: auth, rate-limit, quota, overloaded, server, network, timeout, truncated, invalid-request)',
    ],
    [
      { failurePolicy: { baseDelayMs: 500, maxDelayMs: 100 } },
      'failurePolicy.baseDelayMs',
      'expected at most maxDelayMs (100), got 500',
    ],
    [
      { ledger: 'mem' },
      'ledger',
      `expected 'memory', 'file', { file } or { redis }, got "mem"; did you mean "memory"?`,
    ],
    [
      { ledger: 'redis://:hunter2@cache.internal:6379' },
      'ledger',
      `expected 'memory', 'file', { file } or { redis }, got a string`,
    ],
    [{ ledger: { file: 'a.json', redis: 'redis://h' } }, 'ledger', 'expected exactly one of file, redis'],
    [
      { ledger: { redis: 'http://h' } },
      'ledger.redis',
      'expected a URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)',
    ],
    [
      { ledger: { redis: 'redis://:hunter2@:6379' } },
      'ledger.redis',
      'expected a URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)',
    ],
    [
      { ledger: { file: 'a.json', whenUnavailable: { localShareOf: 0 } } },
      'ledger.whenUnavailable.localShareOf',
      'expected a whole number from 1 to 1000000, got 0',
    ],
    [
      { provider: {} },
      'provider',
      'unknown setting; did you mean providers? (known: $schema, limits, fallbackChain, providerPriority, providers, failurePolicy, ledger)',
    ],
  ])('should refuse %j naming the field', async (value, field, message) => {
    const error = await refusal(value);
    expect(error.details).toMatchObject({ reason: 'schema', field });
    expect(error.message).toBe(`Config file ${file}: ${field}: ${message}. It was left as it is.`);
    expect(error.message).not.toContain('hunter2');
  });

  it('should name up to three problems and count the rest', async () => {
    const error = await refusal({
      limits: { claude: { dailyLimit: -1, maxConcurrent: -1 }, openai: { dailyLimit: -1, maxConcurrent: -1 } },
    });
    expect(error.details.fields).toEqual([
      'limits.claude.dailyLimit',
      'limits.claude.maxConcurrent',
      'limits.openai.dailyLimit',
      'limits.openai.maxConcurrent',
    ]);
    expect(error.message).toMatch(/limits\.openai\.dailyLimit: [^;]+; and 1 more\. It was left as it is\.$/);
  });

  it('should refuse text that is not a JSON object without quoting it', async () => {
    const syntax = await refusal('{\n  "limits": { "claude": sk-ant-api03-SECRETSECRET }\n}');
    expect(syntax.details).toMatchObject({ reason: 'syntax' });
    expect(syntax.message).toBe(
      `Config file ${file} is not valid JSON: an unexpected character. It was left as it is; fix it.`,
    );
    const truncated = await refusal('{\n  "limits": {');
    expect(truncated.message).toBe(
      `Config file ${file} is not valid JSON at line 2, column 14: a property name in double quotes was expected. It was left as it is; fix it.`,
    );
    expect((await refusal('  \n')).details).toMatchObject({ reason: 'empty' });
    expect((await refusal('[1, 2]')).message).toContain('holds a list, not a JSON object of settings');
    expect((await refusal(`{ "$schema": "${'x'.repeat(300 * 1024)}" }`)).details).toMatchObject({
      reason: 'too-large',
    });
  });

  it("should refuse a folder or a FIFO in the file's place without hanging", async () => {
    fs.mkdirSync(file);
    expect((await agentvisorErrorOf(() => readConfigFile(file, { home }), 'invalid-config')).details).toMatchObject({
      reason: 'not-a-file',
    });
    fs.rmdirSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    expect((await agentvisorErrorOf(() => readConfigFile(file, { home }), 'invalid-config')).details).toMatchObject({
      reason: 'not-a-file',
    });
  });

  it('should follow a symlink that stays inside the home and refuse one that leaves it or dangles', async () => {
    const inside = path.join(home, 'settings.json');
    write({ fallbackChain: ['openai'] }, inside);
    fs.symlinkSync(inside, file);
    expect(readConfigFile(file, { home })?.settings).toEqual({ fallbackChain: ['openai'] });
    fs.unlinkSync(file);
    const outside = path.join(dir, 'elsewhere.json');
    write({ fallbackChain: ['openai'] }, outside);
    fs.symlinkSync(outside, file);
    const error = await agentvisorErrorOf(() => readConfigFile(file, { home }), 'insecure-permissions');
    expect(error.details).toEqual({ file, reason: 'symlink-outside-home' });
    fs.unlinkSync(file);
    fs.symlinkSync(path.join(dir, 'missing.json'), file);
    expect((await agentvisorErrorOf(() => readConfigFile(file, { home }), 'invalid-config')).details).toMatchObject({
      reason: 'dangling-symlink',
    });
  });
});

describe('overlayConfig', () => {
  it('should merge limits and providers per provider and field, and let any other option replace the file', () => {
    const settings = {
      limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 4 }, openai: { maxConcurrent: 2 } },
      providers: { openai: { rolloutPercent: 10 } },
      fallbackChain: ['openai', 'claude'] as const,
      ledger: 'file' as const,
    };
    expect(
      overlayConfig(settings, {
        limits: { claude: { maxConcurrent: 1 } },
        providers: { openai: { enabled: false } },
        ledger: 'memory',
        fallbackChain: undefined,
      }),
    ).toEqual({
      limits: { claude: { dailyLimit: 2_000_000, maxConcurrent: 1 }, openai: { maxConcurrent: 2 } },
      providers: { openai: { rolloutPercent: 10, enabled: false } },
      fallbackChain: ['openai', 'claude'],
      ledger: 'memory',
    });
  });
});

describe('closestName', () => {
  it.each([
    ['maxConcurent', ['dailyLimit', 'maxConcurrent'], 'maxConcurrent'],
    ['dailyTokens', ['dailyLimit', 'maxConcurrent'], 'dailyLimit'],
    ['rollout', ['enabled', 'rolloutPercent'], 'rolloutPercent'],
    ['fallbackchain', ['fallbackChain', 'failurePolicy'], 'fallbackChain'],
    ['budget', ['limits', 'ledger', 'providers'], null],
  ])('should suggest for %s', (typed, known, expected) => {
    expect(closestName(typed, known)).toBe(expected);
  });
});

describe('createOrchestrator({ configFile })', () => {
  const start = async (options: OrchestratorOptions) => {
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, clock: createManualClock(T0), home, ...options });
    await orch.start();
    return orch;
  };

  it('should apply the file under the options given in code', async () => {
    write({
      limits: { claude: { dailyLimit: 300_000, maxConcurrent: 3 } },
      providers: { openai: { enabled: false } },
      fallbackChain: ['openai', 'claude'],
      failurePolicy: { kinds: { overloaded: { action: 'fail' } } },
    });
    const orch = await start({ configFile: file, limits: { claude: { maxConcurrent: 2 } } });
    try {
      const { claude, openai } = orch.stats().providers;
      expect([claude.dailyLimit, claude.maxConcurrent, openai.dailyLimit, openai.maxConcurrent]).toEqual([
        300_000, 2, 500_000, 8,
      ]);
      expect([openai.enabled, openai.disabledBy]).toEqual([false, 'option']);
      expect(orch.providerOrder().order).toEqual(['openai', 'claude']);
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
      expect(agent.provider).toBe('claude');
      // The file's failure policy: an overloaded provider fails the request instead of a retry.
      await expect(agent.reportFailure({ kind: 'overloaded' })).rejects.toMatchObject({
        code: 'invalid-request',
        details: { kind: 'overloaded' },
      });
    } finally {
      await orch.stop();
    }
  });

  it("should keep the budget in the file's ledger, a relative path taken from the config file's folder", async () => {
    write({ ledger: { file: 'budget/ledger.json' } });
    const orch = await start({ configFile: file });
    try {
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
      agent.reportUsage({ inputTokens: 10, outputTokens: 5 });
      await agent.release();
      expect(orch.stats().ledger.backend).toBe('file');
      expect(fs.existsSync(path.join(path.dirname(file), 'budget', 'ledger.json'))).toBe(true);
    } finally {
      await orch.stop();
    }
  });

  it('should refuse a bad, missing or empty configFile at creation', async () => {
    write({ fallbackChain: ['claude', 'gemini'] });
    const bad = await agentvisorErrorOf(() => createOrchestrator({ home, configFile: file }), 'invalid-config');
    expect(bad.message).toContain('fallbackChain[1]: expected a provider: claude or openai, got "gemini"');
    expect(
      (
        await agentvisorErrorOf(
          () => createOrchestrator({ home, configFile: path.join(dir, 'nope.json') }),
          'invalid-config',
        )
      ).details,
    ).toMatchObject({ reason: 'missing' });
    await agentvisorErrorOf(() => createOrchestrator({ home, configFile: ' ' }), 'invalid-option');
  });
});

describe('the JSON Schema', () => {
  it('should be committed as generated from the zod schema', () => {
    const committed = fs.existsSync(CONFIG_SCHEMA_FILE) ? fs.readFileSync(CONFIG_SCHEMA_FILE, 'utf8') : '';
    if (committed !== configJsonSchema())
      throw new Error(`schema/config.schema.json is stale: run \`${GENERATE_CONFIG_SCHEMA}\` and commit the result`);
  });

  it('should refuse unknown keys and list every option group', () => {
    const schema = JSON.parse(configJsonSchema()) as {
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, { additionalProperties?: boolean }> }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(['$schema', ...CONFIG_GROUPS]);
    expect(schema.properties.limits?.properties?.claude?.additionalProperties).toBe(false);
  });
});

describe('loading zod', () => {
  const zodLoaded = (configFile: string): string => {
    const script = `require(${JSON.stringify(path.join(root, 'src', 'config', 'configFile.ts'))})
      .readConfigFile(${JSON.stringify(configFile)}, { home: ${JSON.stringify(home)} });
      process.stdout.write(String(Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]zod[\\\\/]/.test(k))));`;
    const result = spawnSync(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: dir, TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
        timeout: 60_000,
      },
    );
    expect(result.stderr).toBe('');
    return result.stdout;
  };

  it('should load zod only when there is a file to check', () => {
    expect(zodLoaded(file)).toBe('false');
    write({ limits: { openai: { maxConcurrent: 2 } } });
    expect(zodLoaded(file)).toBe('true');
  });
});
