import os from 'node:os';
import path from 'node:path';
import { FAILURE_KINDS, MAX_TOKENS, classifyFailure, isAgentvisorError } from '../../src';
import type { ErrorCode } from '../../src';
import { defaultHome, resolveOptions } from '../../src/orchestrator/options';
import type { OrchestratorOptions } from '../../src/orchestrator/options';
import { alreadyChecked } from '../../src/schema/checkOptions';
import { checkSpawn, checkUsage } from '../../src/orchestrator/validation';

function codeOf(call: () => unknown): ErrorCode | null {
  try {
    call();
  } catch (error) {
    if (isAgentvisorError(error)) return error.code;
    throw error;
  }
  return null;
}

/** Malformed input, as a host in plain JavaScript could pass it. */
function loose<T>(value: unknown): T {
  return value as T;
}

describe('checkSpawn', () => {
  it('should fill in the defaults', () => {
    expect(checkSpawn({ estimatedTokens: 10 })).toEqual({
      estimatedTokens: 10,
      taskKind: null,
      preferredProvider: null,
      agentId: null,
      task: null,
      waitMs: 0,
      priority: 0,
      whenPreferredBusy: null,
    });
  });

  it('should keep every valid option', () => {
    expect(
      checkSpawn({
        estimatedTokens: MAX_TOKENS,
        preferredProvider: 'openai',
        agentId: 'team/a-1:x@y.z',
        task: 't',
        waitMs: 2 ** 31 - 1,
        priority: -3,
        whenPreferredBusy: 'wait',
        taskKind: 'fix-test',
      }),
    ).toEqual({
      whenPreferredBusy: 'wait',
      estimatedTokens: MAX_TOKENS,
      taskKind: 'fix-test',
      preferredProvider: 'openai',
      agentId: 'team/a-1:x@y.z',
      task: 't',
      waitMs: 2 ** 31 - 1,
      priority: -3,
    });
  });

  it.each([
    ['no options', undefined, 'invalid-estimate'],
    ['null', null, 'invalid-estimate'],
    ['a missing estimate', {}, 'invalid-estimate'],
    ['an estimate of 0', { estimatedTokens: 0 }, 'invalid-estimate'],
    ['a negative estimate', { estimatedTokens: -1 }, 'invalid-estimate'],
    ['a NaN estimate', { estimatedTokens: Number.NaN }, 'invalid-estimate'],
    ['a fractional estimate', { estimatedTokens: 1.5 }, 'invalid-estimate'],
    ['an estimate above MAX_TOKENS', { estimatedTokens: MAX_TOKENS + 1 }, 'invalid-estimate'],
    ['an unknown provider', { estimatedTokens: 1, preferredProvider: 'gemini' }, 'invalid-option'],
    ['a waitMs above 2^31 - 1', { estimatedTokens: 1, waitMs: 2 ** 31 }, 'invalid-option'],
    ['a NaN waitMs', { estimatedTokens: 1, waitMs: Number.NaN }, 'invalid-option'],
    ['an unsafe priority', { estimatedTokens: 1, priority: 2 ** 60 }, 'invalid-option'],
    ['an agentId of 129 characters', { estimatedTokens: 1, agentId: 'a'.repeat(129) }, 'invalid-option'],
    ['an agentId with a newline', { estimatedTokens: 1, agentId: 'a\nb' }, 'invalid-option'],
    ['a numeric agentId', { estimatedTokens: 1, agentId: 7 }, 'invalid-option'],
  ])('should reject %s', (_name, options, code) => {
    expect(codeOf(() => checkSpawn(loose(options)))).toBe(code);
  });

  it.each([
    [
      'a misspelt option',
      { estimatedTokens: 1, waitms: 5 },
      'invalid-option',
      /waitms is not an option; did you mean waitMs\?/,
    ],
    [
      'an unknown provider',
      { estimatedTokens: 1, preferredProvider: 'gemini' },
      'invalid-option',
      /^preferredProvider must be a provider: claude or openai/,
    ],
    [
      'a fractional estimate',
      { estimatedTokens: 1.5 },
      'invalid-estimate',
      /^estimatedTokens must be a whole number from 1 to 1000000000/,
    ],
    ['a bad task kind', { taskKind: 'a b' }, 'invalid-option', /^taskKind must be 1-64 characters/],
    ['neither estimate nor task kind', { waitMs: 5 }, 'invalid-estimate', /needs estimatedTokens .* or a taskKind/],
  ])('should name the field and say what to give for %s', (_name, options, code, message) => {
    let error: unknown = null;
    try {
      checkSpawn(loose(options));
    } catch (caught) {
      error = caught;
    }
    expect(isAgentvisorError(error) && error.code).toBe(code);
    expect((error as Error).message).toMatch(message);
  });

  it('should skip the schema for options built from checked values (alreadyChecked)', () => {
    expect(checkSpawn(alreadyChecked({ estimatedTokens: 7, waitMs: 3 }))).toMatchObject({
      estimatedTokens: 7,
      waitMs: 3,
    });
  });

  it('should accept an agentId of 128 characters', () => {
    expect(checkSpawn({ estimatedTokens: 1, agentId: 'a'.repeat(128) }).agentId).toHaveLength(128);
  });

  it('should not echo a long value in full in the message', () => {
    let message = '';
    try {
      checkSpawn(loose({ estimatedTokens: 'x'.repeat(500) }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('estimatedTokens');
    expect(message.length).toBeLessThan(200);
  });
});

describe('checkUsage', () => {
  it('should return input + output', () => {
    expect(checkUsage({ inputTokens: 1_200, outputTokens: 300 })).toBe(1_500);
    expect(checkUsage({ inputTokens: 0, outputTokens: 0 })).toBe(0);
    expect(checkUsage({ inputTokens: MAX_TOKENS, outputTokens: 0 })).toBe(MAX_TOKENS);
  });

  it.each([
    ['null', null],
    ['a negative input', { inputTokens: -1, outputTokens: 0 }],
    ['a NaN output', { inputTokens: 0, outputTokens: Number.NaN }],
    ['a fractional input', { inputTokens: 0.5, outputTokens: 0 }],
    ['an input above MAX_TOKENS', { inputTokens: MAX_TOKENS + 1, outputTokens: 0 }],
    ['a sum above MAX_TOKENS', { inputTokens: MAX_TOKENS, outputTokens: 1 }],
    ['a missing output', { inputTokens: 3 }],
    ['a bigint', { inputTokens: BigInt(3), outputTokens: 0 }],
  ])('should reject %s with invalid-usage', (_name, report) => {
    expect(codeOf(() => checkUsage(loose(report)))).toBe('invalid-usage');
  });
});

describe('classifyFailure', () => {
  it.each([
    [401, 'auth'],
    [403, 'auth'],
    [429, 'rate-limit'],
    [529, 'overloaded'],
    [503, 'overloaded'],
    [500, 'server'],
    [502, 'server'],
    [599, 'server'],
    [0, 'network'],
    [400, 'invalid-request'],
    [404, 'invalid-request'],
    [422, 'invalid-request'],
  ])('should classify status %d as %s', (status, kind) => {
    expect(classifyFailure({ status }, 'claude', 0).kind).toBe(kind);
    expect(FAILURE_KINDS).toContain(kind);
  });

  it.each([
    ['a success status', { status: 200 }],
    ['a redirect', { status: 302 }],
    ['a negative status', { status: -1 }],
    ['a status above 599', { status: 600 }],
    ['a fractional status', { status: 500.5 }],
    ['a string status', { status: '500' }],
    ['a NaN retryAfterMs', { status: 429, retryAfterMs: Number.NaN }],
    ['a negative retryAfterMs', { status: 429, retryAfterMs: -1 }],
    ['null', null],
  ])('should reject %s with invalid-failure', (_name, report) => {
    expect(codeOf(() => classifyFailure(loose(report)))).toBe('invalid-failure');
  });
});

describe('resolveOptions', () => {
  it('should fill in the documented defaults', () => {
    const o = resolveOptions({ env: {} });
    expect(o.budgets).toEqual({
      claude: {
        dailyLimit: 1_000_000,
        maxConcurrent: 10,
        used: 0,
        reserved: 0,
        active: 0,
        overrun: 0,
        lowAnnounced: false,
      },
      openai: {
        dailyLimit: 500_000,
        maxConcurrent: 8,
        used: 0,
        reserved: 0,
        active: 0,
        overrun: 0,
        lowAnnounced: false,
      },
    });
    expect(o.fallbackChain).toEqual(['claude', 'openai']);
    expect(o.maxFallbacks).toBe(1);
    expect(o.leaseMs).toBe(2 * 60 * 60 * 1000);
    expect(o.sweepIntervalMs).toBe(60 * 60 * 1000);
    expect(o.dailyReset).toEqual({ at: '00:00', timeZone: 'UTC' });
    expect(o.maxQueue).toBe(1000);
    expect(o.lowWatermark).toBe(0.1);
    expect(o.retryHintMs).toBe(1000);
    expect(o.authTimeoutMs).toBe(30_000);
    expect(o.logger).toBeNull();
    expect(o.home).toBe(path.join(os.homedir(), '.codex'));
  });

  it('should default maxFallbacks to the chain length minus one', () => {
    expect(resolveOptions({ env: {}, fallbackChain: ['openai'] }).maxFallbacks).toBe(0);
  });

  it('should take home from CODEX_HOME unless it is blank', () => {
    expect(defaultHome({ CODEX_HOME: '/srv/codex' })).toBe('/srv/codex');
    expect(defaultHome({ CODEX_HOME: '  ' })).toBe(path.join(os.homedir(), '.codex'));
    expect(resolveOptions({ env: {}, home: '/tmp/x' }).home).toBe('/tmp/x');
  });

  it.each([
    ['limits.claude.dailyLimit', { limits: { claude: { dailyLimit: -1 } } }],
    ['limits.openai.maxConcurrent', { limits: { openai: { maxConcurrent: 0.5 } } }],
    ['leaseMs', { leaseMs: 2 ** 31 }],
    ['sweepIntervalMs', { sweepIntervalMs: 0 }],
    ['maxQueue', { maxQueue: Number.NaN }],
  ])('should name %s in the invalid-option error', (name, options) => {
    let error: unknown = null;
    try {
      resolveOptions(loose<OrchestratorOptions>({ env: {}, ...options }));
    } catch (e) {
      error = e;
    }
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toContain(name);
  });
});
