import { AGENT_QUIET_ENV, AgentvisorError, DEFAULT_LIMITS, MAX_TOKENS, Secret, createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent, Orchestrator, OrchestratorOptions } from '../../src';
import {
  BOTH_KEYS_ENV,
  FAKE_CLAUDE_KEY,
  FAKE_OPENAI_KEY,
  HOUR,
  MINUTE,
  T0,
  agentvisorErrorOf,
  budgetsOf,
  flushMicrotasks,
  startHarness,
} from '../helpers/orchestratorFixtures';
import type { Harness } from '../helpers/orchestratorFixtures';

const started: Orchestrator[] = [];

async function start(options: OrchestratorOptions = {}, startMs = T0): Promise<Harness> {
  const harness = await startHarness(options, startMs);
  started.push(harness.orch);
  return harness;
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; settled: () => boolean } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { promise, settled: () => done };
}

afterEach(async () => {
  for (const orch of started.splice(0)) await orch.stop();
});


/** A provider's circuit at start: closed, nothing counted. */
const CLOSED_CIRCUIT = { state: 'closed', openUntil: null, failures: 0, requests: 0, openings: 0 } as const;

describe('createOrchestrator', () => {
  it('should apply the default limits: claude 1,000,000 tokens/day and 10 at once, openai 500,000 and 8', async () => {
    const { orch } = await start();
    expect(DEFAULT_LIMITS).toEqual({ claude: { dailyLimit: 1_000_000, maxConcurrent: 10 }, openai: { dailyLimit: 500_000, maxConcurrent: 8 } });
    const stats = orch.stats();
    expect({ providers: stats.providers, queued: stats.queued, day: stats.day, nextResetAt: stats.nextResetAt }).toEqual({
      providers: {
        claude: { dailyLimit: 1_000_000, used: 0, reserved: 0, available: 1_000_000, active: 0, maxConcurrent: 10, effectiveLimit: 10, pausedUntil: null, overrun: 0, circuit: CLOSED_CIRCUIT, enabled: true, disabledBy: null, rolloutPercent: 100 },
        openai: { dailyLimit: 500_000, used: 0, reserved: 0, available: 500_000, active: 0, maxConcurrent: 8, effectiveLimit: 8, pausedUntil: null, overrun: 0, circuit: CLOSED_CIRCUIT, enabled: true, disabledBy: null, rolloutPercent: 100 },
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
  ])('should throw invalid-option at once for %s', async (_name, options) => {
    // The options are deliberately malformed, so they cannot have the OrchestratorOptions type.
    const error = await agentvisorErrorOf(() => createOrchestrator(options as unknown as OrchestratorOptions), 'invalid-option');
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('should allow 0 as a limit to disable a provider', async () => {
    const { orch } = await start({ limits: { claude: { dailyLimit: 0 }, openai: { maxConcurrent: 0 } } });
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'no-provider');
    expect(error.retryAfterMs).toBeNull();
  });
});

describe('Orchestrator lifecycle', () => {
  it('should refuse to spawn, expose the actor or give stats before start with not-started', async () => {
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, clock: createManualClock(T0) });
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'not-started');
    await agentvisorErrorOf(() => orch.actor, 'not-started');
    await agentvisorErrorOf(() => orch.stats(), 'not-started');
    await orch.stop();
  });

  it('should refuse to spawn or start again after stop with stopped', async () => {
    const { orch } = await start();
    await orch.stop();
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 100 }), 'stopped');
    await agentvisorErrorOf(() => orch.start(), 'stopped');
  });

  it('should treat a second start as a no-op', async () => {
    const { orch } = await start();
    const actor = orch.actor;
    await orch.start();
    expect(orch.actor).toBe(actor);
  });

  it('should release live agents with reason stopped, refuse waiting spawns and clear every timer on stop', async () => {
    const { orch, clock, events } = await start({ limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    a.reportUsage({ inputTokens: 300, outputTokens: 0 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', waitMs: 60_000 }));
    await orch.stop();
    await flushMicrotasks();
    // Releasing 'a' must not hand its slot to the waiting 'b' while stopping.
    expect(orch.agents().map((x) => x.id)).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ used: 300, reserved: 0, active: 0 });
    expect(orch.stats().queued).toBe(0);
    const error = await agentvisorErrorOf(() => waiting.promise, 'stopped');
    expect(error.message).toContain('b');
    expect(a.isLive).toBe(false);
    expect(events.of('agent.released')).toEqual([
      { agentId: 'a', sessionId: a.sessionId, provider: 'claude', usedTokens: 300, returnedTokens: 700, reason: 'stopped', error: null },
    ]);
    expect(await a.release()).toEqual({ usedTokens: 300, returnedTokens: 700, provider: 'claude', fallbacks: [], reason: 'stopped' });
    expect(clock.pending()).toBe(0);
  });
});

