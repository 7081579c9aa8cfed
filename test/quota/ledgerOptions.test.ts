import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAgentvisorError } from '../../src/errors';
import type { AgentvisorError } from '../../src/errors';
import { createFileLedger, createMemoryLedger } from '../../src/quota';
import type { LedgerConfig } from '../../src/quota';
import { createRedisLedger } from '../../src/quota/redisLedger';

const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 1_000, maxConcurrent: 2 },
  openai: { dailyLimit: 1_000, maxConcurrent: 2 },
};

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-options-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The three constructors, each with options it accepts; the cases below add or spoil one field. */
const constructors = {
  createMemoryLedger: (extra: object) => createMemoryLedger({ limits: LIMITS, ...extra }),
  createFileLedger: (extra: object) =>
    createFileLedger({ file: path.join(dir, 'ledger.json'), limits: LIMITS, ...extra }),
  // A URL that nothing listens on: a refused option never gets as far as connecting.
  createRedisLedger: (extra: object) => createRedisLedger({ redis: 'redis://127.0.0.1:1/0', limits: LIMITS, ...extra }),
};

function thrownBy(create: () => unknown): AgentvisorError {
  try {
    const made = create() as { close?: () => Promise<void> };
    // Only when the check under test is broken: the ledger must not keep a connection open.
    void made?.close?.();
  } catch (error) {
    if (isAgentvisorError(error)) return error;
    throw error;
  }
  throw new Error('expected the constructor to throw');
}

function expectRefused(create: () => unknown, option: string, message: RegExp): void {
  const error = thrownBy(create);
  expect(error.code).toBe('invalid-option');
  expect(error.details.option).toBe(option);
  expect(error.message).toMatch(message);
}

