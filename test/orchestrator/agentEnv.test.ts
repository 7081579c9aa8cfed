import { AGENT_QUIET_ENV } from '../../src';
import {
  BOTH_KEYS_ENV,
  FAKE_CLAUDE_KEY,
  FAKE_OPENAI_KEY,
  agentvisorErrorOf,
  flushMicrotasks,
} from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

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
    expect(a.env).toEqual({
      ...AGENT_QUIET_ENV,
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      AGENTVISOR_SESSION_ID: a.sessionId,
      AGENTVISOR_AGENT_ID: 'agent-2',
    });
  });

  it('should mirror a key found only under CLAUDE_API_KEY into ANTHROPIC_API_KEY', async () => {
    const { orch } = await start({ env: { CLAUDE_API_KEY: FAKE_CLAUDE_KEY } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(a.env.ANTHROPIC_API_KEY).toBe(FAKE_CLAUDE_KEY);
    expect(a.env.CLAUDE_API_KEY).toBe(FAKE_CLAUDE_KEY);
  });

  it('should treat empty and blank env values as unset', async () => {
    const { orch } = await start({
      env: { ANTHROPIC_API_KEY: '', CLAUDE_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: '   ', ANTHROPIC_BASE_URL: '' },
    });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000 });
    expect(a.env.ANTHROPIC_API_KEY).toBe(FAKE_CLAUDE_KEY);
    expect(a.env).not.toHaveProperty('ANTHROPIC_BASE_URL');
    // OPENAI_API_KEY is blank, so an OpenAI session cannot authenticate and falls back to Claude.
    const o = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai', agentId: 'o' });
    expect(o.provider).toBe('claude');
    expect(o.env).toEqual({
      ...AGENT_QUIET_ENV,
      ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
      CLAUDE_API_KEY: FAKE_CLAUDE_KEY,
      AGENTVISOR_SESSION_ID: o.sessionId,
      AGENTVISOR_AGENT_ID: 'o',
    });
  });

  it('should refuse a session whose only provider has no key with auth-failed and return its allocation', async () => {
    const { orch, events } = await start({
      env: { ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: '' },
      fallbackChain: ['openai'],
    });
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
    expect(events.of('agent.released')).toMatchObject([
      { agentId: 'o', reason: 'auth-failed', usedTokens: 0, returnedTokens: 1_000, error: { code: 'auth-failed' } },
    ]);
  });

  it('should refuse with auth-failed when no provider has credentials, and return every allocation', async () => {
    const { orch, events } = await start({ env: {} });
    const spawn = track(orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'nokeys' }));
    await flushMicrotasks();
    expect(spawn.settled()).toBe(true);
    const error = await agentvisorErrorOf(() => spawn.promise, 'auth-failed');
    expect(error.message).toContain('OPENAI_API_KEY');
    expect(events.of('agent.fallback')).toMatchObject([
      { agentId: 'nokeys', from: 'claude', to: 'openai', reason: 'auth-failed' },
    ]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.agents()).toEqual([]);
  });

  it('should start a session on a provider that has credentials, whatever the policy prefers', async () => {
    const { orch, events } = await start({
      env: { OPENAI_API_KEY: FAKE_OPENAI_KEY },
      providerPriority: 'prefer-claude',
    });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x' });
    expect(a.provider).toBe('openai');
    expect(events.of('agent.fallback')).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
  });

  it('should fall back to the next provider when the one asked for has no credentials', async () => {
    const { orch, events } = await start({ env: { OPENAI_API_KEY: FAKE_OPENAI_KEY } });
    const a = await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'x', preferredProvider: 'claude' });
    expect(a.provider).toBe('openai');
    expect(a.env).toEqual({
      ...AGENT_QUIET_ENV,
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      AGENTVISOR_SESSION_ID: a.sessionId,
      AGENTVISOR_AGENT_ID: 'x',
    });
    expect(events.of('agent.fallback')).toEqual([
      { agentId: 'x', sessionId: a.sessionId, from: 'claude', to: 'openai', reason: 'auth-failed', latencyMs: 0 },
    ]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 1_000, active: 1 });
  });

  it('should pass each provider its own base URL and no other', async () => {
    const { orch } = await start({
      env: {
        ...BOTH_KEYS_ENV,
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010',
        OPENAI_BASE_URL: 'http://127.0.0.1:4020/v1',
      },
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
    expect(a.env).toEqual({
      ...AGENT_QUIET_ENV,
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      AGENTVISOR_SESSION_ID: a.sessionId,
      AGENTVISOR_AGENT_ID: 'fb',
    });
    expect(JSON.stringify(a.env)).not.toContain('FAKEclaudeKEY');
    await a.release();
    expect(a.env).toEqual({});
  });
});
