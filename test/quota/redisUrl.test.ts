/**
 * One rule for a Redis URL (isRedisUrl) wherever one is given: the ledger constructors, the
 * orchestrator's `ledger` option and the config file. The config file's JSON Schema carries
 * REDIS_URL_PATTERN, which must agree with isRedisUrl except where only a URL parser can tell.
 */
import fs from 'node:fs';
import { isAgentvisorError } from '../../src/errors';
import { ledgerSchema } from '../../src/options/ledgerOptions';
import { resolveOptions } from '../../src/orchestrator/options';
import type { OrchestratorOptions } from '../../src/orchestrator/options';
import { REDIS_URL_PATTERN, checkLedgerOptions, isRedisUrl } from '../../src/quota/ledgerConfigSchema';
import type { LedgerConfig } from '../../src/quota';
import { CONFIG_SCHEMA_FILE } from '../../scripts/generateConfigSchema';

const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 1_000, maxConcurrent: 2 },
  openai: { dailyLimit: 1_000, maxConcurrent: 2 },
};

/** The password every URL below that has one uses: no message may show it. */
const PASSWORD = 'hunter2';

const ACCEPTED = [
  'redis://127.0.0.1:6379/0',
  'rediss://host:6380/2',
  `redis://user:${PASSWORD}@host`,
  `redis://:${PASSWORD}@cache.internal:6379`,
  'redis://[::1]:6379',
  'redis://host/0?family=6',
  'redis://host:',
];

const REFUSED = [
  'redis://:6379',
  'redis://',
  `redis://user:${PASSWORD}@`,
  `redis://user:${PASSWORD}@:6379`,
  'redis:///tmp/redis.sock', // a Unix socket: ioredis takes it as { path }, not as a URL
  'unix:///tmp/redis.sock',
  'http://example.com',
  'redis:host',
  'redis://host:port',
  'redis://ho st',
  ' redis://host',
  'REDIS://host',
  'not a url',
];

/** Of the form REDIS_URL_PATTERN gives, but refused by the URL parser: an editor cannot flag these. */
const PATTERN_ONLY = ['redis://host:65536', 'redis://[1:2]:6379'];

function refusalOf(act: () => unknown): { code: string; message: string; option: unknown } | null {
  try {
    act();
  } catch (error) {
    if (isAgentvisorError(error)) return { code: error.code, message: error.message, option: error.details?.option };
    throw error;
  }
  return null;
}

describe('a Redis URL', () => {
  it.each([...ACCEPTED.map((url) => [url, true] as const), ...REFUSED.map((url) => [url, false] as const)])(
    'should give %j the same answer (accepted: %s) from isRedisUrl and REDIS_URL_PATTERN',
    (url, accepted) => {
      expect(isRedisUrl(url)).toBe(accepted);
      expect(REDIS_URL_PATTERN.test(url)).toBe(accepted);
    },
  );

  it.each(PATTERN_ONLY)('should let only the URL parser refuse %j', (url) => {
    expect(REDIS_URL_PATTERN.test(url)).toBe(true);
    expect(isRedisUrl(url)).toBe(false);
  });

  it('should be the pattern of ledger.redis in the committed JSON Schema', () => {
    const schema = fs.readFileSync(CONFIG_SCHEMA_FILE, 'utf8');
    expect(schema).toContain(JSON.stringify(REDIS_URL_PATTERN.source));
    expect(new RegExp(REDIS_URL_PATTERN.source, 'u').test('redis://127.0.0.1:6379/0')).toBe(true);
  });

  it.each([...REFUSED, ...PATTERN_ONLY])(
    'should refuse %j with invalid-option naming the field, in the constructor and the orchestrator option',
    (url) => {
      const inConstructor = refusalOf(() => checkLedgerOptions('redis', { redis: url, limits: LIMITS }));
      const inOption = refusalOf(() => resolveOptions({ ledger: { redis: url } } as OrchestratorOptions));
      expect(inConstructor).toEqual({
        code: 'invalid-option',
        option: 'redis',
        message: 'redis must be a URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)',
      });
      expect(inOption).toEqual({
        code: 'invalid-option',
        option: 'ledger.redis',
        message: 'ledger.redis must be a URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)',
      });
      expect(ledgerSchema().safeParse({ redis: url }).success).toBe(false);
    },
  );

  it.each(ACCEPTED)('should accept %j in the constructor, the orchestrator option and the config file', (url) => {
    expect(refusalOf(() => checkLedgerOptions('redis', { redis: url, limits: LIMITS }))).toBeNull();
    expect(refusalOf(() => resolveOptions({ ledger: { redis: url } }))).toBeNull();
    expect(ledgerSchema().safeParse({ redis: url, keyPrefix: 'team-a' }).success).toBe(true);
  });
});
