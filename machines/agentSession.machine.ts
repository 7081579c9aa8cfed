/**
 * agentSession: one agent's session, from authentication to release.
 *
 * States: authenticating → (reserving →) active ⇄ fallingBack → released (final).
 * Accepts: session.usage, session.heartbeat, session.failure, session.release, session.sweep (from the host through the
 * orchestrator and from the clock), and session.toppedUp, session.topUpRefused,
 * session.fallbackAdmitted, session.fallbackRefused (answers from the coordinator),
 * credentials.granted / credentials.denied (answers from the credentials actor), and
 * reservation.granted / reservation.refused (answers from the ledger actor).
 * Asks the credentials actor (systemId `credentials`) for credentials on entering authenticating,
 * and on a shared ledger the ledger actor (systemId `ledger`) to reserve a later stint on entering reserving.
 * `session.failure` is decided by guards on `decideFailure` (machines/failureDecision.ts): requeue,
 * retry (stays active), fall back, or give up; the step is kept in `pending.step` for the host.
 * Tells the coordinator (by systemId `coordinator`): session.activated, session.usageReported,
 * session.fallbackRequested, and session.ended with the SessionOutput the budget is settled from.
 *
 * Invariants: the agent's env holds only the current provider's secrets (replaced wholesale on a
 * provider change); secrets live in Secret wrappers that serialise as [REDACTED]; `holdsSlot` says
 * whether the coordinator still counts this session's slot and allocation on `provider`.
 */
import { and, assertEvent, assign, sendTo, setup } from 'xstate';
import type {
  CredentialsRequest,
  ReservationRequest,
  SessionContext,
  SessionEvent,
  SessionInput,
} from './agentSession.types';
import type { SessionNotice, SessionOutput } from './agentSession.types';
import {
  failureStep,
  fallbackRequest,
  NO_PENDING,
  outputOf,
  refusalOutcome,
  remainingAfter,
  unusedOnProvider,
  usageReport,
} from './agentSessionActions';
import { agentSessionGuards } from './agentSessionGuards';

/** The coordinator registers under this systemId; sessions report to it directly, not through their parent. */
export const COORDINATOR_SYSTEM_ID = 'coordinator';
/** The credentials actor (bound in src) answers credentials.request with granted or denied. */
export const CREDENTIALS_SYSTEM_ID = 'credentials';
/** The ledger actor (bound in src on a shared ledger) answers reservation.request with granted or refused. */
export const LEDGER_SYSTEM_ID = 'ledger';

