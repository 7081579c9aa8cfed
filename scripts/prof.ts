import { createOrchestrator } from '../src';
async function main() {
  const live = Number(process.argv[2] ?? 0);
  const orch = createOrchestrator({ env: { ANTHROPIC_API_KEY: 'sk-ant-api03-testkey-abcdefghij1234' }, limits: { claude: { maxConcurrent: live + 10, dailyLimit: 1e12 } } });
  await orch.start();
  for (let i = 0; i < live; i++) await orch.spawnAgent({ estimatedTokens: 10 });
  const N = 30000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) { const b = await orch.spawnAgent({ estimatedTokens: 10 }); b.reportUsage({ inputTokens: 1, outputTokens: 1 }); await b.release(); }
  console.log(live, 'cycles/s', Math.round(N / ((performance.now() - t0) / 1000)));
  await orch.stop();
}
main();
