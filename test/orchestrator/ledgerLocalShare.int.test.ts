/**
 * An orchestrator on Redis with `whenUnavailable: { localShareOf: 2 }`: while Redis is down it
 * admits up to half of each limit (the insured ledger's insurance), and the usage of the sessions it
 * admitted then reaches Redis once it is back.
 */
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent } from '../../src';
import { createRedisLedger } from '../../src/quota';
import { startRedisServer } from '../helpers/redisServer';
import type { RedisServer } from '../helpers/redisServer';

const KEY = 'sk-ant-api03-LOCALshareKEY-0001';
const LIMITS = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 4 },
  openai: { dailyLimit: 500_000, maxConcurrent: 4 },
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('a shared ledger that goes away under localShareOf', () => {
  let server: RedisServer;
  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('admits the local share while Redis is down and settles that usage into Redis once it is back', async () => {
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: KEY },
      credentialSources: ['env'],
      fallbackChain: ['claude'],
      limits: LIMITS,
      ledger: { redis: server.url, syncIntervalMs: 30, whenUnavailable: { localShareOf: 2 } },
    });
    await orch.start();
    await server.kill();
    await eventually(() => orch.stats().ledger.state === 'degraded', 'the link to notice the dead Redis');
    const agents: ManagedAgent[] = [
      await orch.spawnAgent({ estimatedTokens: 1_000 }),
      await orch.spawnAgent({ estimatedTokens: 1_000 }),
    ];
    // Half of maxConcurrent 4.
    const third = await orch.spawnAgent({ estimatedTokens: 1_000 }).catch((e: unknown) => e);
    expect(isAgentvisorError(third, 'concurrency-limit')).toBe(true);
    for (const agent of agents) agent.reportUsage({ inputTokens: 300, outputTokens: 20 });
    const released = await agents[0]!.release().catch((e: unknown) => e);
    expect(isAgentvisorError(released, 'ledger-unavailable')).toBe(true);
    expect(orch.stats().ledger.unsettled).toBe(1);

    await server.restart();
    await eventually(
      () => orch.stats().ledger.state === 'ok' && orch.stats().ledger.unsettled === 0,
      'the link to recover and settle',
    );
    await agents[1]!.release();
    await orch.stop();
    const ledger = createRedisLedger({ redis: server.url, limits: LIMITS });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 640, reserved: 0, active: 0 });
    await ledger.close();
  }, 30_000);
});
