/**
 * Shared setup for the orchestrator behaviour tests in test/orchestrator/: start harnessed
 * orchestrators that are stopped after each test, real orchestrators in a temp folder of their
 * own, watch a promise settle, and the circuit a provider starts with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator } from '../../src';
import type { Orchestrator, OrchestratorOptions } from '../../src';
import { T0, startHarness } from './orchestratorFixtures';
import type { Harness } from './orchestratorFixtures';

/**
 * Registers an `afterEach` that stops every orchestrator the returned `start` began, so no timer
 * outlives its test. Call it once at the top of a test file.
 *
 * @example
 * const start = useStartedOrchestrators();
 * it('should admit', async () => {
 *   const { orch } = await start({ limits: { claude: { maxConcurrent: 1 } } });
 * });
 */
export function useStartedOrchestrators(): (options?: OrchestratorOptions, startMs?: number) => Promise<Harness> {
  const started: Orchestrator[] = [];
  afterEach(async () => {
    for (const orch of started.splice(0)) await orch.stop();
  });
  return async (options: OrchestratorOptions = {}, startMs = T0) => {
    const harness = await startHarness(options, startMs);
    started.push(harness.orch);
    return harness;
  };
}

/** Real orchestrators (the real clock) in a temp folder that each test gets anew. */
export interface TempOrchestrators {
  /** This test's temp folder, e.g. for a shared ledger file. */
  readonly root: () => string;
  /** Creates and starts an orchestrator that is stopped after the test, before its folder is removed. */
  readonly start: (options: OrchestratorOptions) => Promise<Orchestrator>;
}

/**
 * Registers a `beforeEach` that makes a temp folder (named from `prefix`) and an `afterEach` that
 * stops every orchestrator `start` began and then removes the folder. Call it once at the top of a test file.
 *
 * @example
 * const orchestrators = useTempOrchestrators('ledger-stint-');
 * it('should share the ledger', async () => {
 *   const a = await orchestrators.start({ ledger: { file: path.join(orchestrators.root(), 'ledger.json') } });
 * });
 */
export function useTempOrchestrators(prefix: string): TempOrchestrators {
  let root: string | null = null;
  const running: Orchestrator[] = [];
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((orch) => orch.stop()));
    if (root !== null) fs.rmSync(root, { recursive: true, force: true });
    root = null;
  });
  return {
    root: () => {
      if (root === null) throw new Error('useTempOrchestrators: the temp folder exists only inside a test');
      return root;
    },
    start: async (options) => {
      const orch = createOrchestrator(options);
      running.push(orch);
      await orch.start();
      return orch;
    },
  };
}

/**
 * Tracks whether a promise has settled, without awaiting it.
 *
 * @example
 * const spawn = track(orch.spawnAgent({ estimatedTokens: 10, waitMs: HOUR }));
 * expect(spawn.settled()).toBe(false);
 */
export function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; settled: () => boolean } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { promise, settled: () => done };
}

/** A provider's circuit at start: closed, nothing counted. */
export const CLOSED_CIRCUIT = { state: 'closed', openUntil: null, failures: 0, requests: 0, openings: 0 } as const;
