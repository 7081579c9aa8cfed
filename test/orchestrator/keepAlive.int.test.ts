/**
 * The orchestrator's timers are unref'd, but a spawn waiting in the queue keeps the process alive:
 * a script whose only pending work is that wait (the slot frees on an unref'd timer) still gets its
 * agent instead of exiting with the promise pending.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

const SCRIPT = `
const { createOrchestrator } = require(${JSON.stringify(path.join(root, 'src'))});
(async () => {
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: 'sk-ant-api03-KEEPALIVEtestKEY-0001' },
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    limits: { claude: { maxConcurrent: 1 } },
  });
  await orch.start();
  const first = await orch.spawnAgent({ estimatedTokens: 100 });
  // Nothing else keeps the event loop busy: this timer is unref'd like the orchestrator's own.
  setTimeout(() => { void first.release(); }, 200).unref();
  const second = await orch.spawnAgent({ estimatedTokens: 100, waitMs: 10000 });
  console.log('admitted on ' + second.provider);
  await orch.stop();
})();
`;

describe('keep-alive while a spawn waits', () => {
  it('should keep the process alive until the waiting spawn is admitted', () => {
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', SCRIPT], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
      timeout: 60_000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('admitted on claude');
    expect(result.status).toBe(0);
  });
});
