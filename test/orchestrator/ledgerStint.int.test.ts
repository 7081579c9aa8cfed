/**
 * A later stint on a shared file ledger is reserved in the session's own `reserving` step (the
 * ledger actor): a fallback the ledger has room for holds a reservation there, and one it refuses
 * ends the agent with the ledger's code, not as an auth failure.
 */
import path from 'node:path';
import { isAgentvisorError } from '../../src';
import type { Orchestrator } from '../../src';
import { createFileLedger } from '../../src/quota/fileLedger';
import { useTempOrchestrators } from '../helpers/orchestratorHarness';

const ENV = { ANTHROPIC_API_KEY: 'sk-ant-api03-STINTtestKEY-0001', OPENAI_API_KEY: 'sk-proj-STINTtestKEY-0002' };
const LIMITS = {
  claude: { maxConcurrent: 2, dailyLimit: 100_000 },
  openai: { maxConcurrent: 1, dailyLimit: 100_000 },
} as const;

const orchestrators = useTempOrchestrators('ledger-stint-');
const ledgerFile = () => path.join(orchestrators.root(), 'ledger.json');

function started(syncIntervalMs: number): Promise<Orchestrator> {
  return orchestrators.start({
    env: ENV,
    credentialSources: ['env'],
    fallbackChain: ['claude', 'openai'],
    limits: LIMITS,
    ledger: { file: ledgerFile(), syncIntervalMs },
  });
}

async function ledgerActive(): Promise<{ claude: number; openai: number }> {
  const ledger = createFileLedger({ file: ledgerFile(), limits: LIMITS });
  const { providers } = await ledger.snapshot();
  await ledger.close();
  return { claude: providers.claude.active, openai: providers.openai.active };
}

describe('a later stint on a shared ledger', () => {
  it('should reserve the fallback stint in the ledger before the agent runs there', async () => {
    const orch = await started(600_000);
    const agent = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
    expect(await ledgerActive()).toEqual({ claude: 1, openai: 0 });
    const outcome = await agent.reportFailure({ status: 529, message: 'overloaded' });
    expect(outcome).toMatchObject({ action: 'fallback', from: 'claude', to: 'openai' });
    expect(agent.env.OPENAI_API_KEY).toBe(ENV.OPENAI_API_KEY);
    expect(await ledgerActive()).toEqual({ claude: 0, openai: 1 });
    await agent.release();
    expect(await ledgerActive()).toEqual({ claude: 0, openai: 0 });
  });

  it("should end the agent with the ledger's code when the ledger has no room for the fallback stint", async () => {
    // b read the ledger before a took openai's only slot, and does not read it again during the test.
    const b = await started(600_000);
    const a = await started(600_000);
    const holder = await a.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'openai' });
    const agent = await b.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
    const failed = await agent.reportFailure({ status: 529, message: 'overloaded' }).catch((error: unknown) => error);
    expect(isAgentvisorError(failed, 'concurrency-limit')).toBe(true);
    expect(agent.isLive).toBe(false);
    expect(await ledgerActive()).toEqual({ claude: 0, openai: 1 });
    await holder.release();
  });
});
