/**
 * Shared setup for the orchestrator behaviour tests in test/orchestrator/: start harnessed
 * orchestrators that are stopped after each test, watch a promise settle, and the circuit a
 * provider starts with.
 */
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