describe('Orchestrator.spawnAgent', () => {
  it('should admit on the first provider of the chain with allocation min(estimate, floor(available / 2))', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 100_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 80_000, agentId: 'a', task: 'refactor the parser' });
    expect(a.provider).toBe('claude');
    expect(a.allocatedTokens).toBe(50_000);
    expect(a.id).toBe('a');
    expect(a.task).toBe('refactor the parser');
    expect(a.isLive).toBe(true);
    const b = await orch.spawnAgent({ estimatedTokens: 30_000, agentId: 'b' });
    expect(b.allocatedTokens).toBe(25_000);
    expect(orch.stats().providers.claude).toEqual({ dailyLimit: 100_000, used: 0, reserved: 75_000, available: 25_000, active: 2, maxConcurrent: 10, effectiveLimit: 10, pausedUntil: null, overrun: 0, circuit: CLOSED_CIRCUIT, enabled: true, disabledBy: null, rolloutPercent: 100 });
    expect(events.of('agent.active')).toEqual([
      { agentId: 'a', sessionId: a.sessionId, provider: 'claude', allocatedTokens: 50_000 },
      { agentId: 'b', sessionId: b.sessionId, provider: 'claude', allocatedTokens: 25_000 },
    ]);
    expect(orch.agents().map((x) => x.id)).toEqual(['a', 'b']);
    expect(orch.getAgent('b')).toBe(b);
  });

  it('should give the whole estimate when it is at most half of what is available', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 500_000 });
    expect(a.allocatedTokens).toBe(500_000);
    const b = await orch.spawnAgent({ estimatedTokens: 300_000 });
    expect(b.allocatedTokens).toBe(250_000);
  });

  it('should refuse quota-exhausted when the estimate exceeds what is available, with retryAfterMs to the next reset', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 100_000 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 80_000 });
    await orch.spawnAgent({ estimatedTokens: 30_000 });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 30_000, agentId: 'late' }), 'quota-exhausted');
    expect(error.retryAfterMs).toBe(14 * HOUR);
    expect(error.retryAfterMs).toBe(Date.parse('2026-03-11T00:00:00Z') - T0);
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(events.of('agent.refused')).toEqual([{ agentId: 'late', code: 'quota-exhausted', retryAfterMs: 14 * HOUR, waited: false }]);
  });

  it('should use the preferred provider first and the chain after it', async () => {
    const { orch } = await start({ limits: { openai: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    expect(a.provider).toBe('openai');
    const b = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    expect(b.provider).toBe('claude');
  });

  it('should place a session on the next provider when the first is at its concurrency limit', async () => {
    const { orch } = await start({ limits: { claude: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const b = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect([a.provider, b.provider]).toEqual(['claude', 'openai']);
    expect(orch.stats().providers.openai).toMatchObject({ active: 1, reserved: 1_000 });
  });

  it('should reject a duplicate live agentId with duplicate-agent and leave state unchanged', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' }), 'duplicate-agent');
    expect(error.details).toEqual({ agentId: 'dup' });
    expect(budgetsOf(orch.stats())).toEqual(before);
    await a.release();
    const again = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'dup' });
    expect(again.id).toBe('dup');
  });

  it('should reject the agentId of a waiting spawn with duplicate-agent', async () => {
    const { orch } = await start({ limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 10_000 }));
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 10_000 }), 'duplicate-agent');
    expect(orch.stats().queued).toBe(1);
    expect(waiting.settled()).toBe(false);
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['fractional', 2.5],
    ['infinite', Number.POSITIVE_INFINITY],
    ['absurdly large (> MAX_TOKENS)', MAX_TOKENS + 1],
    ['a string', '100'],
  ])('should reject a %s estimate with invalid-estimate and change nothing', async (_name, estimatedTokens) => {
    const { orch, events } = await start();
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    const eventsBefore = events.all.length;
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: estimatedTokens as number }), 'invalid-estimate');
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(events.all.length).toBe(eventsBefore);
  });

  it('should accept an estimate of exactly MAX_TOKENS as valid input (and refuse it for quota)', async () => {
    const { orch } = await start();
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: MAX_TOKENS }), 'quota-exhausted');
  });

  it.each([
    ['an unknown preferredProvider', { estimatedTokens: 10, preferredProvider: 'gemini' }],
    ['a negative waitMs', { estimatedTokens: 10, waitMs: -1 }],
    ['a fractional waitMs', { estimatedTokens: 10, waitMs: 1.5 }],
    ['a fractional priority', { estimatedTokens: 10, priority: 0.5 }],
    ['an agentId with spaces', { estimatedTokens: 10, agentId: 'has space' }],
    ['an empty agentId', { estimatedTokens: 10, agentId: '' }],
    ['a non-string task', { estimatedTokens: 10, task: 42 }],
  ])('should reject %s with invalid-option and change nothing', async (_name, options) => {
    const { orch } = await start();
    const before = budgetsOf(orch.stats());
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(() => orch.spawnAgent(options as unknown as Parameters<Orchestrator['spawnAgent']>[0]), 'invalid-option');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should report invalid spawn options as a rejected promise, not a synchronous throw', async () => {
    const { orch } = await start();
    let thrown: unknown = null;
    let returned: Promise<ManagedAgent> | null = null;
    try {
      returned = orch.spawnAgent({ estimatedTokens: -1 });
    } catch (error) {
      thrown = error;
    }
    // A host writing orch.spawnAgent(opts).catch(handle) must not crash on bad input.
    expect(thrown).toBeNull();
    expect(returned).not.toBeNull();
    await expect(returned).rejects.toMatchObject({ code: 'invalid-estimate' });
  });
});

