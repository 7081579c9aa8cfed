/**
 * The breadth-first exploration behind the coordinator's graph model tests: the real coordinator
 * machine (test/helpers/coordinatorGraph.ts) is stepped over the steps a test offers in each state,
 * deduplicated by the abstract view (plus the step counts that bound the paths), and the leaves of
 * the exploration tree are the paths then replayed against the real orchestrator.
 */
import type { InspectionEvent } from 'xstate';
import { PROVIDER_IDS } from '../../machines/providers';
import { WAITING } from './coordinatorGraph';
import { MachineSide } from './graphMachineSide';
import { OrchestratorSide } from './graphOrchestratorSide';
import type { GraphSetup, GraphStep, GraphView } from './coordinatorGraph';

/** The steps a test offers after `path`, in the state `side` is in. */
export type StepsFrom = (side: MachineSide, path: readonly GraphStep[]) => GraphStep[];

export function countOf(path: readonly GraphStep[], type: GraphStep['type']): number {
  return path.filter((s) => s.type === type).length;
}

function keyOf(side: MachineSide, path: readonly GraphStep[]): string {
  const counts = { spawns: countOf(path, 'spawn'), ticks: countOf(path, 'tick') };
  return JSON.stringify({ view: side.view(), ...counts, breaks: side.ledgerBreaks() });
}

function replay(setup: GraphSetup, path: readonly GraphStep[], inspect?: (event: InspectionEvent) => void) {
  const side = new MachineSide(inspect, setup);
  for (const step of path) side.apply(step);
  return side;
}

/**
 * A path's readable name, e.g. `spawn(100, wait) → fail(throttle) → tick`.
 *
 * @example it.each(leaves.map((p) => [nameOf(p), p] as const))('should … along %s', …)
 */
export function nameOf(path: readonly GraphStep[]): string {
  return path
    .map((s) => {
      if (s.type === 'spawn') return `spawn(${s.estimatedTokens}${s.waitMs > 0 ? ', wait' : ''})`;
      if (s.type === 'fail') return `fail(${s.kind})`;
      return s.type === 'grab' || s.type === 'letGo' ? `${s.type}(${s.provider})` : s.type;
    })
    .join(' → ');
}

/**
 * Breadth-first over the real machine; returns the leaves of the exploration tree (each path ends
 * where nothing new follows) and how many abstract states it saw. Every microstep is inspected.
 *
 * @example const { leaves, states } = explore(PLAIN, stepsFrom, 7, coverage.inspect);
 */
export function explore(
  setup: GraphSetup,
  stepsFrom: StepsFrom,
  maxDepth: number,
  inspect: (event: InspectionEvent) => void,
): { readonly leaves: GraphStep[][]; readonly states: number } {
  const seen = new Set<string>();
  const start = replay(setup, [], inspect);
  seen.add(keyOf(start, []));
  start.stop();
  const frontier: GraphStep[][] = [[]];
  const leaves: GraphStep[][] = [];
  while (frontier.length > 0) {
    const path = frontier.shift()!;
    const side = replay(setup, path);
    const steps = path.length < maxDepth ? stepsFrom(side, path) : [];
    side.stop();
    let grew = false;
    for (const step of steps) {
      const next = [...path, step];
      const after = replay(setup, next, inspect);
      const key = keyOf(after, next);
      after.stop();
      if (seen.has(key)) continue;
      seen.add(key);
      frontier.push(next);
      grew = true;
    }
    if (!grew && path.length > 0) leaves.push(path);
  }
  return { leaves, states: seen.size };
}

/**
 * What the shared ledger must say whatever the machines decide, judged on the ledger model and the
 * orchestrator's view: every active agent holds a reservation for its stint (no more and no fewer
 * live reservations than active agents plus the other holder's), and the coordinator never asks
 * for a slot it knew to be taken (no refusal since the last sync without a grab in between).
 */
function expectLedgerBacked(machine: MachineSide, view: GraphView, step: number): void {
  const held = Object.fromEntries(
    PROVIDER_IDS.map((p) => {
      const active = view.agents.filter((a) => a.startsWith(`${p}/`) && !a.endsWith(WAITING)).length;
      return [p, active + machine.otherHolds(p)];
    }),
  );
  expect({ step, ledger: view.ledger, unforeseen: machine.unforeseenRefusals() }).toEqual({
    step,
    ledger: held,
    unforeseen: [],
  });
}

/**
 * Replays `path` on a fresh machine and a fresh orchestrator side by side, expecting the same view
 * at the start and after every step; stops both (and removes the ledger's folder) in any case.
 *
 * @example await expectSameAlong(PLAIN, [{ type: 'spawn', waitMs: 0, estimatedTokens: 100 }, { type: 'stop' }]);
 */
export async function expectSameAlong(setup: GraphSetup, path: readonly GraphStep[]): Promise<void> {
  const machine = new MachineSide(undefined, setup);
  const orch = await OrchestratorSide.start(setup);
  try {
    expect(await orch.view()).toEqual(machine.view());
    for (const [i, step] of path.entries()) {
      machine.apply(step);
      await orch.apply(step);
      const view = await orch.view();
      expect({ step: i, view }).toEqual({ step: i, view: machine.view() });
      if (setup.shared) expectLedgerBacked(machine, view, i);
    }
  } finally {
    machine.stop();
    await orch.stop();
  }
}
