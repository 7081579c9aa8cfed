import { createOrchestrator } from '../src';
async function main() {
  for (const live of [0, 10000]) {
    const orch = createOrchestrator({ env: { ANTHROPIC_API_KEY: 'sk-ant-api03-testkey-abcdefghij1234' }, limits: { claude: { maxConcurrent: live + 10, dailyLimit: 1e12 } } });
    await orch.start();
    for (let i = 0; i < live; i++) await orch.spawnAgent({ estimatedTokens: 10 });
    const actor = orch.actor;
    const N = 30000; let seq = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const sessionId = 'x' + seq++;
      actor.send({ type: 'agent.spawn', requestId: sessionId, sessionId, agentId: sessionId, estimatedTokens: 10, preferredProvider: null, waitMs: 0, priority: 0, now: 0 });
      const ref = actor.system.get(sessionId)!;
      ref.send({ type: 'session.usage', tokens: 2, now: 0 });
      ref.send({ type: 'session.release', now: 0 });
    }
    console.log(live, 'actor-level cycles/s', Math.round(N / ((performance.now() - t0) / 1000)));
    await orch.stop();
  }
}
main();