describe('ManagedAgent env', () => {
  it('should give a Claude session ANTHROPIC_API_KEY and CLAUDE_API_KEY with the same key, and the session and agent ids', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'agent-1' });
    expect(a.env).toEqual({
      ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
      CLAUDE_API_KEY: FAKE_CLAUDE_KEY,
      AGENTVISOR_SESSION_ID: a.sessionId,
      AGENTVISOR_AGENT_ID: 'agent-1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    });
    expect(a.sessionId).toMatch(/^[\w-]{10,}$/);
  });

  it('should give an OpenAI session only OPENAI_API_KEY and the ids', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'agent-2', preferredProvider: 'openai' });
    expect(a.env).toEqual({ ...AGENT_QUIET_ENV, OPENAI_API_KEY: FAKE_OPENAI_KEY, AGENTVISOR_SESSION_ID: a.sessionId, AGENTVISOR_AGENT_ID: 'agent-2' });
  });

  it('should mirror a key found only under CLAUDE_API_KEY into ANTHROPIC_API_KEY', async () => {
    const { orch } = await start({ env: { CLAUDE_API_KEY: FAKE_CLAUDE_KEY } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(a.env.ANTHROPIC_API_KEY).toBe(FAKE_CLAUDE_KEY);
    expect(a.env.CLAUDE_API_KEY).toBe(FAKE_CLAUDE_KEY);
  });

  it('should treat empty and blank env values as unset', async () => {
    const { orch } = await start({ env: { ANTHROPIC_API_KEY: '', CLAUDE_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: '   ', ANTHROPIC_BASE_URL: '' } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(a.env.ANTHROPIC_API_KEY).toBe(FAKE_CLAUDE_KEY);
    expect(a.env).not.toHaveProperty('ANTHROPIC_BASE_URL');
    // OPENAI_API_KEY is blank, so an OpenAI session cannot authenticate and falls back to Claude.
    const o = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai', agentId: 'o' });
    expect(o.provider).toBe('claude');
    expect(o.env).toEqual({ ...AGENT_QUIET_ENV, ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, CLAUDE_API_KEY: FAKE_CLAUDE_KEY, AGENTVISOR_SESSION_ID: o.sessionId, AGENTVISOR_AGENT_ID: 'o' });
  });

  it('should refuse a session whose only provider has no key with auth-failed and return its allocation', async () => {
    const { orch, events } = await start({ env: { ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: '' }, fallbackChain: ['openai'] });
    let outcome: unknown = 'pending';
    orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'o' }).then(
      (agent) => {
        outcome = agent;
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    // A synchronous authenticator answers within the spawn: the promise must settle at once.
    await flushMicrotasks();
    const error = await agentvisorErrorOf(() => {
      throw outcome;
    }, 'auth-failed');
    expect(error.message).toContain('OPENAI_API_KEY');
    expect(orch.stats().providers.openai).toMatchObject({ used: 0, reserved: 0, active: 0 });
    expect(events.of('agent.released')).toMatchObject([{ agentId: 'o', reason: 'auth-failed', usedTokens: 0, returnedTokens: 1_000, error: { code: 'auth-failed' } }]);
  });

  it('should refuse with auth-failed when no provider has credentials, and return every allocation', async () => {
    const { orch, events } = await start({ env: {} });
    const spawn = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'nokeys' }));
    await flushMicrotasks();
    expect(spawn.settled()).toBe(true);
    const error = await agentvisorErrorOf(() => spawn.promise, 'auth-failed');
    expect(error.message).toContain('OPENAI_API_KEY');
    expect(events.of('agent.fallback')).toMatchObject([{ agentId: 'nokeys', from: 'claude', to: 'openai', reason: 'auth-failed' }]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.agents()).toEqual([]);
  });

  it('should start a session on a provider that has credentials, whatever the policy prefers', async () => {
    const { orch, events } = await start({ env: { OPENAI_API_KEY: FAKE_OPENAI_KEY }, providerPriority: 'prefer-claude' });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x' });
    expect(a.provider).toBe('openai');
    expect(events.of('agent.fallback')).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should fall back to the next provider when the one asked for has no credentials', async () => {
    const { orch, events } = await start({ env: { OPENAI_API_KEY: FAKE_OPENAI_KEY } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x', preferredProvider: 'claude' });
    expect(a.provider).toBe('openai');
    expect(a.env).toEqual({ ...AGENT_QUIET_ENV, OPENAI_API_KEY: FAKE_OPENAI_KEY, AGENTVISOR_SESSION_ID: a.sessionId, AGENTVISOR_AGENT_ID: 'x' });
    expect(events.of('agent.fallback')).toEqual([{ agentId: 'x', sessionId: a.sessionId, from: 'claude', to: 'openai', reason: 'auth-failed', latencyMs: 0 }]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 1_000, active: 1 });
  });

  it('should pass each provider its own base URL and no other', async () => {
    const { orch } = await start({
      env: { ...BOTH_KEYS_ENV, ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010', OPENAI_BASE_URL: 'http://127.0.0.1:4020/v1' },
    });
    const c = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const o = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    expect(c.env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:4010');
    expect(c.env).not.toHaveProperty('OPENAI_BASE_URL');
    expect(o.env.OPENAI_BASE_URL).toBe('http://127.0.0.1:4020/v1');
    expect(o.env).not.toHaveProperty('ANTHROPIC_BASE_URL');
  });

  it('should prefer apiKeys given in code over the env', async () => {
    const codeKey = 'sk-ant-api03-FROMcodeKEY-000000000000';
    const { orch } = await start({ apiKeys: { claude: codeKey } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(a.env.ANTHROPIC_API_KEY).toBe(codeKey);
    expect(a.env.CLAUDE_API_KEY).toBe(codeKey);
  });

  it('should never hold another provider secret, also after fallback, and be empty once released', async () => {
    const { orch } = await start({ env: { ...BOTH_KEYS_ENV, ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010' } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'fb' });
    expect(Object.values(a.env)).not.toContain(FAKE_OPENAI_KEY);
    await a.reportFailure({ status: 529 });
    expect(a.provider).toBe('openai');
    expect(a.env).toEqual({ ...AGENT_QUIET_ENV, OPENAI_API_KEY: FAKE_OPENAI_KEY, AGENTVISOR_SESSION_ID: a.sessionId, AGENTVISOR_AGENT_ID: 'fb' });
    expect(JSON.stringify(a.env)).not.toContain('FAKEclaudeKEY');
    await a.release();
    expect(a.env).toEqual({});
  });
});

describe('ManagedAgent.reportUsage', () => {
  it('should move usage from reserved to used and return an exact receipt', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 2_500, outputTokens: 500 })).toEqual({ usedTokens: 3_000, allocatedTokens: 10_000, remainingTokens: 7_000 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 7_000, available: 990_000 });
    expect(a.usedTokens).toBe(3_000);
  });

  it('should top up an allocation that usage went beyond: the overage plus min(estimate, floor(free / 2))', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 9_000, outputTokens: 3_000 })).toEqual({ usedTokens: 12_000, allocatedTokens: 22_000, remainingTokens: 10_000 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 12_000, reserved: 10_000, overrun: 0 });
  });

  it('should record usage the budget cannot cover, emit quota.overrun, end the session and throw quota-exhausted', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 250, agentId: 'b' });
    expect([a.allocatedTokens, b.allocatedTokens]).toEqual([500, 250]);
    const error = await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 800, outputTokens: 200 }), 'quota-exhausted');
    expect(error.details).toEqual({ agentId: 'a', provider: 'claude' });
    expect(a.isLive).toBe(false);
    expect(orch.stats().providers.claude).toEqual({ dailyLimit: 1_000, used: 1_000, reserved: 250, available: 0, active: 1, maxConcurrent: 10, effectiveLimit: 10, pausedUntil: null, overrun: 250, circuit: CLOSED_CIRCUIT, enabled: true, disabledBy: null, rolloutPercent: 100 });
    expect(events.of('quota.overrun')).toEqual([{ provider: 'claude', agentId: 'a', sessionId: a.sessionId, overrunTokens: 250 }]);
    expect(events.of('agent.released')).toMatchObject([{ agentId: 'a', reason: 'quota-exhausted', usedTokens: 1_000, returnedTokens: 0, error: { code: 'quota-exhausted' } }]);
    expect(await a.release()).toMatchObject({ usedTokens: 1_000, returnedTokens: 0, reason: 'quota-exhausted' });
    expect(await b.release()).toMatchObject({ usedTokens: 0, returnedTokens: 250 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 0, active: 0, overrun: 250 });
  });

  it('should count as new overrun only the overage of the report, not an earlier overrun again', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 250, agentId: 'b' });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1_000, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 250, overrun: 250 });
    // b uses its 250 and 50 more: only those 50 are new overrun.
    await agentvisorErrorOf(() => b.reportUsage({ inputTokens: 300, outputTokens: 0 }), 'quota-exhausted');
    expect(events.of('quota.overrun').map((e) => [e.agentId, e.overrunTokens])).toEqual([
      ['a', 250],
      ['b', 50],
    ]);
    expect(orch.stats().providers.claude).toMatchObject({ dailyLimit: 1_000, used: 1_300, reserved: 0, available: 0, active: 0, maxConcurrent: 10, overrun: 300 });
  });

  it('should renew the lease on usage', async () => {
    const { orch, clock } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(90 * MINUTE);
    a.reportUsage({ inputTokens: 100, outputTokens: 0 });
    clock.advance(90 * MINUTE); // T0 + 3 h: sweeps at 1 h, 2 h and 3 h found the lease (until T0 + 3.5 h) running
    expect(a.isLive).toBe(true);
    clock.advance(HOUR); // T0 + 4 h
    expect(a.isLive).toBe(false);
    expect(await a.release()).toEqual({ usedTokens: 100, returnedTokens: 9_900, provider: 'claude', fallbacks: [], reason: 'expired' });
  });

  it.each([
    ['negative input', { inputTokens: -1, outputTokens: 0 }],
    ['negative output', { inputTokens: 0, outputTokens: -7 }],
    ['NaN', { inputTokens: Number.NaN, outputTokens: 0 }],
    ['fractional', { inputTokens: 1.5, outputTokens: 0 }],
    ['infinite', { inputTokens: 0, outputTokens: Number.POSITIVE_INFINITY }],
    ['absurdly large (> MAX_TOKENS)', { inputTokens: MAX_TOKENS + 1, outputTokens: 0 }],
    ['a sum beyond MAX_TOKENS', { inputTokens: 600_000_000, outputTokens: 600_000_000 }],
    ['a string', { inputTokens: '5', outputTokens: 0 }],
    ['missing fields', {}],
  ])('should reject %s usage with invalid-usage and change nothing', async (_name, report) => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    const before = budgetsOf(orch.stats());
    const eventsBefore = events.all.length;
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(() => a.reportUsage(report as unknown as Parameters<ManagedAgent['reportUsage']>[0]), 'invalid-usage');
    expect(budgetsOf(orch.stats())).toEqual(before);
    expect(a.usedTokens).toBe(10);
    expect(events.all.length).toBe(eventsBefore);
  });

  it('should accept zero usage', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    expect(a.reportUsage({ inputTokens: 0, outputTokens: 0 })).toEqual({ usedTokens: 0, allocatedTokens: 10_000, remainingTokens: 10_000 });
  });
});

