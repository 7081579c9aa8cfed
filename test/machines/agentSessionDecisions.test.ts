import { agentSessionMachine } from '../../machines/agentSession.machine';
import { coordinatorMachine } from '../../machines/coordinator.machine';
import { resolveAgentFailurePolicy } from '../../src/orchestrator/failureHandling';
import { createSessionHarness, serverThrottled, T0 } from '../helpers/machineHarness';

const POLICIES = resolveAgentFailurePolicy();
/** A guard combinator (and, or, not) of named guards: shown by their names. */
function isCombinatorOfNames(item: unknown): boolean {
  const guards = (item as { guards?: unknown }).guards;
  return Array.isArray(guards) && guards.every((g) => typeof g === 'string' || isCombinatorOfNames(g));
}

/** Every function found where a transition's actions, entry or guard belong (none: all are named in setup). */
function inlineImplementations(node: unknown, path = 'root'): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}.${key}`;
    if (['actions', 'entry', 'exit', 'guard'].includes(key)) {
      const items: unknown[] = Array.isArray(value) ? value : [value];
      for (const item of items)
        if (typeof item === 'function' && !(key === 'guard' && isCombinatorOfNames(item))) found.push(at);
    }
    if (key !== 'context' && key !== 'output') found.push(...inlineImplementations(value, at));
  }
  return found;
}

describe('agentSession decisions', () => {
  describe('session.failure', () => {
    it('should stay active on a retry step and keep the step and attempt for the host', () => {
      const h = createSessionHarness({ input: { fallbackProviders: [], failurePolicies: POLICIES } });
      h.send({
        type: 'session.failure',
        reason: 'overloaded',
        failure: { kind: 'overloaded', retryAfterMs: null, throttle: null },
        jitter: 1,
        now: T0 + 1,
      });
      expect(h.snapshot().value).toBe('active');
      expect(h.snapshot().context.pending).toMatchObject({
        attempts: 1,
        step: { step: 'retry', delayMs: 250, attempt: 1 },
      });
      h.send({ type: 'session.usage', tokens: 5, now: T0 + 2 });
      expect(h.snapshot().context.pending.attempts).toBe(0);
      h.stop();
    });

    it('should give up with no-provider once the retries are used and nothing is left', () => {
      const h = createSessionHarness({ input: { fallbackProviders: [], failurePolicies: POLICIES } });
      for (let i = 0; i < 3; i += 1)
        h.send({
          type: 'session.failure',
          reason: 'server',
          failure: { kind: 'server', retryAfterMs: null, throttle: null },
          jitter: 0,
          now: T0 + i,
        });
      expect(h.snapshot().status).toBe('done');
      expect(h.snapshot().output).toMatchObject({ reason: 'failed', error: { code: 'no-provider' } });
      h.stop();
    });

    it('should requeue server throttling before any work, on its own provider, not before the wait', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES, maxRequeues: 2 } });
      h.send(serverThrottled(T0 + 10));
      expect(h.snapshot().value).toBe('fallingBack');
      expect(h.noticesOf('session.fallbackRequested')).toMatchObject([
        { candidates: ['claude'], notBefore: T0 + 10 + 3_000, reason: 'rate-limit' },
      ]);
      h.send({ type: 'session.fallbackAdmitted', provider: 'claude', allocatedTokens: 1_000 });
      expect(h.snapshot().value).toBe('active');
      expect(h.snapshot().context.fallbacks).toEqual([]);
      expect(h.snapshot().context.pending.requeues).toBe(1);
      h.stop();
    });

    it('should keep a session whose request was at fault on its provider', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES } });
      h.send({
        type: 'session.failure',
        reason: 'invalid-request',
        failure: { kind: 'invalid-request', retryAfterMs: null, throttle: null },
        now: T0 + 1,
      });
      expect(h.snapshot().value).toBe('active');
      expect(h.snapshot().context.pending.step).toEqual({ step: 'giveUp', code: 'invalid-request' });
      expect(h.noticesOf('session.fallbackRequested')).toEqual([]);
      h.stop();
    });

    it('should fall back down the chain on a fallback step', () => {
      const h = createSessionHarness({ input: { failurePolicies: POLICIES } });
      h.send({
        type: 'session.failure',
        reason: 'auth',
        failure: { kind: 'auth', retryAfterMs: null, throttle: null },
        now: T0 + 1,
      });
      expect(h.snapshot().value).toBe('fallingBack');
      expect(h.noticesOf('session.fallbackRequested')).toMatchObject([
        { candidates: ['openai'], notBefore: null, reason: 'auth' },
      ]);
      h.stop();
    });
  });

  describe('reserving', () => {
    it('should not reserve the first stint (the coordinator reserved it at admission)', () => {
      const h = createSessionHarness({ input: { sharedLedger: true } });
      expect(h.snapshot().value).toBe('active');
      expect(h.reservationRequests).toEqual([]);
      h.stop();
    });

    it('should reserve a later stint after its credentials, and become active when it is granted', () => {
      const h = createSessionHarness({ input: { sharedLedger: true } });
      h.send({ type: 'session.failure', reason: 'overloaded', now: T0 + 1 });
      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 700 });
      expect(h.snapshot().value).toBe('reserving');
      expect(h.credentialRequests.map((r) => r.provider)).toEqual(['claude', 'openai']);
      expect(h.reservationRequests).toEqual([
        {
          type: 'reservation.request',
          sessionId: 'session-1',
          agentId: 'agent-1',
          provider: 'openai',
          stint: 1,
          allocatedTokens: 700,
        },
      ]);
      expect(h.noticesOf('session.activated')).toHaveLength(1);
      h.send({ type: 'reservation.granted', stint: 0 });
      expect(h.snapshot().value).toBe('reserving');
      h.send({ type: 'reservation.granted', stint: 1 });
      expect(h.snapshot().value).toBe('active');
      expect(h.noticesOf('session.activated')).toHaveLength(2);
      h.stop();
    });

    it('should end with the ledger code, not auth-failed, when the ledger refuses and nothing is left', () => {
      const h = createSessionHarness({ input: { sharedLedger: true } });
      h.send({ type: 'session.failure', reason: 'overloaded', now: T0 + 1 });
      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 700 });
      h.send({ type: 'reservation.refused', stint: 1, code: 'quota-exhausted', message: 'no room in the ledger' });
      expect(h.snapshot().status).toBe('done');
      expect(h.snapshot().output).toMatchObject({
        reason: 'no-provider',
        error: { code: 'quota-exhausted', message: 'no room in the ledger' },
        provider: 'openai',
      });
      h.stop();
    });

    it('should fall back when the ledger refuses and another provider is left', () => {
      const h = createSessionHarness({
        input: { sharedLedger: true, fallbackProviders: ['openai', 'claude'], maxFallbacks: 2 },
      });
      h.send({ type: 'session.failure', reason: 'overloaded', now: T0 + 1 });
      h.send({ type: 'session.fallbackAdmitted', provider: 'openai', allocatedTokens: 700 });
      h.send({ type: 'reservation.refused', stint: 1, code: 'concurrency-limit', message: 'full' });
      expect(h.snapshot().value).toBe('fallingBack');
      expect(h.noticesOf('session.fallbackRequested').at(-1)).toMatchObject({
        from: 'openai',
        reason: 'concurrency-limit',
        candidates: ['claude'],
      });
      h.stop();
    });
  });

  describe('definition', () => {
    it('should name every action and guard in setup, so diagrams and the inspector show them', () => {
      expect(inlineImplementations(agentSessionMachine.config)).toEqual([]);
      expect(inlineImplementations(coordinatorMachine.config)).toEqual([]);
    });

    it('should decide failures, fallback requests and ledger answers as guarded transition arrays', () => {
      const guardsOf = (transitions: unknown) => (transitions as { guard?: unknown }[]).map((t) => t.guard ?? null);
      const running = coordinatorMachine.config.states!.running!.on as Record<string, unknown>;
      expect(guardsOf(running['session.fallbackRequested'])).toEqual(['isRequeueRequest', 'canAdmitFallback', null]);
      expect(guardsOf(running['agent.spawn'])).toEqual(['isHopeless', 'canAdmit', 'canQueue', null]);
      expect(guardsOf(coordinatorMachine.config.on!['provider.failed'])).toEqual([
        'isServerThrottle',
        'isUsageLimit',
        null,
      ]);
      const active = agentSessionMachine.config.states!.active!.on as Record<string, unknown>;
      expect(guardsOf(active['session.failure'])).toEqual([
        'isRequeueStep',
        'isRetryStep',
        'isFallBackStep',
        'isRequestAtFault',
        null,
      ]);
    });
  });
});
