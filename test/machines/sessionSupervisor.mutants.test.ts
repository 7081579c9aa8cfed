/**
 * The re-admission of a requeued session against the mutation run (docs/testing.md "Mutation testing"):
 * the coordinator tells the live session (supervisor.forward), it does not spawn it again. No test of the
 * coordinator group requeued a session, so machines/sessionSupervisor.ts's forward, the readmit branch of
 * admitOne (machines/coordinatorContext.ts) and the not-before release of the clock went unchecked.
 */
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { T0, createCoordinatorHarness } from '../helpers/machineHarness';

const THROTTLED = { kind: 'rate-limit', retryAfterMs: 3_000, throttle: 'server' as const };

describe('re-admitting a requeued session (mutation edges)', () => {
  it('should hold a throttled session until its not-before time, then hand it its provider back', () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 1_000, maxConcurrent: 2 } },
      config: { failurePolicies: resolveAgentFailurePolicy(), maxRequeues: 2 },
    });
    const { sessionId } = h.spawn({ estimatedTokens: 100 });
    expect(h.session(sessionId)!.getSnapshot().value).toBe('active');
    h.toSession(sessionId, {
      type: 'session.failure',
      reason: 'rate-limit',
      failure: THROTTLED,
      jitter: 0,
      now: T0 + 10,
    });
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
