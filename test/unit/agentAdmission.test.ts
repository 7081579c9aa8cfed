import { admitTaskAgent } from '../../src/agents/agentAdmission';
import { AgentvisorError } from '../../src/errors';
import type { ManagedAgent, Orchestrator, SpawnOptions } from '../../src/orchestrator';

interface StubAgent {
  readonly provider: 'claude' | 'openai';
  released: boolean;
  release(): Promise<unknown>;
}

/** An orchestrator that answers spawns from a script: an agent on a provider, or an error. */
function stubOrchestrator(answers: readonly ('claude' | 'openai' | AgentvisorError)[]) {
  const spawns: SpawnOptions[] = [];
  const agents: StubAgent[] = [];
  const orch = {
    spawnAgent(options: SpawnOptions): Promise<ManagedAgent> {
      spawns.push(options);
      const answer = answers[spawns.length - 1];
      if (answer === undefined) throw new Error('unexpected spawn');
      if (answer instanceof AgentvisorError) return Promise.reject(answer);
      const agent: StubAgent = { provider: answer, released: false, release: async () => (agent.released = true) };
      agents.push(agent);
      // Only `provider` and `release` are read by admitTaskAgent.
      return Promise.resolve(agent as unknown as ManagedAgent);
    },
  };
  // The stub implements the one method admitTaskAgent calls.
  return { orch: orch as unknown as Orchestrator, spawns, agents };
}

const request = { agentId: 't1', task: 'fix it', estimatedTokens: 1000, waitMs: 5000 } as const;

describe('admitTaskAgent', () => {
  it("should ask for a named CLI's provider and wait for it", async () => {
    const { orch, spawns } = stubOrchestrator(['claude']);
    const agent = await admitTaskAgent(orch, { ...request, agent: 'claude-code' });
    expect(agent.provider).toBe('claude');
    expect(spawns).toEqual([{ estimatedTokens: 1000, agentId: 't1', task: 'fix it', waitMs: 5000, preferredProvider: 'claude', whenPreferredBusy: 'wait' }]);
  });

  it('should give back a session the orchestrator moved off the named provider while admitting it, and ask again', async () => {
    const { orch, spawns, agents } = stubOrchestrator(['openai', 'claude']);
    const agent = await admitTaskAgent(orch, { ...request, agent: 'claude-code' });
    expect(agent.provider).toBe('claude');
    expect(spawns).toHaveLength(2);
    expect(agents.map((a) => [a.provider, a.released])).toEqual([
      ['openai', true],
      ['claude', false],
    ]);
  });

  it('should ask again when the moved session failed to authenticate on the other provider, but not for its own provider', async () => {
    const moved = new AgentvisorError('auth-failed', 'no usable OpenAI credentials', { details: { provider: 'openai' } });
    const first = stubOrchestrator([moved, 'claude']);
    expect((await admitTaskAgent(first.orch, { ...request, agent: 'claude-code' })).provider).toBe('claude');
    const own = new AgentvisorError('auth-failed', 'no usable Anthropic credentials', { details: { provider: 'claude' } });
    const second = stubOrchestrator([own]);
    await expect(admitTaskAgent(second.orch, { ...request, agent: 'claude-code' })).rejects.toBe(own);
    expect(second.spawns).toHaveLength(1);
  });

  it('should stop asking after 3 admissions and take what it was given; auto tasks take any provider at once', async () => {
    const pinned = stubOrchestrator(['openai', 'openai', 'openai']);
    expect((await admitTaskAgent(pinned.orch, { ...request, agent: 'claude-code' })).provider).toBe('openai');
    expect(pinned.agents.map((a) => a.released)).toEqual([true, true, false]);
    const auto = stubOrchestrator(['openai']);
    expect((await admitTaskAgent(auto.orch, { ...request, agent: 'auto' })).provider).toBe('openai');
    expect(auto.spawns).toEqual([{ estimatedTokens: 1000, agentId: 't1', task: 'fix it', waitMs: 5000 }]);
  });
});
