/**
 * Shared fixtures for the orchestrator unit and property tests: distinctive fake keys, a manual
 * clock at a fixed instant, an event recorder over every orchestrator event, and a way to catch
 * an error whether a call throws synchronously or rejects.
 */
import { createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type {
  AgentvisorError,
  ManualClock,
  Orchestrator,
  OrchestratorEventMap,
  OrchestratorEventName,
  OrchestratorOptions,
  OrchestratorStats,
} from '../../src';

export { HOUR, MINUTE } from './timeOrigin';

/** Fake keys that no real key resembles; tests assert they never leave agent.env. */
export const FAKE_CLAUDE_KEY = 'sk-ant-api03-FAKEclaudeKEY-7f3a9b2c1d0e';
export const FAKE_OPENAI_KEY = 'sk-proj-FAKEopenaiKEY-4e5d6c7b8a90';
/** Fragments of the keys that no hint (prefix + last four characters) contains. */
export const SECRET_FRAGMENTS = ['FAKEclaudeKEY', 'FAKEopenaiKEY', FAKE_CLAUDE_KEY, FAKE_OPENAI_KEY] as const;

/** Both providers' keys, as a host's environment would hold them. */
export const BOTH_KEYS_ENV: Readonly<Record<string, string>> = {
  ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
  OPENAI_API_KEY: FAKE_OPENAI_KEY,
};

/**
 * 2026-03-10T10:00:00Z, a Tuesday morning far from any daily reset at 00:00 UTC. Not timeOrigin's
 * T0 (yet): test/unit/orchestrator.test.ts and test/orchestrator/ name this day's resets literally.
 */
export const T0 = Date.parse('2026-03-10T10:00:00.000Z');

export const EVENT_NAMES: readonly OrchestratorEventName[] = [
  'agent.queued',
  'agent.refused',
  'agent.active',
  'agent.fallback',
  'agent.requeued',
  'agent.released',
  'quota.low',
  'quota.overrun',
  'quota.reset',
  'provider.circuit',
  'provider.limit',
  'provider.paused',
  'provider.resumed',
];

export type RecordedEvent = {
  [E in OrchestratorEventName]: { readonly name: E; readonly payload: OrchestratorEventMap[E][0] };
}[OrchestratorEventName];

/** Records every orchestrator event in order. */
export interface EventLog {
  readonly all: RecordedEvent[];
  of<E extends OrchestratorEventName>(name: E): OrchestratorEventMap[E][0][];
  names(): OrchestratorEventName[];
}

export function recordEvents(orch: Orchestrator): EventLog {
  const all: RecordedEvent[] = [];
  for (const name of EVENT_NAMES) {
    orch.on(name, (payload: OrchestratorEventMap[typeof name][0]) => {
      all.push({ name, payload } as RecordedEvent);
    });
  }
  return {
    all,
    of: <E extends OrchestratorEventName>(name: E) =>
      all.filter((e) => e.name === name).map((e) => e.payload as OrchestratorEventMap[E][0]),
    names: () => all.map((e) => e.name),
  };
}

export interface Harness {
  readonly orch: Orchestrator;
  readonly clock: ManualClock;
  readonly events: EventLog;
}

/**
 * A started orchestrator on a manual clock at T0 with both fake keys, recording its events.
 * Sessions start on Claude (`prefer-claude`) unless the test says otherwise: with two API keys the
 * default policy would start them on OpenAI, and these tests exercise the claude → openai chain.
 * The priority policy itself is tested in providerPriority.test.ts.
 */
export async function startHarness(options: OrchestratorOptions = {}, startMs = T0): Promise<Harness> {
  const clock = createManualClock(startMs);
  const orch = createOrchestrator({
    env: BOTH_KEYS_ENV,
    clock,
    ...(options.fallbackChain === undefined ? { providerPriority: 'prefer-claude' } : {}),
    ...options,
  });
  const events = recordEvents(orch);
  await orch.start();
  return { orch, clock, events };
}

/**
 * The error a call raised, whether it threw synchronously or returned a rejected promise; fails
 * the test when the call succeeded.
 */
export async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Like errorOf, but also checks that it is an AgentvisorError with `code`. */
export async function agentvisorErrorOf(call: () => unknown, code: AgentvisorError['code']): Promise<AgentvisorError> {
  const error = await errorOf(call);
  if (!isAgentvisorError(error, code)) {
    const got =
      error instanceof Error
        ? `${error.name}: ${error.message} (${String((error as { code?: unknown }).code)})`
        : String(error);
    throw new Error(`expected an AgentvisorError with code ${code}, got ${got}`);
  }
  return error;
}

/** Per-provider numbers of stats() in a form that compares with toEqual. */
export function budgetsOf(stats: OrchestratorStats): OrchestratorStats['providers'] {
  return JSON.parse(JSON.stringify(stats.providers)) as OrchestratorStats['providers'];
}

/** Lets pending promise continuations run (the manual clock does not move). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