describe('ManagedAgent.reportFailure', () => {
  it('should fall back claude → openai, return the unused allocation and keep the ids and usage', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'f' });
    a.reportUsage({ inputTokens: 2_000, outputTokens: 1_000 });
    const sessionId = a.sessionId;
    await a.reportFailure({ status: 529, message: 'Overloaded' });
    expect(a.provider).toBe('openai');
    expect(a.sessionId).toBe(sessionId);
    expect(a.usedTokens).toBe(3_000);
    expect(a.allocatedTokens).toBe(10_000);
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ used: 0, reserved: 10_000, active: 1 });
    expect(events.of('agent.fallback')).toEqual([{ agentId: 'f', sessionId, from: 'claude', to: 'openai', reason: 'overloaded', latencyMs: 0 }]);
    expect(events.of('agent.active').map((e) => e.provider)).toEqual(['claude', 'openai']);
    a.reportUsage({ inputTokens: 500, outputTokens: 0 });
    expect(await a.release()).toEqual({
      usedTokens: 3_500,
      returnedTokens: 7_000 + 9_500,
      provider: 'openai',
      fallbacks: [{ from: 'claude', to: 'openai', reason: 'overloaded' }],
      reason: 'released',
    });
    expect(orch.stats().providers.claude).toMatchObject({ used: 3_000, reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ used: 500, reserved: 0, active: 0 });
  });

  it.each([
    [429, 'rate-limit'],
    [401, 'auth'],
    [403, 'auth'],
    [500, 'server'],
    [503, 'overloaded'],
    [0, 'network'],
  ])('should classify status %d as %s in the fallback event', async (status, reason) => {
    // A fresh session throttled by the server would be requeued (requeue.test.ts); here every kind falls back.
    const { orch, events } = await start({ requeueThrottled: false });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await a.reportFailure({ status });
    expect(events.of('agent.fallback')).toMatchObject([{ from: 'claude', to: 'openai', reason }]);
  });

  it('should reject a 4xx request error with invalid-request and keep the session', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => a.reportFailure({ status: 400 }), 'invalid-request');
    expect(a.isLive).toBe(true);
    expect(a.provider).toBe('claude');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it.each([
    ['a status of 200', { status: 200 }],
    ['a status above 599', { status: 600 }],
    ['a string status', { status: '500' }],
    ['a negative retryAfterMs', { status: 429, retryAfterMs: -1 }],
  ])('should reject %s with invalid-failure and change nothing', async (_name, report) => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    // Deliberately malformed input: a host in plain JavaScript can pass anything.
    await agentvisorErrorOf(() => a.reportFailure(report as unknown as Parameters<ManagedAgent['reportFailure']>[0]), 'invalid-failure');
    expect(a.provider).toBe('claude');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should end the session with no-provider when no fallback is left', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'n' });
    expect(await a.reportFailure({ status: 500 })).toEqual({ action: 'fallback', kind: 'server', from: 'claude', to: 'openai', latencyMs: 0 });
    a.reportUsage({ inputTokens: 100, outputTokens: 0 });
    // Nothing left to fall back to: a server fault may pass, so it is retried twice with backoff, then given up.
    const first = await a.reportFailure({ status: 500 });
    expect(first).toMatchObject({ action: 'retry', kind: 'server', provider: 'openai', attempt: 1 });
    expect(first.action === 'retry' && first.delayMs >= 0 && first.delayMs <= 250).toBe(true);
    const second = await a.reportFailure({ status: 500 });
    expect(second).toMatchObject({ action: 'retry', attempt: 2 });
    expect(second.action === 'retry' && second.delayMs <= 500).toBe(true);
    expect(orch.stats().providers.openai).toMatchObject({ active: 1, reserved: 900 });
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    expect(a.isLive).toBe(false);
    expect(events.of('agent.released')).toMatchObject([{ agentId: 'n', provider: 'openai', reason: 'failed', usedTokens: 100, returnedTokens: 1_900, error: { code: 'no-provider' } }]);
    expect(orch.stats().providers.openai).toMatchObject({ used: 100, reserved: 0, active: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should not fall back when maxFallbacks is 0', async () => {
    const { orch } = await start({ maxFallbacks: 0 });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(await a.reportFailure({ status: 529, headers: { 'retry-after': '3' } })).toMatchObject({ action: 'retry', provider: 'claude', kind: 'overloaded' });
    await agentvisorErrorOf(() => a.reportFailure({ status: 401 }), 'no-provider');
    expect(orch.stats().providers.openai).toMatchObject({ active: 0, reserved: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ active: 0, reserved: 0 });
  });

  it('should emit a fallback to null and end with no-provider when the next provider cannot take the session', async () => {
    const { orch, events } = await start({ limits: { openai: { maxConcurrent: 1 } }, requeueThrottled: false });
    await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'r' });
    await agentvisorErrorOf(() => a.reportFailure({ status: 429 }), 'no-provider');
    expect(events.of('agent.fallback')).toEqual([{ agentId: 'r', sessionId: a.sessionId, from: 'claude', to: null, reason: 'rate-limit', latencyMs: 0 }]);
    expect(await a.release()).toMatchObject({ reason: 'no-provider', returnedTokens: 1_000, provider: 'claude' });
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 1_000, active: 1 });
  });
});