export const agentSessionMachine = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    output: {} as SessionOutput,
  },
  actions: {
    requestCredentials: sendTo(
      ({ system }) => system.get(CREDENTIALS_SYSTEM_ID),
      ({ context }): CredentialsRequest => ({
        type: 'credentials.request',
        provider: context.provider,
        sessionId: context.sessionId,
        agentId: context.agentId,
        allocatedTokens: context.tokens.allocated,
        stint: context.stint,
      }),
    ),
    requestReservation: sendTo(
      ({ system }) => system.get(LEDGER_SYSTEM_ID),
      ({ context }): ReservationRequest => ({
        type: 'reservation.request',
        sessionId: context.sessionId,
        agentId: context.agentId,
        provider: context.provider,
        stint: context.stint,
        allocatedTokens: context.tokens.allocated,
      }),
    ),
    notifyActivated: sendTo(
      ({ system }) => system.get(COORDINATOR_SYSTEM_ID),
      ({ context }): SessionNotice => ({
        type: 'session.activated',
        sessionId: context.sessionId,
        agentId: context.agentId,
        provider: context.provider,
      }),
    ),
    notifyUsage: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), usageReport),
    requestFallback: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), fallbackRequest),
    notifyEnded: sendTo(
      ({ system }) => system.get(COORDINATOR_SYSTEM_ID),
      ({ context }): SessionNotice => ({ type: 'session.ended', output: outputOf(context) }),
    ),
    countUsage: assign(({ context, event }) => {
      assertEvent(event, 'session.usage');
      return {
        tokens: {
          ...context.tokens,
          usedOnProvider: context.tokens.usedOnProvider + event.tokens,
          used: context.tokens.used + event.tokens,
        },
        expiresAt: event.now + context.terms.leaseMs,
        lastEventAt: Math.max(context.lastEventAt, event.now),
        // A success ends the run of failed attempts on this provider (no new object when there were none:
        // every usage report comes through here).
        pending: context.pending.attempts === 0 ? context.pending : { ...context.pending, attempts: 0 },
      };
    }),
    renewLease: assign(({ context, event }) => {
      assertEvent(event, 'session.heartbeat');
      return {
        expiresAt: Math.max(context.expiresAt, event.now + context.terms.leaseMs),
        lastEventAt: Math.max(context.lastEventAt, event.now),
      };
    }),
    addTopUp: assign(({ context, event }) => {
      assertEvent(event, 'session.toppedUp');
      return { tokens: { ...context.tokens, allocated: context.tokens.allocated + event.tokens } };
    }),
    // The usage was counted; the allocation is spent and nothing is left to return.
    endForOverrun: assign(({ context, event }) => {
      assertEvent(event, 'session.topUpRefused');
      return {
        tokens: { ...context.tokens, allocated: context.tokens.usedOnProvider },
        outcome: {
          reason: 'quota-exhausted' as const,
          error: {
            code: 'quota-exhausted',
            message:
              'usage beyond the allocation was recorded, but the daily budget has no room for it; the session was ended',
          },
          overrunTokens: event.overrunTokens,
        },
      };
    }),
    endOnRelease: assign(({ context, event }) => {
      assertEvent(event, 'session.release');
      return {
        outcome: { reason: event.reason ?? 'released', error: null, overrunTokens: 0 },
        lastEventAt: Math.max(context.lastEventAt, event.now),
      };
    }),
    endOnExpiry: assign(({ event }) => {
      assertEvent(event, 'session.sweep');
      return {
        outcome: {
          reason: 'expired' as const,
          error: { code: 'allocation-expired', message: 'the allocation lease expired with no activity' },
          overrunTokens: 0,
        },
        lastEventAt: event.now,
      };
    }),
    storeCredentials: assign(({ context, event }) => {
      assertEvent(event, 'credentials.granted');
      return {
        credential: { source: event.result.source, hint: event.result.hint },
        secretEnv: event.result.secretEnv,
        // Object.assign, not a leading spread: see commitAndDrain in coordinatorContext.ts (V8's slow path for keys added after it).
        env: Object.assign({}, event.result.env, {
          AGENTVISOR_SESSION_ID: context.sessionId,
          AGENTVISOR_AGENT_ID: context.agentId,
        }),
      };
    }),
    noteAuthFailure: assign(({ context }) => ({
      pending: { ...context.pending, reason: 'auth-failed', requeueAt: null },
    })),
    endForAuthFailure: assign(({ event }) => {
      assertEvent(event, 'credentials.denied');
      return { outcome: refusalOutcome('auth-failed', event) };
    }),
    noteLedgerRefusal: assign(({ context, event }) => {
      assertEvent(event, 'reservation.refused');
      return { pending: { ...context.pending, reason: event.code, requeueAt: null } };
    }),
    endForLedgerRefusal: assign(({ event }) => {
      assertEvent(event, 'reservation.refused');
      return { outcome: refusalOutcome('no-provider', event) };
    }),
    recordRequeueStep: assign(({ context, event }) => {
      assertEvent(event, 'session.failure');
      const step = failureStep(context, event);
      const delayMs = step.step === 'requeue' ? step.delayMs : 0;
      return {
        pending: {
          ...context.pending,
          reason: event.reason,
          requeueAt: event.now + delayMs,
          requeues: context.pending.requeues + 1,
          step,
        },
        lastEventAt: Math.max(context.lastEventAt, event.now),
      };
    }),
    recordRetryStep: assign(({ context, event }) => {
      assertEvent(event, 'session.failure');
      const pending = { ...context.pending, attempts: context.pending.attempts + 1, step: failureStep(context, event) };
      return { pending, lastEventAt: Math.max(context.lastEventAt, event.now) };
    }),
    recordFallBackStep: assign(({ context, event }) => {
      assertEvent(event, 'session.failure');
      const pending = { ...context.pending, reason: event.reason, requeueAt: null, step: failureStep(context, event) };
      return { pending, lastEventAt: Math.max(context.lastEventAt, event.now) };
    }),
    // The request itself was at fault: the agent stays on its provider, and the host is told.
    recordRequestAtFault: assign(({ context, event }) => {
      assertEvent(event, 'session.failure');
      return {
        pending: { ...context.pending, step: failureStep(context, event) },
        lastEventAt: Math.max(context.lastEventAt, event.now),
      };
    }),
    endWithNothingLeft: assign(({ context, event }) => {
      assertEvent(event, 'session.failure');
      return {
        pending: { ...context.pending, step: failureStep(context, event) },
        lastEventAt: Math.max(context.lastEventAt, event.now),
        outcome: {
          reason: 'failed' as const,
          error: {
            code: 'no-provider',
            message: `the provider failed (${event.reason}) and no fallback provider is left`,
          },
          overrunTokens: 0,
        },
      };
    }),
    // The coordinator settles the unused allocation and frees the slot on receipt of the request.
    giveSlotBack: assign(({ context }) => ({
      tokens: { ...context.tokens, returned: context.tokens.returned + unusedOnProvider(context) },
      holdsSlot: false,
      secretEnv: {},
      env: {},
    })),
    moveToAdmittedProvider: assign(({ context, event }) => {
      assertEvent(event, 'session.fallbackAdmitted');
      // A requeue comes back to the same provider: it is not a fallback.
      const requeued = context.pending.requeueAt !== null;
      return {
        fallbacks: requeued
          ? context.fallbacks
          : [...context.fallbacks, { from: context.provider, to: event.provider, reason: context.pending.reason }],
        fallbackProviders: requeued
          ? context.fallbackProviders
          : remainingAfter(context.fallbackProviders, event.provider),
        pending: { ...context.pending, requeueAt: null, attempts: requeued ? context.pending.attempts : 0 },
        stint: context.stint + 1,
        provider: event.provider,
        tokens: { ...context.tokens, allocated: event.allocatedTokens, usedOnProvider: 0 },
        holdsSlot: true,
        // The new allocation gets a lease of its own from the failure (the latest time seen).
        expiresAt: Math.max(context.expiresAt, context.lastEventAt + context.terms.leaseMs),
      };
    }),
    endForRefusedFallback: assign(({ event }) => {
      assertEvent(event, 'session.fallbackRefused');
      return { outcome: refusalOutcome('no-provider', event) };
    }),
    dropSecrets: assign({ secretEnv: {}, env: {} }),
  },
  guards: agentSessionGuards,
}).createMachine({
  id: 'agentSession',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    agentId: input.agentId,
    terms: {
      estimatedTokens: input.estimatedTokens,
      leaseMs: input.leaseMs,
      maxFallbacks: input.maxFallbacks,
      maxRequeues: input.maxRequeues ?? 0,
      failurePolicies: input.failurePolicies ?? null,
      sharedLedger: input.sharedLedger ?? false,
    },
    provider: input.provider,
    fallbackProviders: input.fallbackProviders,
    tokens: { allocated: input.allocatedTokens, usedOnProvider: 0, used: 0, returned: 0 },
    expiresAt: input.now + input.leaseMs,
    lastEventAt: input.now,
    holdsSlot: true,
    fallbacks: [],
    pending: NO_PENDING,
    stint: 0,
    credential: null,
    env: {},
    secretEnv: {},
    outcome: null,
  }),
  initial: 'authenticating',
  on: {
    // Usage is real whenever it arrives: it is counted on the current provider in every live state.
    'session.usage': { actions: ['notifyUsage', 'countUsage'] },
    // The agent is alive (its process runs) though it reported no usage lately: the lease runs on.
    'session.heartbeat': { actions: 'renewLease' },
    'session.toppedUp': { actions: 'addTopUp' },
    'session.topUpRefused': { target: '.released', actions: 'endForOverrun' },
    'session.release': { target: '.released', actions: 'endOnRelease' },
    'session.sweep': { guard: 'isLeaseExpired', target: '.released', actions: 'endOnExpiry' },
  },
  states: {
    authenticating: {
      entry: 'requestCredentials',
      on: {
        'credentials.granted': [
          {
            guard: and(['isForCurrentProvider', 'needsReservation']),
            target: 'reserving',
            actions: 'storeCredentials',
          },
          { guard: 'isForCurrentProvider', target: 'active', actions: 'storeCredentials' },
        ],
        // Denied: the credentials failed (a shared ledger's refusal is reservation.refused, in reserving).
        'credentials.denied': [
          { guard: and(['isForCurrentProvider', 'canFallBack']), target: 'fallingBack', actions: 'noteAuthFailure' },
          { guard: 'isForCurrentProvider', target: 'released', actions: 'endForAuthFailure' },
        ],
      },
    },
    reserving: {
      entry: 'requestReservation',
      on: {
        'reservation.granted': { guard: 'isForCurrentStint', target: 'active' },
        // Refused: the shared ledger had no room for the stint (concurrency-limit, quota-exhausted) or could not be reached.
        'reservation.refused': [
          { guard: and(['isForCurrentStint', 'canFallBack']), target: 'fallingBack', actions: 'noteLedgerRefusal' },
          { guard: 'isForCurrentStint', target: 'released', actions: 'endForLedgerRefusal' },
        ],
      },
    },
    active: {
      entry: 'notifyActivated',
      on: {
        'session.failure': [
          { guard: 'isRequeueStep', target: 'fallingBack', actions: 'recordRequeueStep' },
          { guard: 'isRetryStep', actions: 'recordRetryStep' },
          { guard: 'isFallBackStep', target: 'fallingBack', actions: 'recordFallBackStep' },
          { guard: 'isRequestAtFault', actions: 'recordRequestAtFault' },
          { target: 'released', actions: 'endWithNothingLeft' },
        ],
      },
    },
    fallingBack: {
      entry: ['requestFallback', 'giveSlotBack'],
      on: {
        'session.fallbackAdmitted': { target: 'authenticating', actions: 'moveToAdmittedProvider' },
        'session.fallbackRefused': { target: 'released', actions: 'endForRefusedFallback' },
      },
    },
    released: {
      type: 'final',
      entry: ['dropSecrets', 'notifyEnded'],
    },
  },
  output: ({ context }) => outputOf(context),
});

export type AgentSessionMachine = typeof agentSessionMachine;