describe.each(Object.entries(constructors))('%s', (_call, create) => {
  it('should refuse an unknown option with a did-you-mean hint', () => {
    expectRefused(
      () => create({ dailyRest: { at: '06:00', timeZone: 'UTC' } }),
      'dailyRest',
      /did you mean dailyReset\?/,
    );
  });

  it('should refuse an unknown or mistyped field inside limits', () => {
    expectRefused(
      () => create({ limits: { ...LIMITS, claude: { dailyLimit: 1, maxConcurent: 1 } } }),
      'limits.claude.maxConcurrent',
      /must be a whole number from 0 to 1000000, got nothing \(also: limits\.claude\.maxConcurent\)/,
    );
    expectRefused(() => create({ limits: { ...LIMITS, gemini: LIMITS.claude } }), 'limits.gemini', /is not an option/);
  });

  it('should refuse limits of the wrong type or out of range', () => {
    expectRefused(() => create({ limits: 5 }), 'limits', /^limits must be \{ claude: \{ dailyLimit, maxConcurrent \}/);
    expectRefused(
      () => create({ limits: { claude: LIMITS.claude } }),
      'limits.openai',
      /^limits\.openai must be \{ dailyLimit, maxConcurrent \} \(0 disables the provider\), got nothing$/,
    );
    expectRefused(
      () => create({ limits: { ...LIMITS, claude: { dailyLimit: 10 ** 15 + 1, maxConcurrent: 1 } } }),
      'limits.claude.dailyLimit',
      /^limits\.claude\.dailyLimit must be a whole number from 0 to 1000000000000000, got 1000000000000001$/,
    );
    expectRefused(
      () => create({ limits: { ...LIMITS, openai: { dailyLimit: 1, maxConcurrent: '2' } } }),
      'limits.openai.maxConcurrent',
      /must be a whole number from 0 to 1000000, got "2"/,
    );
  });

  it('should refuse a clock that is not a function and a daily reset it cannot use', () => {
    expectRefused(
      () => create({ now: 1_700_000_000_000 }),
      'now',
      /^now must be a function returning epoch milliseconds/,
    );
    expectRefused(
      () => create({ dailyReset: { at: '00:00', timeZone: 'Mars/Base' } }),
      'dailyReset.timeZone',
      /time zone this Node\.js knows/,
    );
  });
});

describe.each([
  ['createMemoryLedger', (options: unknown) => createMemoryLedger(options as LedgerConfig)],
  ['createFileLedger', (options: unknown) => createFileLedger(options as never)],
  ['createRedisLedger', (options: unknown) => createRedisLedger(options as never)],
] as const)('%s', (call, create) => {
  it.each([null, undefined, 'memory', [LIMITS]])('should refuse %j as its options, naming the call', (options) => {
    expectRefused(() => create(options), '(options)', new RegExp(`^${call}'s options must be an object such as \\{ `));
  });
});

describe('createFileLedger', () => {
  it('should refuse its own options out of range, creating nothing', () => {
    const file = path.join(dir, 'ledger.json');
    expectRefused(
      () => createFileLedger({ file: ' ', limits: LIMITS }),
      'file',
      /^file must be the path of the ledger file$/,
    );
    expectRefused(
      () => createFileLedger({ file, limits: LIMITS, lockStaleMs: 1_999 }),
      'lockStaleMs',
      /from 2000 to 2147483647, got 1999$/,
    );
    expectRefused(
      () => createFileLedger({ file, limits: LIMITS, lockTimeoutMs: -1 }),
      'lockTimeoutMs',
      /from 0 to 2147483647, got -1$/,
    );
    expectRefused(
      () => createFileLedger({ file, limits: LIMITS, home: 7 as never }),
      'home',
      /^home must be a folder path/,
    );
    expectRefused(
      () => createFileLedger({ file, limits: LIMITS, lockTimeot: 100 } as never),
      'lockTimeot',
      /did you mean lockTimeoutMs\?/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('createRedisLedger', () => {
  it('should refuse a URL that is not a Redis one, and a client without the methods it calls', () => {
    const url = /^redis must be a URL such as redis:\/\/127\.0\.0\.1:6379\/0/;
    expectRefused(() => createRedisLedger({ redis: 'http://example.com', limits: LIMITS }), 'redis', url);
    expectRefused(() => createRedisLedger({ redis: 'not a url', limits: LIMITS }), 'redis', url);
    const client =
      /^redis must be a redis:\/\/ URL or an ioredis client: an object with evalsha\(\), eval\(\), script\(\)/;
    const halfAClient = { status: 'ready', options: {}, evalsha: async () => null, quit: async () => 'OK' };
    expectRefused(() => createRedisLedger({ redis: halfAClient as never, limits: LIMITS }), 'redis', client);
    expectRefused(() => createRedisLedger({ redis: 42 as never, limits: LIMITS }), 'redis', client);
    expectRefused(() => createRedisLedger({ limits: LIMITS } as never), 'redis', client);
  });

  it('should refuse its own options out of range', () => {
    const redis = 'redis://127.0.0.1:1/0';
    expectRefused(
      () => createRedisLedger({ redis, limits: LIMITS, keyPrefix: 'has space' }),
      'keyPrefix',
      /^keyPrefix must be 1-64 characters/,
    );
    expectRefused(
      () => createRedisLedger({ redis, limits: LIMITS, keyPrefix: 'x'.repeat(65) }),
      'keyPrefix',
      /1-64 characters/,
    );
    expectRefused(
      () => createRedisLedger({ redis, limits: LIMITS, clock: 'mine' as 'server' }),
      'clock',
      /^clock must be 'server' or 'caller', got "mine"$/,
    );
    expectRefused(
      () => createRedisLedger({ redis, limits: LIMITS, timeout: 60_001 }),
      'timeout',
      /from 1 to 60000, got 60001$/,
    );
    expectRefused(
      () => createRedisLedger({ redis, limits: LIMITS, keyprefix: 'a:' } as never),
      'keyprefix',
      /did you mean keyPrefix\?/,
    );
  });
});
