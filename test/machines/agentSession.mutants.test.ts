/**
 * Kill tests for the mutants of machines/agentSession.machine.ts and machines/agentSessionActions.ts that the
 * behaviour tests let survive (docs/testing.md "Mutation testing (StrykerJS)"): the session keeps the latest
 * time it has seen whatever order its events arrive in, keeps the step of every failure for the host, and
 * decides a legacy failure (no facts) as a failure of the kind its reason names.
 */
import { NO_PENDING, outputOf } from '../../machines/agentSessionActions';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { createSessionHarness, serverThrottled, T0 } from '../helpers/machineHarness';

const POLICIES = resolveAgentFailurePolicy();
describe('agentSession (mutation edges)', () => {
  describe('the latest time seen', () => {
    it('should end at the time of a usage report when the release carries an earlier time', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.usage', tokens: 10, now: T0 + 5_000 });
      h.send({ type: 'session.release', now: T0 + 1_000 });
      expect(h.snapshot().output?.endedAt).toBe(T0 + 5_000);
      expect(h.noticesOf('session.ended').map((n) => n.output.endedAt)).toEqual([T0 + 5_000]);
      h.stop();
    });

    it('should end at the time of a heartbeat when the release carries an earlier time', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.heartbeat', now: T0 + 6_000 });
      h.send({ type: 'session.release', now: T0 + 1_000 });
      expect(h.snapshot().output?.endedAt).toBe(T0 + 6_000);
      h.stop();
    });

    it('should not go back in time on a usage report older than the last event', () => {
      const h = createSessionHarness();
      h.send({ type: 'session.heartbeat', now: T0 + 6_000 });
      h.send({ type: 'session.usage', tokens: 10, now: T0 + 2_000 });
      h.send({ type: 'session.release', now: T0 + 1_000 });
      expect(h.snapshot().output?.endedAt).toBe(T0 + 6_000);
      h.stop();
    });

    it('should ask for a requeue as of the time of the failure', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES, maxRequeues: 2 } });
      h.send(serverThrottled(T0 + 10));
      expect(h.noticesOf('session.fallbackRequested')).toMatchObject([
        { candidates: ['claude'], notBefore: T0 + 10 + 3_000, now: T0 + 10 },
      ]);
      h.stop();
    });

    it('should end at the time of a retried failure when the release carries an earlier time', () => {
      const h = createSessionHarness({ input: { fallbackProviders: [], failurePolicies: POLICIES } });
      h.send({
        type: 'session.failure',
        reason: 'overloaded',
        failure: { kind: 'overloaded', retryAfterMs: null, throttle: null },
        jitter: 0,
        now: T0 + 7_000,
      });
      expect(h.snapshot().context.pending.step).toMatchObject({ step: 'retry' });
      h.send({ type: 'session.release', now: T0 + 1_000 });
      expect(h.snapshot().output?.endedAt).toBe(T0 + 7_000);
      h.stop();
    });

    it('should end at the time of a request at fault when the release carries an earlier time', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES } });
      h.send({
        type: 'session.failure',
        reason: 'invalid-request',
        failure: { kind: 'invalid-request', retryAfterMs: null, throttle: null },
        now: T0 + 8_000,
      });
      expect(h.snapshot().value).toBe('active');
      h.send({ type: 'session.release', now: T0 + 1_000 });
      expect(h.snapshot().output?.endedAt).toBe(T0 + 8_000);
      h.stop();
    });

    it('should end at the time of the failure it gives up on, with the step kept for the host', () => {
      const h = createSessionHarness({ input: { fallbackProviders: [] } });
      h.send({ type: 'session.failure', reason: 'server', now: T0 + 9_000 });
      const s = h.snapshot();
      expect(s.status).toBe('done');
      expect(s.output).toMatchObject({ reason: 'failed', error: { code: 'no-provider' }, endedAt: T0 + 9_000 });
      expect(s.context.pending).toEqual({ ...NO_PENDING, step: { step: 'giveUp', code: 'no-provider' } });
      h.stop();
    });
  });

  describe('a legacy failure (no facts)', () => {
    it('should be decided as a failure of the kind its reason names', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES } });
      h.send({ type: 'session.failure', reason: 'invalid-request', now: T0 + 1 });
      // invalid-request is the request's fault: the session stays on its provider (any other kind falls back).
      expect(h.snapshot().value).toBe('active');
      expect(h.snapshot().context.pending.step).toEqual({ step: 'giveUp', code: 'invalid-request' });
      h.stop();
    });
  });

  describe('outputOf', () => {
    it('should describe a session that has no outcome yet as released without an error', () => {
      const h = createSessionHarness();
      const live = h.snapshot().context;
      expect(live.outcome).toBeNull();
      expect(outputOf(live)).toMatchObject({ reason: 'released', error: null, endedAt: T0, returnedOnProvider: 1_000 });
      h.stop();
    });
  });
});
