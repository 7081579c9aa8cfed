/**
 * The re-admission of a requeued session against the mutation run (docs/testing.md "Mutation testing"):
 * the coordinator tells the live session (supervisor.forward), it does not spawn it again. No test of the
 * coordinator group requeued a session, so machines/sessionSupervisor.ts's forward, the readmit branch of
 * admitOne (machines/coordinatorContext.ts) and the not-before release of the clock went unchecked.
 * And the supervisor on its own: a forward to a session that is gone, and a session that throws.
 */
import { createActor } from 'xstate';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { createSessionSupervisor } from '../../machines/sessionSupervisor';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { createCoordinatorHarness, DEFAULT_SESSION_INPUT, serverThrottled, T0 } from '../helpers/machineHarness';

/** Sessions whose heartbeat throws (standing for any fault in a session's actions or guards). */
const FAULTY_SESSION = agentSessionMachine.provide({
  actions: {
    renewLease: () => {
      throw new Error('a fault in the session');
    },
  },
});

describe('re-admitting a requeued session (mutation edges)', () => {
  it('should hold a throttled session until its not-before time, then hand it its provider back', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
      config: { failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 },
    });
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    expect(h.session(sessionId)!.getSnapshot().value).toBe('active');
    h.toSession(sessionId, serverThrottled(T0 + 10));
    expect(h.session(sessionId)!.getSnapshot().value).toBe('fallingBack');
    expect(h.context().queue).toMatchObject([{ sessionId, readmit: true, notBefore: T0 + 3_010 }]);

    h.tick(T0 + 3_009);
    expect(h.session(sessionId)!.getSnapshot().value).toBe('fallingBack');
    h.tick(T0 + 3_010);
    expect(h.session(sessionId)!.getSnapshot().value).toBe('active');
    expect(h.session(sessionId)!.getSnapshot().context.pending.requeues).toBe(1);
    expect(h.context().queue).toEqual([]);
    expect(h.emittedOf('agent.admitted')).toHaveLength(1);
    expect(h.supervisedSessions()).toEqual([sessionId]);
    h.stop();
  });
});

describe('the session supervisor on its own (mutation edges)', () => {
  /** A supervisor of FAULTY_SESSIONs with one spawned. */
  function supervisorOfFaultySessions() {
    const supervisor = createActor(createSessionSupervisor(FAULTY_SESSION));
    supervisor.start();
    supervisor.send({ type: 'supervisor.spawn', input: DEFAULT_SESSION_INPUT });
    return supervisor;
  }

  it('should ignore an event forwarded to a session that is not live', () => {
    const supervisor = supervisorOfFaultySessions();
    supervisor.send({ type: 'supervisor.forward', sessionId: 'gone', event: { type: 'session.release', now: T0 } });
    expect(supervisor.getSnapshot().status).toBe('active');
    expect([...supervisor.getSnapshot().sessions.keys()]).toEqual([DEFAULT_SESSION_INPUT.sessionId]);
    supervisor.stop();
  });

  it('should forget a session that threw, as it forgets one that ended', () => {
    const supervisor = supervisorOfFaultySessions();
    const session = supervisor.getSnapshot().sessions.get(DEFAULT_SESSION_INPUT.sessionId)!;
    session.send({ type: 'session.heartbeat', now: T0 + 1 });
    expect(session.getSnapshot().status).toBe('error');
    expect(supervisor.getSnapshot()).toMatchObject({ status: 'active', sessions: new Map() });
    supervisor.stop();
  });
});

describe('a session that throws, under the real coordinator', () => {
  it('should end it as failed with agent-failed and give back its slot and unused allocation, counting what it used', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 100_000, maxConcurrent: 1 } },
      sessionMachine: FAULTY_SESSION,
    });
    const first = h.spawn({ estimatedTokens: 10_000 });
    h.toSession(first.sessionId, { type: 'session.usage', tokens: 1_500, now: T0 + 1 });
    expect(h.counters('claude')).toMatchObject({ active: 1, used: 1_500 });
    h.toSession(first.sessionId, { type: 'session.heartbeat', now: T0 + 2 });

    expect(h.supervisedSessions()).toEqual([]);
    expect(h.counters('claude')).toEqual({ used: 1_500, reserved: 0, active: 0, overrun: 0 });
    const [released] = h.emittedOf('agent.released');
    expect(released?.output).toMatchObject({ sessionId: first.sessionId, reason: 'failed', usedTokens: 1_500 });
    expect(released?.output.error?.code).toBe('agent-failed');
    expect(released?.output.error?.message).toMatch(new RegExp(`^session ${first.sessionId} stopped on an error`));
    expect(JSON.stringify(released)).not.toContain('a fault in the session');
    // The slot is free again: a second session is admitted at once.
    h.spawn({ estimatedTokens: 10_000 });
    expect(h.emittedOf('agent.admitted')).toHaveLength(2);
    h.stop();
  });
});
