import { isAgentvisorError } from '../../src/errors';
import { createMemoryLedger } from '../../src/quota';
import { resolveFailurePolicy } from '../../src/options/failurePolicyOptions';
import type { FailurePolicyOptions } from '../../src/providers';
import { resolveOptions } from '../../src/orchestrator/options';
import type { OrchestratorOptions } from '../../src/orchestrator/options';
import { systemClock } from '../../src/orchestrator/clock';
import { SecretMasker } from '../../src/observability/secretMasker';

/** A value the types refuse, as a JavaScript caller could pass it. */
function loose<T>(value: unknown): T {
  return value as T;
}

function refusal(act: () => unknown): { code: string; message: string; option: unknown } {
  try {
    act();
  } catch (error) {
    if (isAgentvisorError(error)) return { code: error.code, message: error.message, option: error.details?.option };
    throw error;
  }
  throw new Error('expected a refusal');
}

const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('createOrchestrator options (resolveOptions)', () => {
  it.each<[string, unknown, string, string]>([
    ['null options', null, '(options)', "createOrchestrator's options must be an object such as"],
    ['a list of options', [], '(options)', "createOrchestrator's options must be an object such as"],
    [
      'a clock without now',
      { clock: {} },
      'clock',
      'clock must be a clock: an object with now(), setTimeout(), clearTimeout()',
    ],
    [
      'a number for the logger',
      { logger: 5 },
      'logger',
      'logger must be a pino logger: an object with info(), warn(), error()',
    ],
    [
      'a logger without error',
      { logger: { info: () => undefined, warn: () => undefined } },
      'logger',
      'logger must be a pino logger',
    ],
    [
      'a misspelt fallbackChain',
      { fallbackchain: ['claude'] },
      'fallbackchain',
      'fallbackchain is not an option; did you mean fallbackChain?',
    ],
    [
      'a misspelt limit',
      { limits: { claude: { dailyTokens: 5 } } },
      'limits.claude.dailyTokens',
      'limits.claude.dailyTokens is not an option; did you mean dailyLimit?',
    ],
    [
      'a negative limit',
      { limits: { claude: { dailyLimit: -1 } } },
      'limits.claude.dailyLimit',
      'limits.claude.dailyLimit must be a whole number from 0 to',
    ],
    [
      'a ledger instance without reserve',
      { ledger: { instance: { settle: () => undefined } } },
      'ledger.instance',
      'ledger.instance must be a QuotaLedger: an object with reserve()',
    ],
    [
      'a secret masker without mask',
      { secretMasker: { add: () => true } },
      'secretMasker',
      'secretMasker must be a SecretMasker',
    ],
    ['authenticate that is not a function', { authenticate: 'env' }, 'authenticate', 'authenticate must be a function'],
    ['a fetch that is not a function', { oauth: { fetch: {} } }, 'oauth.fetch', 'oauth.fetch must be a fetch function'],
    [
      'a failure policy for an unknown kind',
      { failurePolicy: { kinds: { overloded: {} } } },
      'failurePolicy.kinds.overloded',
      'did you mean overloaded?',
    ],
    ['a string for lowWatermark', { lowWatermark: '10%' }, 'lowWatermark', 'lowWatermark must be a share from 0 to 1'],
  ])('should refuse %s with invalid-option naming the field', (_name, options, option, message) => {
    const refused = refusal(() => resolveOptions(loose<OrchestratorOptions>(options)));
    expect(refused.code).toBe('invalid-option');
    expect(refused.option).toBe(option);
    expect(refused.message).toContain(message);
  });

  it('should accept nothing, and a full option set with objects kept as given', () => {
    expect(resolveOptions().fallbackChain).toEqual(['claude', 'openai']);
    expect(resolveOptions(undefined).maxQueue).toBe(1000);
    const limits = { claude: { dailyLimit: 1_000, maxConcurrent: 1 }, openai: { dailyLimit: 0, maxConcurrent: 0 } };
    const instance = createMemoryLedger({ limits });
    const secretMasker = new SecretMasker();
    const full: OrchestratorOptions = {
      home: '/srv/agentvisor',
      env: {},
      apiKeys: { claude: 'sk-ant-test' },
      limits,
      ledger: { instance },
      fallbackChain: ['claude', 'openai'],
      providers: { openai: { enabled: false } },
      providerPriority: 'prefer-claude',
      circuit: { allowedFailures: 2 },
      failurePolicy: { maxRetries: 3, kinds: { auth: { action: 'fail' } } },
      adaptiveConcurrency: { growAfter: 3 },
      requeueThrottled: { maxRequeues: 2 },
      usageLimitPauseMs: 60_000,
      maxProviderResetMs: 60_000,
      whenPreferredBusy: 'wait',
      maxFallbacks: 1,
      leaseMs: 1_000,
      sweepIntervalMs: 1_000,
      dailyReset: { at: '06:00', timeZone: 'Europe/Berlin' },
      maxQueue: 5,
      lowWatermark: 0.2,
      retryHintMs: 10,
      logger: loose<OrchestratorOptions['logger']>(silentLogger),
      inspect: () => undefined,
      metrics: true,
      secretMasker,
      clock: systemClock,
      authenticate: () => ({ ok: false, reason: 'missing' }) as never,
      authTimeoutMs: 1_000,
      credentialSources: ['options', 'env'],
      claudeHome: '/srv/claude',
      credentialPermissions: 'error',
      oauth: { refreshClaudeCode: true, skewMs: 0, fetch: async () => new Response('{}') },
      envPassthrough: ['PATH'],
    };
    const resolved = resolveOptions(full);
    expect(resolved.clock).toBe(systemClock);
    expect(resolved.secretMasker).toBe(secretMasker);
    expect(resolved.circuit.allowedFailures).toBe(2);
    expect(resolved.budgets.claude.dailyLimit).toBe(1_000);
    expect(resolved.failurePolicy.policy['rate-limit'].maxRetries).toBe(3);
    void instance.close();
  });
});

describe('failure policy options (resolveFailurePolicy)', () => {
  it.each<[string, unknown, string, string]>([
    ['null', null, 'failurePolicy', 'failurePolicy must be an object such as { maxRetries: 2 }'],
    [
      'a string retry count',
      { maxRetries: '3' },
      'failurePolicy.maxRetries',
      'failurePolicy.maxRetries must be a whole number from 0 to 10, got "3"',
    ],
    [
      'a misspelt setting',
      { maxRetrys: 3 },
      'failurePolicy.maxRetrys',
      'failurePolicy.maxRetrys is not an option; did you mean maxRetries?',
    ],
  ])('should refuse %s with invalid-option naming the field', (_name, options, option, message) => {
    const refused = refusal(() => resolveFailurePolicy(loose<FailurePolicyOptions>(options)));
    expect(refused).toEqual({ code: 'invalid-option', option, message: expect.stringContaining(message) as unknown });
  });

  it('should accept undefined and a full policy', () => {
    expect(resolveFailurePolicy(undefined).server.maxRetries).toBe(2);
    const policy = resolveFailurePolicy({
      maxRetries: 1,
      baseDelayMs: 10,
      maxDelayMs: 100,
      maxRetryAfterMs: 1_000,
      kinds: { server: { action: 'fallback', maxRetries: 0 } },
    });
    expect(policy.server).toEqual({
      action: 'fallback',
      maxRetries: 0,
      baseDelayMs: 10,
      maxDelayMs: 100,
      maxRetryAfterMs: 1_000,
    });
  });
});
