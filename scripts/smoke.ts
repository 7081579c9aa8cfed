import { createOrchestrator } from '../src';
async function main() {
  const orch = createOrchestrator({ env: { ANTHROPIC_API_KEY: 'sk-ant-api03-testkey-abcdefghij1234', OPENAI_API_KEY: 'sk-proj-test-openai-zzzz9999' } });
  orch.on('agent.fallback', (e) => console.log('fallback', e));
  await orch.start();
  const a = await orch.spawnAgent({ estimatedTokens: 10000 });
  console.log(a.id, a.provider, a.allocatedTokens, Object.keys(a.env), orch.stats().providers.claude);
  console.log(a.reportUsage({ inputTokens: 9000, outputTokens: 2000 }));
  console.log(orch.stats().providers.claude);
  await a.reportFailure({ status: 529 });
  console.log('after fallback', a.provider, Object.keys(a.env), orch.stats().providers);
  console.log(await a.release(), orch.stats().providers);
  const t0 = performance.now(); const N = 20000;
  for (let i = 0; i < N; i++) { const b = await orch.spawnAgent({ estimatedTokens: 10 }); b.reportUsage({ inputTokens: 1, outputTokens: 1 }); await b.release(); }
  console.log('cycles/s', Math.round(N / ((performance.now() - t0) / 1000)));
  await orch.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
