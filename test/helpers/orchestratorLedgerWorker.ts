/**
 * Child process for the multi-process orchestrator test: one orchestrator on a shared Redis
 * ledger runs `loops` concurrent loops of `cycles` spawn → use → release, retrying refusals. Around
 * the time an agent is active it INCRs / DECRs `heldKey` on its own Redis connection (an independent
 * counter: the INCR reply is how many agents were active at that instant) and tracks the maximum.
 * Prints `ready`, waits for `go` on stdin, and ends with one JSON line: its summary.
 * Run: node -r ts-node/register/transpile-only test/helpers/orchestratorLedgerWorker.ts '<spec JSON>'
 */
import { Redis } from 'ioredis';
import { createOrchestrator, isAgentvisorError } from '../../src';

interface Spec {
  readonly url: string;
  readonly keyPrefix: string;
  readonly heldKey: string;
  readonly loops: number;
  readonly cycles: number;
  readonly maxConcurrent: number;
  readonly dailyLimit: number;
  readonly estimate: number;
  readonly use: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const counter = new Redis(spec.url, { maxRetriesPerRequest: 1 });
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: 'sk-ant-api03-ledger-worker-key-0000' },
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    limits: { claude: { maxConcurrent: spec.maxConcurrent, dailyLimit: spec.dailyLimit } },
    ledger: { redis: spec.url, keyPrefix: spec.keyPrefix, syncIntervalMs: 20, leaseMs: 10_000 },
  });
  await orch.start();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  let maxHeld = 0;
  let completed = 0;
  let used = 0;
  let refusals = 0;
  let exhausted = false;
  const loop = async () => {
    for (let i = 0; i < spec.cycles && !exhausted;) {
      let agent;
      try {
        agent = await orch.spawnAgent({ estimatedTokens: spec.estimate });
      } catch (error) {
        if (!isAgentvisorError(error)) throw error;
        if (error.code === 'quota-exhausted') {
          exhausted = true;
          return;
        }
        refusals += 1;
        await sleep(2 + Math.random() * 8);
        continue;
      }
      maxHeld = Math.max(maxHeld, await counter.incr(spec.heldKey));
      await sleep(Math.random() * 3);
      const tokens = Math.min(spec.use, agent.allocatedTokens);
      agent.reportUsage({ inputTokens: tokens, outputTokens: 0 });
      used += tokens;
      await counter.decr(spec.heldKey);
      await agent.release();
      completed += 1;
      i += 1;
    }
  };
  await Promise.all(Array.from({ length: spec.loops }, loop));
  await orch.stop();
  await counter.quit();
  process.stdout.write(`${JSON.stringify({ completed, used, maxHeld, refusals, exhausted })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