describe('ManagedAgent.release', () => {
  it('should settle usage, return the rest and emit agent.released', async () => {
    const { orch, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'rel' });
    a.reportUsage({ inputTokens: 1_234, outputTokens: 0 });
    expect(await a.release()).toEqual({ usedTokens: 1_234, returnedTokens: 8_766, provider: 'claude', fallbacks: [], reason: 'released' });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_234, reserved: 0, active: 0, available: 998_766 });
    expect(events.of('agent.released')).toEqual([{ agentId: 'rel', sessionId: a.sessionId, provider: 'claude', usedTokens: 1_234, returnedTokens: 8_766, reason: 'released', error: null }]);
    expect(a.isLive).toBe(false);
    expect(orch.agents()).toEqual([]);
  });

  it('should throw already-released on a second release and change nothing', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    await a.release();
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(() => a.release(), 'already-released');
    expect(error.details).toEqual({ agentId: a.id });
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should throw agent-released for usage or a failure after release and change nothing', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    await a.release();
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 5, outputTokens: 5 }), 'agent-released');
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'agent-released');
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should throw unknown-agent for an id that is not live', async () => {
    const { orch } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'gone' });
    const before = budgetsOf(orch.stats());
    await agentvisorErrorOf(() => orch.getAgent('nobody'), 'unknown-agent');
    await a.release();
    const error = await agentvisorErrorOf(() => orch.getAgent('gone'), 'unknown-agent');
    expect(error.details).toEqual({ agentId: 'gone' });
    expect(budgetsOf(orch.stats()).claude.active).toBe(before.claude.active - 1);
  });
});

