/**
 * Node's timers run on the event loop's cached time, which can lag Date.now(): a timer may fire a
 * few milliseconds before the wall clock reaches its target (more often on a loaded machine). A
 * requeued session woken too early must still be re-admitted once its Retry-After has passed,
 * instead of waiting for its deadline (the flaky 30 s requeue test of apiAgentFailover).
 */
import { createOrchestrator } from '../../src';
import type { Clock } from '../../src';

const KEY = 'sk-ant-api03-EARLYtimerKEY-0001';

/** Real time whose timers always fire 5 ms early, as Node's may under load. */
const earlyClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, Math.max(0, ms - 5));
    timer.unref();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

describe('wake-up timers that fire early', () => {
  it('should re-admit a requeued session once its Retry-After passed, not at its deadline', async () => {
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: KEY },
      credentialSources: ['env'],
      fallbackChain: ['claude'],
      clock: earlyClock,
    });
    await orch.start();
    try {
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
      const started = Date.now();
      const outcome = await agent.reportFailure({
        status: 429,
        headers: { 'retry-after': '1' },
        body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
      });
      expect(outcome).toMatchObject({ action: 'requeued', provider: 'claude' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(Date.now() - started).toBeLessThan(4_000);
      await agent.release();
    } finally {
      await orch.stop();
    }
  }, 8_000);
});
