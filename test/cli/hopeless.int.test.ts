/**
 * Issue 14, scenario 4: a request that no wait can help (an estimate above the daily limit of
 * every provider it may use) is refused at once with retryAfterMs null and a message saying no
 * reset will help: in the library (also on a shared ledger), in `run`, and in `batch`, where the
 * task fails at once instead of waiting out `--wait`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, isAgentvisorError } from '../../src';
import { startProviderApiFake } from '../../src/sandbox';
import type { ProviderApiFake } from '../../src/sandbox';
import { jsonLines, makeBatchWorkspace } from '../helpers/batchCli';
import type { BatchWorkspace } from '../helpers/batchCli';

const CLAUDE_KEY = `sk-ant-api03-${'CliHopelessKey'}${'h'.repeat(60)}Hq1a`;
const OPENAI_KEY = `sk-proj-${'CliHopelessKey'}${'j'.repeat(40)}Hq2b`;
const NO_RESET = /no wait or daily reset will help/;

describe('hopeless requests', () => {
  it('should refuse at once with retryAfterMs null, even with waitMs, on the memory and the file ledger', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hopeless-'));
    try {
      for (const ledger of ['memory', { file: path.join(root, 'ledger.json') }] as const) {
        const orch = createOrchestrator({
          env: { ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_API_KEY: OPENAI_KEY },
          credentialSources: ['env'],
          ledger,
          limits: { claude: { dailyLimit: 1_000 }, openai: { dailyLimit: 2_000 } },
        });
        await orch.start();
        const started = Date.now();
        const error = await orch.spawnAgent({ estimatedTokens: 2_001, waitMs: 30_000 }).catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(isAgentvisorError(error, 'quota-exhausted')).toBe(true);
        expect(isAgentvisorError(error) && error.retryAfterMs).toBeNull();
        expect((error as Error).message).toMatch(NO_RESET);
        expect((error as Error).message).toMatch(/claude: 1000 tokens\/day, openai: 2000 tokens\/day/);
        // One that fits is not hopeless.
        const fits = await orch.spawnAgent({ estimatedTokens: 2_000, waitMs: 30_000 });
        expect(fits.provider).toBe('openai');
        await fits.release();
        await orch.stop();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  describe('CLI', () => {
    let fake: ProviderApiFake;
    let ws: BatchWorkspace;
    beforeEach(async () => {
      fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
      ws = makeBatchWorkspace(fake, 'cli-hopeless-');
    });
    afterEach(async () => {
      await fake.close();
      ws.cleanup();
    });

    it('should fail `run` at once for an estimate above every daily limit', async () => {
      const started = Date.now();
      const end = await ws.cli(['run', '--json', '--estimate', '2000000', 'say hi'], {
        claude: CLAUDE_KEY,
        openai: OPENAI_KEY,
      }).done;
      expect(end.status).toBe(1);
      const result = JSON.parse(end.stdout.trim().split('\n').pop() ?? '{}') as {
        ok: boolean;
        error: { code: string; message: string };
      };
      expect(result.ok).toBe(false);
      expect(result.error.code).toBe('quota-exhausted');
      expect(result.error.message).toMatch(NO_RESET);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(fake.requests.filter((r) => r.route === 'anthropic.messages' || r.route.startsWith('openai'))).toEqual([]);
    }, 40_000);

    it('should mark a hopeless batch task failed at once instead of waiting out --wait', async () => {
      const tasks = ws.writeTasks([{ id: 'huge', task: 'never', estimate: 5_000 }]);
      const started = Date.now();
      const end = await ws.cli(
        ['batch', '--json', '--wait', '120', '--daily-limit', 'claude=1000,openai=1000', tasks],
        { claude: CLAUDE_KEY, openai: OPENAI_KEY },
      ).done;
      expect(Date.now() - started).toBeLessThan(20_000);
      const lines = jsonLines(end.stdout);
      const huge = lines.find((l) => l.id === 'huge') as { ok: boolean; error: { code: string; message: string } };
      expect(huge.ok).toBe(false);
      expect(huge.error.code).toBe('quota-exhausted');
      expect(huge.error.message).toMatch(NO_RESET);
    }, 40_000);
  });
});