describe('Orchestrator waiting admission', () => {
  const oneSlot: OrchestratorOptions = { limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] };

  it('should refuse at once with concurrency-limit and retryAfterMs when waitMs is 0', async () => {
    const { orch, events } = await start({ ...oneSlot, retryHintMs: 2_500 });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const before = budgetsOf(orch.stats());
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' }), 'concurrency-limit');
    expect(error.retryAfterMs).toBe(2_500);
    expect(error.details).toEqual({ agentId: 'b' });
    expect(events.of('agent.refused')).toEqual([{ agentId: 'b', code: 'concurrency-limit', retryAfterMs: 2_500, waited: false }]);
    expect(events.of('agent.queued')).toEqual([]);
    expect(budgetsOf(orch.stats())).toEqual(before);
  });

  it('should queue waiting spawns FIFO and admit each when a slot frees', async () => {
    const { orch, events } = await start(oneSlot);
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const b = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', waitMs: 60_000 }));
    const c = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 60_000 }));
    expect(events.of('agent.queued')).toEqual([
      { agentId: 'b', position: 0, code: 'concurrency-limit' },
      { agentId: 'c', position: 1, code: 'concurrency-limit' },
    ]);
    expect(orch.stats().queued).toBe(2);
    await flushMicrotasks();
    expect([b.settled(), c.settled()]).toEqual([false, false]);
    await a.release();
    const bAgent = await b.promise;
    expect(bAgent.id).toBe('b');
    expect(c.settled()).toBe(false);
    expect(orch.stats()).toMatchObject({ queued: 1, providers: { claude: { active: 1, reserved: 1_000 } } });
    await bAgent.release();
    expect((await c.promise).id).toBe('c');
    expect(orch.stats().queued).toBe(0);
  });

  it('should admit higher priorities first and keep arrival order within a priority', async () => {
    const { orch, events } = await start(oneSlot);
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const order: string[] = [];
    const spawn = (agentId: string, priority: number) =>
      orch.spawnAgent({ estimatedTokens: 1_000, agentId, waitMs: 60_000, priority }).then(async (agent) => {
        order.push(agent.id);
        await agent.release();
      });
    const all = [spawn('low-1', 0), spawn('low-2', 0), spawn('high', 5), spawn('mid', 2)];
    expect(events.of('agent.queued').map((e) => [e.agentId, e.position])).toEqual([
      ['low-1', 0],
      ['low-2', 1],
      ['high', 0],
      ['mid', 1],
    ]);
    await a.release();
    await Promise.all(all);
    expect(order).toEqual(['high', 'mid', 'low-1', 'low-2']);
  });

  it('should refuse with queue-full when the queue is at maxQueue', async () => {
    const { orch, events } = await start({ ...oneSlot, maxQueue: 1 });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 60_000 }));
    const error = await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x', waitMs: 60_000 }), 'queue-full');
    expect(error.retryAfterMs).toBe(1_000);
    expect(events.of('agent.refused')).toEqual([{ agentId: 'x', code: 'queue-full', retryAfterMs: 1_000, waited: false }]);
    expect(orch.stats().queued).toBe(1);
    expect(waiting.settled()).toBe(false);
  });

  it('should time out a waiting spawn with concurrency-limit and retryAfterMs after waitMs', async () => {
    const { orch, clock, events } = await start(oneSlot);
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 30_000 }));
    clock.advance(29_999);
    await flushMicrotasks();
    expect(waiting.settled()).toBe(false);
    clock.advance(1);
    const error = await agentvisorErrorOf(() => waiting.promise, 'concurrency-limit');
    expect(error.retryAfterMs).toBe(1_000);
    expect(events.of('agent.refused')).toEqual([{ agentId: 'w', code: 'concurrency-limit', retryAfterMs: 1_000, waited: true }]);
    expect(orch.stats().queued).toBe(0);
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
  });

  it('should time out a spawn waiting for budget with quota-exhausted and retryAfterMs to the next reset', async () => {
    const { orch, clock, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 600, agentId: 'w', waitMs: 60_000 }));
    expect(events.of('agent.queued')).toEqual([{ agentId: 'w', position: 0, code: 'quota-exhausted' }]);
    clock.advance(60_000);
    const error = await agentvisorErrorOf(() => waiting.promise, 'quota-exhausted');
    expect(error.retryAfterMs).toBe(14 * HOUR - 60_000);
    expect(error.retryAfterMs).toBe(orch.stats().nextResetAt - clock.now());
  });

  it('should admit a spawn waiting for budget at the daily reset', async () => {
    const { orch, clock } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] }, Date.parse('2026-03-10T23:50:00Z'));
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    a.reportUsage({ inputTokens: 500, outputTokens: 0 });
    await a.release();
    const waiting = track(orch.spawnAgent({ estimatedTokens: 600, agentId: 'w', waitMs: 20 * MINUTE }));
    clock.advance(10 * MINUTE - 1);
    await flushMicrotasks();
    expect(waiting.settled()).toBe(false);
    clock.advance(1);
    const w = await waiting.promise;
    expect(w.allocatedTokens).toBe(500);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 500, active: 1 });
  });

  it('should admit a waiting spawn when an idle agent expires', async () => {
    const { orch, clock } = await start(oneSlot);
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'idle' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'w', waitMs: 3 * HOUR }));
    clock.advance(2 * HOUR);
    const w = await waiting.promise;
    expect(w.id).toBe('w');
    expect(orch.stats().providers.claude).toMatchObject({ active: 1, reserved: 1_000 });
  });
});

describe('Orchestrator expiry and daily reset', () => {
  it('should expire an idle allocation after the default 2 h lease on the hourly sweep', async () => {
    const { orch, clock, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 10_000, agentId: 'idle' });
    clock.advance(HOUR);
    expect(a.isLive).toBe(true);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 10_000, active: 1 });
    clock.advance(HOUR - 1);
    expect(a.isLive).toBe(true);
    clock.advance(1);
    expect(a.isLive).toBe(false);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 0, active: 0 });
    expect(events.of('agent.released')).toEqual([
      {
        agentId: 'idle',
        sessionId: a.sessionId,
        provider: 'claude',
        usedTokens: 0,
        returnedTokens: 10_000,
        reason: 'expired',
        error: { code: 'allocation-expired', message: expect.any(String) as unknown as string },
      },
    ]);
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1, outputTokens: 0 }), 'agent-released');
    expect(await a.release()).toMatchObject({ reason: 'expired', returnedTokens: 10_000 });
    await agentvisorErrorOf(() => orch.getAgent('idle'), 'unknown-agent');
  });

  it('should honour a custom leaseMs and sweepIntervalMs', async () => {
    const { orch, clock } = await start({ leaseMs: 10 * MINUTE, sweepIntervalMs: MINUTE });
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(9 * MINUTE);
    expect(a.isLive).toBe(true);
    clock.advance(MINUTE);
    expect(a.isLive).toBe(false);
  });

  it('should expire only on a sweep, not at the instant the lease ends', async () => {
    const { orch, clock } = await start({ leaseMs: 90 * MINUTE });
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    clock.advance(119 * MINUTE);
    expect(a.isLive).toBe(true);
    clock.advance(MINUTE);
    expect(a.isLive).toBe(false);
  });

  it('should start the lease of a waiter admitted by a fallback at its admission, not at an earlier time', async () => {
    const { orch, clock } = await start({ limits: { claude: { maxConcurrent: 1 }, openai: { maxConcurrent: 1 } } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b', preferredProvider: 'openai' });
    const waiting = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 3 * HOUR }));
    clock.advance(50 * MINUTE);
    // a fails; openai is full, so a ends and its claude slot goes to the waiting c at T0 + 50 min.
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    const c = await waiting.promise;
    clock.advance(70 * MINUTE); // T0 + 2 h: c has been idle for 70 min, well inside its 2 h lease
    expect(c.isLive).toBe(true);
    clock.advance(2 * HOUR); // T0 + 4 h: the sweep after T0 + 2 h 50 min expires it
    expect(c.isLive).toBe(false);
  });

  it('should give the allocation on the fallback provider a lease of its own from the failure', async () => {
    const { orch, clock } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    clock.advance(90 * MINUTE);
    await a.reportFailure({ status: 529 });
    clock.advance(90 * MINUTE); // T0 + 3 h: the lease runs until T0 + 3.5 h
    expect(a.isLive).toBe(true);
    clock.advance(HOUR);
    expect(a.isLive).toBe(false);
  });

  it('should reset used to 0 at 00:00 UTC by default and emit quota.reset', async () => {
    const { orch, clock, events } = await start({}, Date.parse('2026-03-10T23:00:00Z'));
    const a = await orch.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 4_000, outputTokens: 0 });
    clock.advance(HOUR - 1);
    expect(events.of('quota.reset')).toEqual([]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }]);
    expect(orch.stats()).toMatchObject({ day: '2026-03-11', nextResetAt: Date.parse('2026-03-12T00:00:00Z') });
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, reserved: 6_000, active: 1 });
    expect(a.isLive).toBe(true);
    a.reportUsage({ inputTokens: 1_000, outputTokens: 0 });
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_000, reserved: 5_000 });
  });

  it('should reset at a configured time of day', async () => {
    const { orch, clock, events } = await start({ dailyReset: { at: '06:30', timeZone: 'UTC' } });
    expect(orch.stats()).toMatchObject({ day: '2026-03-10', nextResetAt: Date.parse('2026-03-11T06:30:00Z') });
    clock.set(Date.parse('2026-03-11T06:29:59.999Z'));
    expect(events.of('quota.reset')).toEqual([]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }]);
  });

  it('should reset at local midnight across a DST change (America/New_York: a 23 h and a 25 h day)', async () => {
    const { orch, clock, events } = await start({ dailyReset: { at: '00:00', timeZone: 'America/New_York' } }, Date.parse('2026-03-07T12:00:00Z'));
    expect(orch.stats()).toMatchObject({ day: '2026-03-07', nextResetAt: Date.parse('2026-03-08T05:00:00Z') });
    clock.set(Date.parse('2026-03-08T05:00:00Z'));
    expect(orch.stats()).toMatchObject({ day: '2026-03-08', nextResetAt: Date.parse('2026-03-09T04:00:00Z') });
    clock.set(Date.parse('2026-03-09T04:00:00Z') - 1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-08' }]);
    clock.advance(1);
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-08' }, { day: '2026-03-09' }]);
    clock.set(Date.parse('2026-11-01T04:00:00Z'));
    expect(orch.stats()).toMatchObject({ day: '2026-11-01', nextResetAt: Date.parse('2026-11-02T05:00:00Z') });
  });

  it('should reset once per day when the clock moves over several days', async () => {
    const { orch, clock, events } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, waitMs: 0 });
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    clock.set(Date.parse('2026-03-13T10:00:00Z'));
    expect(events.of('quota.reset')).toEqual([{ day: '2026-03-11' }, { day: '2026-03-12' }, { day: '2026-03-13' }]);
    expect(orch.stats()).toMatchObject({ day: '2026-03-13', nextResetAt: Date.parse('2026-03-14T00:00:00Z') });
    expect(orch.stats().providers.claude.used).toBe(0);
  });

  it('should clear an overrun and announce quota.low again after the reset', async () => {
    const { orch, clock, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] }, Date.parse('2026-03-10T23:00:00Z'));
    const a = await orch.spawnAgent({ estimatedTokens: 400 });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 1_500, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().providers.claude).toMatchObject({ used: 1_500, overrun: 500 });
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 0, dailyLimit: 1_000 }]);
    clock.advance(HOUR);
    expect(orch.stats().providers.claude).toMatchObject({ used: 0, overrun: 0, reserved: 0, available: 1_000 });
    const b = await orch.spawnAgent({ estimatedTokens: 400 });
    b.reportUsage({ inputTokens: 950, outputTokens: 0 });
    expect(events.of('quota.low')).toHaveLength(2);
  });
});

