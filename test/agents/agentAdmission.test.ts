/**
 * admitTaskAgent with real orchestrators on a shared file ledger: a named CLI's task waits for its
 * provider when another orchestrator holds the only slot, and lands there (never elsewhere) once
 * the slot frees; `auto` takes what is free at once.
 */
import path from 'node:path';
import { admitTaskAgent } from '../../src/agents/agentAdmission';
import { isAgentvisorError } from '../../src';
import type { Orchestrator } from '../../src';
import { useTempOrchestrators } from '../helpers/orchestratorHarness';

const ENV = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-ADMISSIONtestKEY-0001',
  OPENAI_API_KEY: 'sk-proj-ADMISSIONtestKEY-0002',
};
const request = { agentId: 't1', task: 'fix it', estimatedTokens: 1000, waitMs: 10_000 } as const;

const orchestrators = useTempOrchestrators('admission-');
const ledgerFile = () => path.join(orchestrators.root(), 'ledger.json');

function started(syncIntervalMs: number): Promise<Orchestrator> {
  return orchestrators.start({
    env: ENV,
    credentialSources: ['env'],
    limits: { claude: { maxConcurrent: 1 } },
    ledger: { file: ledgerFile(), syncIntervalMs },
  });
}

describe('admitTaskAgent', () => {
  it("should wait for a named CLI's provider held by another orchestrator and land on it, not elsewhere", async () => {
    const a = await started(50);
    // b read the ledger at start and reads it again after a second: when it asks, only the ledger knows a holds the slot.
    const b = await started(1_000);
    const holder = await a.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
    const fallbacks: string[] = [];
    b.on('agent.fallback', (e) => fallbacks.push(`${e.from}→${e.to}`));
    const admitted = admitTaskAgent(b, { ...request, agent: 'claude-code' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.agents()).toEqual([]);
    await holder.release();
    const agent = await admitted;
    expect(agent.provider).toBe('claude');
    expect(fallbacks).toEqual([]);
    await agent.release();
  });

  it('should take whatever provider is free at once for auto, and refuse a pinned task at its deadline', async () => {
    const a = await started(50);
    const b = await started(600_000);
    await a.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
    const auto = await admitTaskAgent(b, { ...request, agentId: 'auto-1', agent: 'auto' });
    expect(auto.provider).toBe('openai');
    const started_ = Date.now();
    const refused = await admitTaskAgent(b, { ...request, agentId: 'pinned', agent: 'claude-code', waitMs: 400 }).catch(
      (e: unknown) => e,
    );
    expect(isAgentvisorError(refused, 'concurrency-limit')).toBe(true);
    expect(Date.now() - started_).toBeGreaterThanOrEqual(390);
    await auto.release();
  });
});
