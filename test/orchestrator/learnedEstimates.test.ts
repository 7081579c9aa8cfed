/**
 * Allocations that learn: `spawnAgent({ taskKind })` without `estimatedTokens` takes the high
 * percentile of the kind's latest settled usage, within min and max; the allocation rule itself is
 * unchanged; samples persist beside a durable ledger and survive a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createManualClock, createOrchestrator } from '../../src';
import type { Orchestrator, OrchestratorOptions } from '../../src';
import { TaskKindEstimates, percentileOf, resolveLearnedEstimates } from '../../src/orchestrator/learnedEstimates';
import { resolveLedger } from '../../src/orchestrator/ledgerOption';
import { BOTH_KEYS_ENV, T0, agentvisorErrorOf, startHarness } from '../helpers/orchestratorFixtures';
import { seededRandom } from '../../src/sandbox/random';

/** One session of `kind` that uses `used` tokens and is released; returns its admission allocation. */
async function runSession(orch: Orchestrator, kind: string, used: number, estimatedTokens?: number): Promise<number> {
  const agent = await orch.spawnAgent({
    taskKind: kind,
    ...(estimatedTokens === undefined ? {} : { estimatedTokens }),
  });
  const allocated = agent.allocatedTokens;
  agent.reportUsage({ inputTokens: used, outputTokens: 0 });
  await agent.release();
  return allocated;
}