describe('Orchestrator events', () => {
  it('should announce quota.low once when available falls below the watermark after usage', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    const a = await orch.spawnAgent({ estimatedTokens: 400 });
    a.reportUsage({ inputTokens: 400, outputTokens: 0 });
    expect(events.of('quota.low')).toEqual([]);
    expect(a.reportUsage({ inputTokens: 500, outputTokens: 0 })).toEqual({ usedTokens: 900, allocatedTokens: 950, remainingTokens: 50 });
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 50, dailyLimit: 1_000 }]);
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    expect(events.of('quota.low')).toHaveLength(1);
  });

  it('should announce quota.low when reservations alone take available below the watermark', async () => {
    const { orch, events } = await start({ limits: { claude: { dailyLimit: 1_000 } }, fallbackChain: ['claude'] });
    for (const estimate of [450, 275, 137]) await orch.spawnAgent({ estimatedTokens: estimate });
    await orch.spawnAgent({ estimatedTokens: 69 });
    // 1000 - 450 - 275 - 137 - 69 = 69 available, below 10 % of 1000.
    expect(orch.stats().providers.claude.available).toBe(69);
    expect(events.of('quota.low')).toEqual([{ provider: 'claude', available: 69, dailyLimit: 1_000 }]);
  });

  it('should emit the lifecycle events in order', async () => {
    const { orch, clock, events } = await start(
      { limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 }, openai: { dailyLimit: 1_000 } } },
      Date.parse('2026-03-10T23:00:00Z'),
    );
    const a = await orch.spawnAgent({ estimatedTokens: 400, agentId: 'a' });
    // b goes to openai at once: claude is at its concurrency limit, openai has room.
    const bAgent = await orch.spawnAgent({ estimatedTokens: 400, agentId: 'b', waitMs: 60_000, preferredProvider: 'claude' });
    expect(bAgent.provider).toBe('openai');
    // claude is full (concurrency) and openai lacks budget (quota): concurrency is the reason given.
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c' }), 'concurrency-limit');
    await a.reportFailure({ status: 529 });
    await agentvisorErrorOf(() => a.reportUsage({ inputTokens: 2_000, outputTokens: 0 }), 'quota-exhausted');
    clock.advance(HOUR);
    await bAgent.release();
    expect(events.names()).toEqual([
      'agent.active', // a on claude
      'agent.active', // b on openai
      'agent.refused', // c
      'agent.fallback', // a claude → openai
      'agent.active', // a on openai
      'quota.overrun',
      'quota.low',
      'agent.released', // a, quota-exhausted
      'quota.reset',
      'agent.released', // b
    ]);
    expect(events.of('agent.fallback')[0]).toMatchObject({ agentId: 'a', from: 'claude', to: 'openai', reason: 'overloaded' });
    // a got min(400, floor(600 / 2)) = 300 on openai; 2000 used leaves 1000 - 2000 - 400 (b) = -1400.
    expect(events.of('quota.overrun')).toEqual([{ provider: 'openai', agentId: 'a', sessionId: a.sessionId, overrunTokens: 1_400 }]);
  });

  it('should emit agent.queued with the reason and position', async () => {
    const { orch, events } = await start({ limits: { claude: { maxConcurrent: 1 } }, fallbackChain: ['claude'] });
    await orch.spawnAgent({ estimatedTokens: 100 });
    void orch.spawnAgent({ estimatedTokens: 100, agentId: 'q', waitMs: 1_000 }).catch(() => undefined);
    expect(events.of('agent.queued')).toEqual([{ agentId: 'q', position: 0, code: 'concurrency-limit' }]);
  });

  it('should stop calling a listener removed with off and call a once listener once', async () => {
    const { orch } = await start();
    const seen: string[] = [];
    const listener = (e: { agentId: string }) => seen.push(`on:${e.agentId}`);
    orch.on('agent.active', listener);
    orch.once('agent.active', (e) => seen.push(`once:${e.agentId}`));
    await orch.spawnAgent({ estimatedTokens: 100, agentId: 'x' });
    orch.off('agent.active', listener);
    await orch.spawnAgent({ estimatedTokens: 100, agentId: 'y' });
    expect(seen).toEqual(['on:x', 'once:x']);
  });
});

