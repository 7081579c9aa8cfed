import { DEFAULT_LIMITS, createOrchestrator } from '../../src';
import type { OrchestratorOptions } from '../../src';
import { agentvisorErrorOf } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, CLOSED_CIRCUIT } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('createOrchestrator', () => {
  it('should apply the default limits: claude 1,000,000 tokens/day and 10 at once, openai 500,000 and 8', async () => {
    const { orch } = await start();
    expect(DEFAULT_LIMITS).toEqual({
      claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
      openai: { dailyLimit: 500_000, maxConcurrent: 8 },
    });
    const stats = orch.stats();
    expect({
      providers: stats.providers,
      queued: stats.queued,
      day: stats.day,
      nextResetAt: stats.nextResetAt,
    }).toEqual({
      providers: {
        claude: {
          dailyLimit: 1_000_000,
          used: 0,
          reserved: 0,
          available: 1_000_000,
          active: 0,
          maxConcurrent: 10,
          effectiveLimit: 10,
          pausedUntil: null,
          overrun: 0,
          circuit: CLOSED_CIRCUIT,
          enabled: true,
          disabledBy: null,
          rolloutPercent: 100,
        },
        openai: {
          dailyLimit: 500_000,
          used: 0,
          reserved: 0,
          available: 500_000,
          active: 0,
          maxConcurrent: 8,
          effectiveLimit: 8,
          pausedUntil: null,
          overrun: 0,
          circuit: CLOSED_CIRCUIT,
          enabled: true,
          disabledBy: null,
          rolloutPercent: 100,
        },
      },
      queued: 0,
      day: '2026-03-10',
      nextResetAt: Date.parse('2026-03-11T00:00:00Z'),
    });
  });

  it('should enforce the default claude concurrency of 10', async () => {
    const { orch } = await start({ fallbackChain: ['claude'] });
    for (let i = 0; i < 10; i += 1) await orch.spawnAgent({ estimatedTokens: 1_000 });
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'concurrency-limit');
    expect(error.retryAfterMs).toBe(1_000);
    expect(orch.stats().providers.claude).toMatchObject({ active: 10, reserved: 10_000 });
  });

  it('should enforce the default openai concurrency of 8', async () => {
    const { orch } = await start({ fallbackChain: ['openai'] });
    for (let i = 0; i < 8; i += 1) await orch.spawnAgent({ estimatedTokens: 1_000 });
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000 }), 'concurrency-limit');
    expect(orch.stats().providers.openai).toMatchObject({ active: 8, reserved: 8_000 });
  });

  it('should merge partial limits with the defaults', async () => {
    const { orch } = await start({ limits: { claude: { maxConcurrent: 3 }, openai: { dailyLimit: 7_000 } } });
    expect(orch.stats().providers.claude).toMatchObject({ dailyLimit: 1_000_000, maxConcurrent: 3 });
    expect(orch.stats().providers.openai).toMatchObject({ dailyLimit: 7_000, maxConcurrent: 8 });
  });

  it.each([
    ['a negative daily limit', { limits: { claude: { dailyLimit: -1 } } }],
    ['a fractional daily limit', { limits: { claude: { dailyLimit: 10.5 } } }],
    ['a NaN daily limit', { limits: { openai: { dailyLimit: Number.NaN } } }],
    ['an infinite daily limit', { limits: { openai: { dailyLimit: Number.POSITIVE_INFINITY } } }],
    ['a negative maxConcurrent', { limits: { claude: { maxConcurrent: -2 } } }],
    ['a fractional maxConcurrent', { limits: { openai: { maxConcurrent: 1.5 } } }],
    ['a string limit', { limits: { claude: { dailyLimit: '1000' } } }],
    ['limits for an unknown provider', { limits: { gemini: { dailyLimit: 5 } } }],
    ['limits that are not an object', { limits: 5 }],
    ['an empty fallbackChain', { fallbackChain: [] }],
    ['a fallbackChain with duplicates', { fallbackChain: ['claude', 'claude'] }],
    ['a fallbackChain with an unknown provider', { fallbackChain: ['claude', 'mistral'] }],
    ['an unknown ledger', { ledger: 'redis' }],
    ['a zero leaseMs', { leaseMs: 0 }],
    ['a fractional sweepIntervalMs', { sweepIntervalMs: 1.5 }],
    ['a negative maxQueue', { maxQueue: -1 }],
    ['a lowWatermark above 1', { lowWatermark: 1.5 }],
    ['a NaN lowWatermark', { lowWatermark: Number.NaN }],
    ['a negative maxFallbacks', { maxFallbacks: -1 }],
    ['a negative retryHintMs', { retryHintMs: -5 }],
    ['a zero authTimeoutMs', { authTimeoutMs: 0 }],
    ['a malformed dailyReset.at', { dailyReset: { at: '24:00', timeZone: 'UTC' } }],
    ['an unknown dailyReset.timeZone', { dailyReset: { at: '00:00', timeZone: 'Mars/Olympus_Mons' } }],
    ['apiKeys for an unknown provider', { apiKeys: { gemini: 'x' } }],
    ['a non-string api key', { apiKeys: { claude: 42 } }],
    ['null options', null],
    ['a list for the options', []],
    ['a number for the options', 5],
  ])('should throw invalid-option at once for %s', async (_name, options) => {
    // The options are deliberately malformed, so they cannot have the OrchestratorOptions type.
    const error = await agentvisorErrorOf(
      () => createOrchestrator(options as unknown as OrchestratorOptions),
      'invalid-option',
    );
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('should allow 0 as a limit to disable a provider', async () => {
    const { orch } = await start({ limits: { claude: { dailyLimit: 0 }, openai: { maxConcurrent: 0 } } });
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'no-provider');
    expect(error.retryAfterMs).toBeNull();
  });
});
