/**
 * Transition coverage of an XState machine: every transition candidate of every state node (each
 * entry of `node.transitions`, one per guarded branch, and `always`), and which of them a run took.
 *
 * A candidate is named `<state node id> <event>#<index>` (index: its place in the event's array),
 * with its guard described (`canFallBack`, `and(isForCurrentProvider, canFallBack)`) and its target,
 * so "every decision of the machine is a transition the model-based tests reach" is a list that can
 * be compared. Taken transitions are read from the `@xstate.microstep` inspection events of the actors
 * that run the machine (pass `coverage.inspect` as `createActor(…, { inspect })`), or recorded one by
 * one from `machine.getTransitionData(snapshot, event)` for a pure traversal.
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';

/** One candidate transition: an event on a state node, with its guard (null: unguarded). */
export interface TransitionCandidate {
  readonly id: string;
  readonly source: string;
  readonly event: string;
  readonly index: number;
  readonly guard: string | null;
  readonly targets: readonly string[];
}

/** The parts of a StateNode and a TransitionDefinition this helper reads (xstate's types are wide). */
interface NodeLike {
  readonly id: string;
  readonly transitions: ReadonlyMap<string, readonly DefinitionLike[]>;
  readonly always?: readonly DefinitionLike[];
  readonly states: Readonly<Record<string, NodeLike>>;
}

interface DefinitionLike {
  readonly source: NodeLike;
  readonly eventType: string;
  readonly guard?: unknown;
  readonly target?: readonly { readonly id: string }[];
}

function describeGuard(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const nested = (guard as { guards?: readonly unknown[] }).guards;
    return nested === undefined
      ? guard.name || 'inline'
      : `${guard.name}(${nested.map((g) => describeGuard(g)).join(', ')})`;
  }
  if (typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'unknown';
}

function candidatesOf(node: NodeLike): TransitionCandidate[] {
  const lists: [string, readonly DefinitionLike[]][] = [...node.transitions.entries()];
  if (node.always !== undefined) lists.push(['', node.always]);
  return lists.flatMap(([event, definitions]) =>
    definitions.map((t, index) => ({
      id: `${node.id} ${event || 'always'}#${index}`,
      source: node.id,
      event: event || 'always',
      index,
      guard: describeGuard(t.guard),
      targets: (t.target ?? []).map((target) => target.id),
    })),
  );
}

/**
 * Every transition candidate of the machine, parents before children, in declaration order.
 *
 * @example
 * listTransitions(agentSessionMachine).map((t) => t.id);
 * // ['agentSession session.usage#0', …, 'agentSession.active session.failure#0', 'agentSession.active session.failure#1', …]
 */
export function listTransitions(machine: AnyStateMachine): TransitionCandidate[] {
  const walk = (node: NodeLike): TransitionCandidate[] => [
    ...candidatesOf(node),
    ...Object.values(node.states).flatMap(walk),
  ];
  return walk(machine.root as unknown as NodeLike);
}

function idOf(definition: DefinitionLike): string {
  const { source, eventType } = definition;
  const list = eventType === '' ? (source.always ?? []) : (source.transitions.get(eventType) ?? []);
  return `${source.id} ${eventType || 'always'}#${list.indexOf(definition)}`;
}

export interface TransitionCoverage {
  readonly all: readonly TransitionCandidate[];
  /** An inspection observer: records the transitions of every microstep of the machine's actors. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Records transitions taken (as `machine.getTransitionData` returns them). */
  record(definitions: readonly unknown[]): void;
  /** Ids of the candidates taken so far. */
  taken(): ReadonlySet<string>;
  /** Candidates not taken so far, as `id [guard] → targets`, in declaration order. */
  missing(): string[];
}

/**
 * Records which transitions of `machine` runs take. Transitions of other machines (a session's, seen
 * by the coordinator's inspector) are ignored unless they share the machine's root id.
 *
 * @example
 * const coverage = createTransitionCoverage(coordinatorMachine);
 * const actor = createActor(machine, { input, inspect: coverage.inspect });
 * // … drive it …
 * expect(coverage.missing()).toEqual([]);
 */
export function createTransitionCoverage(machine: AnyStateMachine): TransitionCoverage {
  const all = listTransitions(machine);
  const known = new Set(all.map((t) => t.id));
  const taken = new Set<string>();
  const record = (definitions: readonly unknown[]) => {
    for (const definition of definitions) {
      const id = idOf(definition as DefinitionLike);
      if (known.has(id)) taken.add(id);
    }
  };
  return {
    all,
    inspect: (event) => {
      if (event.type === '@xstate.microstep') record(event._transitions);
    },
    record,
    taken: () => taken,
    missing: () =>
      all
        .filter((t) => !taken.has(t.id))
        .map((t) => `${t.id}${t.guard === null ? '' : ` [${t.guard}]`} → ${t.targets.join(', ') || '(no target)'}`),
  };
}
