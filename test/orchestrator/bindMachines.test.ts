/**
 * The coordinator's side-effect slots: no-ops in the pure machine, bound by bindMachines to the
 * effects it is given, called with plain data where the matching event is emitted.
 */
import { createActor } from 'xstate';
import type { SideEffectParams } from '../../machines/coordinator.types';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { bindMachines } from '../../src/orchestrator/bindMachines';
import { createManualClock } from '../../src/orchestrator/clock';
import { coordinatorInputOf } from '../../src/orchestrator/coordinatorInput';
import { resolveOptions } from '../../src/orchestrator/options';
import { DEFAULT_DAILY_RESET } from '../../src/quota/dailyWindow';
import { MINUTE, T0 } from '../helpers/orchestratorFixtures';

type Call = {
  [K in keyof SideEffectParams]: { readonly slot: K; readonly params: SideEffectParams[K] };
}[keyof SideEffectParams];

function start(machine = bindMachinesRecording()) {
  const options = resolveOptions({ clock: machine.clock });
  const actor = createActor(machine.bound, {
    systemId: 'coordinator',
    input: coordinatorInputOf(options, { sharedLedger: false, budgets: options.budgets, now: T0 }),
  });
  actor.start();
  return { actor, ...machine };
}

function bindMachinesRecording() {
  const clock = createManualClock(T0);
  const calls: Call[] = [];
  const bound = bindMachines({
    credentials: {
      authenticate: () => Promise.reject(new Error('no credentials in this test')),
      clock,
      timeoutMs: 1_000,
    },
    clock: { clock, dailyReset: DEFAULT_DAILY_RESET },
    ledger: { reserve: null },
    effects: {
      settleStint: (params) => calls.push({ slot: 'settleStint', params }),
      recordPause: (params) => calls.push({ slot: 'recordPause', params }),
      learnEstimate: (params) => calls.push({ slot: 'learnEstimate', params }),
    },
  });
  return { clock, calls, bound };
}

describe('bindMachines', () => {
  it('should declare the side-effect slots in the machine as no-ops', () => {
    const actions = coordinatorMachine.implementations.actions;
    for (const slot of ['settleStint', 'recordPause', 'learnEstimate'] as const)
      expect(typeof actions[slot]).toBe('function');
  });

  it('should record a pause when the coordinator pauses a provider and again when it resumes', () => {
    const { actor, clock, calls } = start();
    actor.send({
      type: 'provider.exhausted',
      provider: 'claude',
      until: T0 + 5 * MINUTE,
      reason: 'reported-limit',
      now: T0,
    });
    expect(calls).toEqual([
      {
        slot: 'recordPause',
        params: { provider: 'claude', pause: { until: T0 + 5 * MINUTE, reason: 'reported-limit' } },
      },
    ]);
    clock.advance(5 * MINUTE);
    expect(calls.at(-1)).toEqual({ slot: 'recordPause', params: { provider: 'claude', pause: null } });
    expect(calls).toHaveLength(2);
    actor.stop();
    expect(clock.pending()).toBe(0);
  });

  it('should settle the stint and learn from the session when a session ends holding its slot', () => {
    const { actor, calls, clock } = start();
    const output = {
      sessionId: 's1',
      agentId: 'a1',
      provider: 'claude' as const,
      usedTokens: 40,
      returnedTokens: 60,
      returnedOnProvider: 60,
      usedOnProvider: 40,
      stint: 1,
      heldSlot: true,
      fallbacks: [],
      reason: 'released' as const,
      error: null,
      endedAt: T0,
    };
    actor.send({ type: 'session.ended', output });
    expect(calls).toEqual([
      { slot: 'settleStint', params: { sessionId: 's1', stint: 1, provider: 'claude', usedOnProvider: 40 } },
      { slot: 'learnEstimate', params: { sessionId: 's1', reason: 'released', usedTokens: 40 } },
    ]);
    actor.send({ type: 'session.ended', output: { ...output, sessionId: 's2', heldSlot: false } });
    expect(calls.at(-1)).toEqual({
      slot: 'learnEstimate',
      params: { sessionId: 's2', reason: 'released', usedTokens: 40 },
    });
    expect(calls).toHaveLength(3);
    actor.stop();
    expect(clock.pending()).toBe(0);
  });
});