describe('Orchestrator.stats activity', () => {
  it('should count admissions, queued and refused spawns, fallbacks, releases by reason and overrun tokens', async () => {
    const { orch, clock } = await start({ limits: { claude: { maxConcurrent: 1 }, openai: { dailyLimit: 2_000, maxConcurrent: 1 } }, requeueThrottled: false });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a' });
    const b = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'b' });
    expect([a.provider, b.provider]).toEqual(['claude', 'openai']);
    const c = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'c', waitMs: 1_000 }));
    await agentvisorErrorOf(() => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'd' }), 'concurrency-limit');
    clock.advance(1_000);
    await agentvisorErrorOf(() => c.promise, 'concurrency-limit');
    await agentvisorErrorOf(() => a.reportFailure({ status: 500 }), 'no-provider');
    await agentvisorErrorOf(() => b.reportUsage({ inputTokens: 5_000, outputTokens: 0 }), 'quota-exhausted');
    expect(orch.stats().activity).toEqual({
      admitted: 2,
      queued: 1,
      refused: { 'concurrency-limit': 2 },
      fallbacks: 1,
      requeued: 0,
      released: { 'no-provider': 1, 'quota-exhausted': 1 },
      overrunTokens: 3_000,
    });
  });
});

describe('Orchestrator.actor', () => {
  it('should expose the coordinator actor with the budgets in its context', async () => {
    const { orch } = await start();
    await orch.spawnAgent({ estimatedTokens: 1_000 });
    const snapshot = orch.actor.getSnapshot();
    expect(snapshot.status).toBe('active');
    expect(snapshot.context.budgets.claude).toMatchObject({ reserved: 1_000, active: 1 });
    expect(isAgentvisorError(new Error('x'))).toBe(false);
  });
});

describe('Orchestrator with an asynchronous authenticator', () => {
  type Authenticate = NonNullable<OrchestratorOptions['authenticate']>;
  type AuthResult = Awaited<ReturnType<Authenticate>>;

  function resultFor(provider: string, key: string): AuthResult {
    return { source: `test:${provider}`, hint: 'sk-…test', secretEnv: { [`${provider.toUpperCase()}_TEST_KEY`]: new Secret(key) }, env: { TEST_PROVIDER: provider } };
  }

  it('should resolve the spawn once the authenticator answers, with the env it built', async () => {
    let answer: ((result: AuthResult) => void) | null = null;
    const authenticate: Authenticate = ({ provider }) =>
      new Promise<AuthResult>((resolve) => {
        answer = () => resolve(resultFor(provider, 'sk-test-async-key-000000000'));
      });
    const { orch } = await start({ authenticate });
    const spawn = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'async' }));
    await flushMicrotasks();
    expect(spawn.settled()).toBe(false);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 1_000, active: 1 });
    expect(answer).not.toBeNull();
    answer!(resultFor('claude', 'unused'));
    const agent = await spawn.promise;
    expect(agent.env).toEqual({ ...AGENT_QUIET_ENV, CLAUDE_TEST_KEY: 'sk-test-async-key-000000000', TEST_PROVIDER: 'claude', AGENTVISOR_SESSION_ID: agent.sessionId, AGENTVISOR_AGENT_ID: 'async' });
  });

  it('should refuse with auth-failed when the authenticator does not answer within authTimeoutMs, and return the allocation', async () => {
    const authenticate: Authenticate = () => new Promise<AuthResult>(() => undefined);
    const { orch, clock } = await start({ authenticate, authTimeoutMs: 5_000, fallbackChain: ['claude'] });
    const spawn = track(orch.spawnAgent({ estimatedTokens: 1_000 }));
    clock.advance(4_999);
    await flushMicrotasks();
    expect(spawn.settled()).toBe(false);
    clock.advance(1);
    await agentvisorErrorOf(() => spawn.promise, 'auth-failed');
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should fall back when the authenticator rejects for the first provider', async () => {
    const authenticate: Authenticate = async ({ provider }) => {
      if (provider === 'claude') throw new AgentvisorError('auth-failed', 'the token could not be refreshed');
      return resultFor(provider, 'sk-test-openai-000000000000');
    };
    const { orch, events } = await start({ authenticate });
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'fb' });
    expect(agent.provider).toBe('openai');
    expect(agent.env.OPENAI_TEST_KEY).toBe('sk-test-openai-000000000000');
    expect(events.of('agent.fallback')).toMatchObject([{ from: 'claude', to: 'openai', reason: 'auth-failed' }]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should refuse a spawn still authenticating with stopped on stop, and leave no timer behind', async () => {
    const authenticate: Authenticate = () => new Promise<AuthResult>(() => undefined);
    const { orch, clock } = await start({ authenticate });
    const spawn = track(orch.spawnAgent({ estimatedTokens: 1_000 }));
    await orch.stop();
    await agentvisorErrorOf(() => spawn.promise, 'stopped');
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(clock.pending()).toBe(0);
  });

  it('should leave no timer behind after stop when nothing was pending', async () => {
    const { orch, clock } = await start();
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    a.reportUsage({ inputTokens: 10, outputTokens: 0 });
    await orch.stop();
    expect(clock.pending()).toBe(0);
    expect(a.isLive).toBe(false);
  });
});
