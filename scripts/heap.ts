import { createOrchestrator } from '../src';
async function main() {
  const n = 10000;
  const orch = createOrchestrator({ apiKeys: { claude: 'sk-ant-api03-testkey-abcdefghij1234' }, limits: { claude: { maxConcurrent: n + 10, dailyLimit: 1e12 } } });
  await orch.start();
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc(); gc();
  const before = process.memoryUsage().heapUsed;
  const agents = [];
  for (let i = 0; i < n; i++) agents.push(await orch.spawnAgent({ estimatedTokens: 10 }));
  gc(); gc();
  const after = process.memoryUsage().heapUsed;
  console.log('bytes per live session', Math.round((after - before) / n));
  await orch.stop();
}
main();