describe('learned estimates', () => {
  describe('options', () => {
    it('should default to p90 of the last 50 within 1,000 and 200,000, starting at 20,000, in memory with the memory ledger', () => {
      const home = '/tmp/agentvisor-home';
      expect(resolveLearnedEstimates(undefined, resolveLedger('memory', home), home)).toEqual({
        percentile: 90,
        window: 50,
        min: 1_000,
        max: 200_000,
        initial: 20_000,
        file: null,
      });
      expect(resolveLearnedEstimates(undefined, resolveLedger('file', home), home).file).toBe(
        path.join(home, 'agentvisor', 'estimates.json'),
      );
      expect(resolveLearnedEstimates({ file: false }, resolveLedger('file', home), home).file).toBeNull();
      expect(resolveLearnedEstimates(undefined, resolveLedger({ file: '/srv/q/ledger.json' }, home), home).file).toBe(
        '/srv/q/estimates.json',
      );
    });

    it('should refuse settings out of range with invalid-option saying what is allowed', async () => {
      const error = await agentvisorErrorOf(
        () => createOrchestrator({ learnedEstimates: { percentile: 0 } }),
        'invalid-option',
      );
      expect(error.message).toBe('learnedEstimates.percentile must be a whole number from 1 to 100, got 0');
      const bounds = await agentvisorErrorOf(
        () => createOrchestrator({ learnedEstimates: { min: 5_000, max: 1_000 } }),
        'invalid-option',
      );
      expect(bounds.message).toBe('learnedEstimates.max must be at least min (5000), got 1000');
      expect(bounds.details.option).toBe('learnedEstimates.max');
      const initial = await agentvisorErrorOf(
        () => createOrchestrator({ learnedEstimates: { initial: 10, min: 100 } }),
        'invalid-option',
      );
      expect(initial.message).toBe('learnedEstimates.initial must be a number from min (100) to max (200000), got 10');
      expect(initial.details.option).toBe('learnedEstimates.initial');
    });

    it.each([
      [
        { percentil: 95 },
        'learnedEstimates.percentil',
        /^learnedEstimates\.percentil is not an option; did you mean percentile\?/,
      ],
      [
        { window: 10_001 },
        'learnedEstimates.window',
        /^learnedEstimates\.window must be a whole number from 1 to 10000, got 10001$/,
      ],
      [
        { min: 0 },
        'learnedEstimates.min',
        /^learnedEstimates\.min must be a whole number from 1 to 1000000000, got 0$/,
      ],
      [
        { file: true },
        'learnedEstimates.file',
        /^learnedEstimates\.file must be a path, or false to keep samples in memory/,
      ],
      [{ file: ' ' }, 'learnedEstimates.file', /^learnedEstimates\.file must be a path/],
      [
        90,
        'learnedEstimates',
        /^learnedEstimates must be an object such as \{ percentile: 90, window: 50, min: 1000, max: 200000 \}, got 90$/,
      ],
    ])('should refuse learnedEstimates %j with invalid-option naming the field', async (value, option, message) => {
      const error = await agentvisorErrorOf(
        () => createOrchestrator({ learnedEstimates: value as never }),
        'invalid-option',
      );
      expect(error.message).toMatch(message);
      expect(error.details.option).toBe(option);
    });

    it('should refuse a spawn with neither estimatedTokens nor taskKind, and a malformed kind', async () => {
      const { orch } = await startHarness();
      const none = await agentvisorErrorOf(() => orch.spawnAgent({}), 'invalid-estimate');
      expect(none.message).toBe(
        'spawnAgent needs estimatedTokens (a whole number of tokens), or a taskKind to take the estimate learned from that kind of task',
      );
      await agentvisorErrorOf(() => orch.spawnAgent({ taskKind: 'has space' }), 'invalid-option');
      await orch.stop();
    });
  });

  describe('percentileOf and TaskKindEstimates', () => {
    it('should take the nearest-rank percentile', () => {
      const values = Array.from({ length: 10 }, (_, i) => (i + 1) * 100);
      expect(percentileOf(values, 90)).toBe(900);
      expect(percentileOf(values, 100)).toBe(1_000);
      expect(percentileOf(values, 1)).toBe(100);
      expect(percentileOf([7], 90)).toBe(7);
    });

    it('should keep only the window and clamp to min and max', () => {
      const e = new TaskKindEstimates({ percentile: 50, window: 3, min: 200, max: 5_000, initial: 1_000, file: null });
      expect(e.estimateFor('x')).toBe(1_000);
      e.record('x', { used: 100, allocated: 1_000 });
      expect(e.estimateFor('x')).toBe(200);
      for (const used of [9_000, 9_000, 9_000]) e.record('x', { used, allocated: 1_000 });
      expect(e.estimateFor('x')).toBe(5_000);
      expect(e.stats().x).toEqual({
        estimate: 5_000,
        basis: 'learned',
        samples: 3,
        settled: 4,
        meanUseRatio: 9,
        unusedTokens: 0,
        overAllocation: 3,
      });
    });
  });

  describe('through the orchestrator', () => {
    it('should start a kind at the initial estimate and then allocate its learned p90 by the unchanged rule', async () => {
      const { orch } = await startHarness({ learnedEstimates: { initial: 8_000, min: 100 } });
      expect(await runSession(orch, 'lint', 1_000)).toBe(8_000);
      for (let i = 2; i <= 10; i += 1) await runSession(orch, 'lint', i * 1_000);
      // p90 of 1,000…10,000 is 9,000: the next lint session is allocated min(9,000, floor(available / 2)).
      const stats = orch.stats().taskKinds.lint!;
      expect(stats).toMatchObject({ estimate: 9_000, basis: 'learned', samples: 10, settled: 10 });
      expect(await runSession(orch, 'lint', 500)).toBe(9_000);
      // The allocation rule still caps at half of what is left.
      const tight = await startHarness({
        learnedEstimates: { initial: 8_000 },
        limits: { claude: { dailyLimit: 10_000 } },
        fallbackChain: ['claude'],
      });
      expect(await runSession(tight.orch, 'lint', 10)).toBe(5_000);
      await tight.orch.stop();
      await orch.stop();
    });

    it('should say how well allocations matched use per kind', async () => {
      const { orch } = await startHarness({ learnedEstimates: { initial: 4_000 } });
      await runSession(orch, 'fix', 1_000);
      await runSession(orch, 'fix', 6_000);
      expect(orch.stats().taskKinds.fix).toEqual({
        estimate: 6_000,
        basis: 'learned',
        samples: 2,
        settled: 2,
        // The first was allocated the initial 4,000; the second the learned 1,000 (p90 of [1,000]): (1,000 / 4,000 + 6,000 / 1,000) / 2.
        meanUseRatio: 3.125,
        unusedTokens: 3_000,
        overAllocation: 1,
      });
      await orch.stop();
    });

    it('should learn from sessions with an explicit estimate too, and not from sessions that did not end by release', async () => {
      const { orch, clock } = await startHarness({ leaseMs: 60_000, sweepIntervalMs: 60_000 });
      await runSession(orch, 'docs', 3_000, 10_000);
      const abandoned = await orch.spawnAgent({ taskKind: 'docs', estimatedTokens: 10_000 });
      abandoned.reportUsage({ inputTokens: 9_999, outputTokens: 0 });
      clock.advance(120_000);
      expect(abandoned.isLive).toBe(false);
      expect(orch.stats().taskKinds.docs).toMatchObject({ samples: 1, estimate: 3_000, meanUseRatio: 0.3 });
      await orch.stop();
    });

    it('should converge on the p90 of a kind whose usage is drawn from a fixed distribution', async () => {
      const { orch } = await startHarness({
        learnedEstimates: { window: 50, min: 100, max: 100_000, initial: 50_000 },
        limits: { claude: { dailyLimit: 100_000_000 } },
      });
      const next = seededRandom(7);
      // Uniform on [10,000, 20,000): its p90 is 19,000.
      const estimates: number[] = [];
      for (let i = 0; i < 200; i += 1) {
        await runSession(orch, 'refactor', 10_000 + Math.floor(next() * 10_000));
        estimates.push(orch.stats().taskKinds.refactor!.estimate);
      }
      expect(estimates[0]).toBeLessThan(20_000);
      for (const e of estimates.slice(49)) expect(Math.abs(e - 19_000)).toBeLessThan(1_000);
      expect(orch.stats().taskKinds.refactor).toMatchObject({ samples: 50, settled: 200 });
      await orch.stop();
    });
  });

  describe('persistence', () => {
    let home: string;
    beforeEach(() => {
      home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'learned-estimates-')));
    });
    afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

    async function fileOrchestrator(options: OrchestratorOptions = {}): Promise<Orchestrator> {
      const orch = createOrchestrator({
        env: BOTH_KEYS_ENV,
        clock: createManualClock(T0),
        home,
        ledger: 'file',
        credentialSources: ['env'],
        ...options,
      });
      await orch.start();
      return orch;
    }

    it('should write the samples beside the file ledger (0600) and start from them after a restart', async () => {
      const first = await fileOrchestrator({ learnedEstimates: { initial: 30_000, min: 100 } });
      for (const used of [2_000, 4_000, 6_000]) await runSession(first, 'test', used);
      await first.stop();
      const file = path.join(home, 'agentvisor', 'estimates.json');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
        version: 1,
        kinds: {
          test: {
            settled: 3,
            samples: [
              [2_000, 30_000],
              [4_000, 2_000],
              [6_000, 4_000],
            ],
          },
        },
      });

      const second = await fileOrchestrator({ learnedEstimates: { initial: 30_000, min: 100 } });
      expect(second.stats().taskKinds.test).toMatchObject({ estimate: 6_000, samples: 3, settled: 3 });
      const agent = await second.spawnAgent({ taskKind: 'test' });
      expect(agent.allocatedTokens).toBe(6_000);
      await agent.release();
      await second.stop();
    });

    it('should merge the samples of two orchestrators sharing the file', async () => {
      const a = await fileOrchestrator();
      const b = await fileOrchestrator();
      await runSession(a, 'k', 1_000);
      await runSession(b, 'k', 2_000);
      await a.stop();
      await b.stop();
      const stored = JSON.parse(fs.readFileSync(path.join(home, 'agentvisor', 'estimates.json'), 'utf8')) as {
        kinds: { k: { settled: number; samples: number[][] } };
      };
      expect(stored.kinds.k.settled).toBe(2);
      expect(stored.kinds.k.samples.map((s) => s[0]).sort()).toEqual([1_000, 2_000]);
    });

    it('should keep samples in memory only with learnedEstimates.file: false', async () => {
      const orch = await fileOrchestrator({ learnedEstimates: { file: false } });
      await runSession(orch, 'k', 1_000);
      await orch.stop();
      expect(fs.existsSync(path.join(home, 'agentvisor', 'estimates.json'))).toBe(false);
    });
  });
});
