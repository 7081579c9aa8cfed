import { AGENT_QUIET_ENV, AgentvisorError, Secret } from '../../src';
import type { OrchestratorOptions } from '../../src';
import { agentvisorErrorOf, flushMicrotasks } from '../helpers/orchestratorFixtures';
import { useStartedOrchestrators, track } from '../helpers/orchestratorHarness';

const start = useStartedOrchestrators();

describe('Orchestrator with an asynchronous authenticator', () => {
  type Authenticate = NonNullable<OrchestratorOptions['authenticate']>;
  type AuthResult = Awaited<ReturnType<Authenticate>>;

  function resultFor(provider: string, key: string): AuthResult {
    return {
      source: `test:${provider}`,
      hint: 'sk-…test',
      secretEnv: { [`${provider.toUpperCase()}_TEST_KEY`]: new Secret(key) },
      env: { TEST_PROVIDER: provider },
    };
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
    expect(agent.env).toEqual({
      ...AGENT_QUIET_ENV,
      CLAUDE_TEST_KEY: 'sk-test-async-key-000000000',
      TEST_PROVIDER: 'claude',
      AGENTVISOR_SESSION_ID: agent.sessionId,
      AGENTVISOR_AGENT_ID: 'async',
    });
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
