/**
 * agentSession: one agent's session, from authentication to release.
 *
 * States: authenticating → active ⇄ fallingBack → released (final).
 * Accepts: session.usage, session.heartbeat, session.failure, session.requeue, session.release, session.sweep (from the host through the
 * orchestrator and from the clock), and session.toppedUp, session.topUpRefused,
 * session.fallbackAdmitted, session.fallbackRefused (answers from the coordinator), and
 * credentials.granted / credentials.denied (answers from the credentials actor).
 * Asks the credentials actor (systemId `credentials`) for credentials on entering authenticating.
 * Tells the coordinator (by systemId `coordinator`): session.activated, session.usageReported,
 * session.fallbackRequested, and session.ended with the SessionOutput the budget is settled from.
 *
 * Invariants: the agent's env holds only the current provider's secrets (replaced wholesale on a
 * provider change); secrets live in Secret wrappers that serialise as [REDACTED]; `holdsSlot` says
 * whether the coordinator still counts this session's slot and allocation on `provider`.
 */
import { and, assertEvent, assign, sendTo, setup } from 'xstate';
import type { CredentialsRequest, SessionContext, SessionEvent, SessionInput, SessionNotice, SessionOutput } from './agentSession.types';
import type { ProviderId } from './providers';

function unusedOnProvider(context: SessionContext): number {
  return context.holdsSlot ? Math.max(0, context.tokens.allocated - context.tokens.usedOnProvider) : 0;
}

/** The coordinator registers under this systemId; sessions report to it directly, not through their parent. */
export const COORDINATOR_SYSTEM_ID = 'coordinator';
/** The credentials actor (bound in src) answers credentials.request with granted or denied. */
export const CREDENTIALS_SYSTEM_ID = 'credentials';

function outputOf(context: SessionContext): SessionOutput {
  return {
    sessionId: context.sessionId,
    agentId: context.agentId,
    provider: context.provider,
    usedTokens: context.tokens.used,
    returnedTokens: context.tokens.returned + unusedOnProvider(context),
    returnedOnProvider: unusedOnProvider(context),
    usedOnProvider: context.tokens.usedOnProvider,
    stint: context.stint,
    heldSlot: context.holdsSlot,
    fallbacks: context.fallbacks,
    reason: context.outcome?.reason ?? 'released',
    error: context.outcome?.error ?? null,
    endedAt: context.lastEventAt,
  };
}

/** Denials that are not about credentials: a shared ledger had no room (or could not be reached). */
const ADMISSION_CODES: readonly string[] = ['concurrency-limit', 'quota-exhausted', 'no-provider', 'ledger-unavailable'];

function denialReason(code: string): string {
  return ADMISSION_CODES.includes(code) ? code : 'auth-failed';
}

const NO_PENDING = { reason: '', requeueAt: null } as const;

function remainingAfter(chain: readonly ProviderId[], chosen: ProviderId): readonly ProviderId[] {
  const at = chain.indexOf(chosen);
  return at < 0 ? chain : chain.slice(at + 1);
}

export const agentSessionMachine = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    output: {} as SessionOutput,
  },
  actions: {
    requestCredentials: sendTo(({ system }) => system.get(CREDENTIALS_SYSTEM_ID), ({ context }): CredentialsRequest => ({
      type: 'credentials.request',
      provider: context.provider,
      sessionId: context.sessionId,
      agentId: context.agentId,
      allocatedTokens: context.tokens.allocated,
      stint: context.stint,
    })),
    notifyActivated: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), ({ context }): SessionNotice => ({
      type: 'session.activated',
      sessionId: context.sessionId,
      agentId: context.agentId,
      provider: context.provider,
    })),
    notifyUsage: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), ({ context, event }): SessionNotice => {
      assertEvent(event, 'session.usage');
      const left = Math.max(0, context.tokens.allocated - context.tokens.usedOnProvider);
      return {
        type: 'session.usageReported',
        sessionId: context.sessionId,
        provider: context.provider,
        tokens: event.tokens,
        withinTokens: Math.min(event.tokens, left),
        estimatedTokens: context.terms.estimatedTokens,
        stint: context.stint,
        usedOnProvider: context.tokens.usedOnProvider + event.tokens,
        now: event.now,
      };
    }),
    requestFallback: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), ({ context }): SessionNotice => ({
      type: 'session.fallbackRequested',
      sessionId: context.sessionId,
      agentId: context.agentId,
      from: context.provider,
      returnedTokens: unusedOnProvider(context),
      usedOnProvider: context.tokens.usedOnProvider,
      stint: context.stint,
      candidates: context.pending.requeueAt === null ? context.fallbackProviders : [context.provider],
      estimatedTokens: context.terms.estimatedTokens,
      reason: context.pending.reason,
      notBefore: context.pending.requeueAt,
      now: context.lastEventAt,
    })),
    notifyEnded: sendTo(({ system }) => system.get(COORDINATOR_SYSTEM_ID), ({ context }): SessionNotice => ({ type: 'session.ended', output: outputOf(context) })),
  },
  guards: {
    // A late answer for a provider the session already left is ignored.
    isForCurrentProvider: ({ context, event }) => {
      assertEvent(event, ['credentials.granted', 'credentials.denied']);
      return event.provider === context.provider;
    },
    canFallBack: ({ context }) => context.fallbackProviders.length > 0 && context.fallbacks.length < context.terms.maxFallbacks,
    isLeaseExpired: ({ context, event }) => {
      assertEvent(event, 'session.sweep');
      return event.now >= context.expiresAt;
    },
  },
}).createMachine({
  id: 'agentSession',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    agentId: input.agentId,
    terms: { estimatedTokens: input.estimatedTokens, leaseMs: input.leaseMs, maxFallbacks: input.maxFallbacks },
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
    'session.usage': {
      actions: [
        'notifyUsage',
        assign(({ context, event }) => ({
          tokens: { ...context.tokens, usedOnProvider: context.tokens.usedOnProvider + event.tokens, used: context.tokens.used + event.tokens },
          expiresAt: event.now + context.terms.leaseMs,
          lastEventAt: Math.max(context.lastEventAt, event.now),
        })),
      ],
    },
    // The agent is alive (its process runs) though it reported no usage lately: the lease runs on.
    'session.heartbeat': {
      actions: assign(({ context, event }) => ({
        expiresAt: Math.max(context.expiresAt, event.now + context.terms.leaseMs),
        lastEventAt: Math.max(context.lastEventAt, event.now),
      })),
    },
    'session.toppedUp': {
      actions: assign(({ context, event }) => ({ tokens: { ...context.tokens, allocated: context.tokens.allocated + event.tokens } })),
    },
    'session.topUpRefused': {
      target: '.released',
      // The usage was counted; the allocation is spent and nothing is left to return.
      actions: assign(({ context, event }) => ({
        tokens: { ...context.tokens, allocated: context.tokens.usedOnProvider },
        outcome: {
          reason: 'quota-exhausted' as const,
          error: { code: 'quota-exhausted', message: 'usage beyond the allocation was recorded, but the daily budget has no room for it; the session was ended' },
          overrunTokens: event.overrunTokens,
        },
      })),
    },
    'session.release': {
      target: '.released',
      actions: assign(({ context, event }) => ({
        outcome: { reason: event.reason ?? 'released', error: null, overrunTokens: 0 },
        lastEventAt: Math.max(context.lastEventAt, event.now),
      })),
    },
    'session.sweep': {
      guard: 'isLeaseExpired',
      target: '.released',
      actions: assign(({ event }) => ({
        outcome: { reason: 'expired' as const, error: { code: 'allocation-expired', message: 'the allocation lease expired with no activity' }, overrunTokens: 0 },
        lastEventAt: event.now,
      })),
    },
  },
  states: {
    authenticating: {
      entry: 'requestCredentials',
      on: {
        'credentials.granted': {
          guard: 'isForCurrentProvider',
          target: 'active',
          actions: assign(({ context, event }) => ({
            credential: { source: event.result.source, hint: event.result.hint },
            secretEnv: event.result.secretEnv,
            env: { ...event.result.env, AGENTVISOR_SESSION_ID: context.sessionId, AGENTVISOR_AGENT_ID: context.agentId },
          })),
        },
        // Denied: the credentials failed (auth-failed), or a shared ledger refused the reservation (concurrency-limit, quota-exhausted).
        'credentials.denied': [
          { guard: and(['isForCurrentProvider', 'canFallBack']), target: 'fallingBack', actions: assign(({ event }) => ({ pending: { reason: denialReason(event.code), requeueAt: null } })) },
          {
            guard: 'isForCurrentProvider',
            target: 'released',
            actions: assign(({ event }) => ({
              outcome: { reason: denialReason(event.code) === 'auth-failed' ? ('auth-failed' as const) : ('no-provider' as const), error: { code: event.code, message: event.message }, overrunTokens: 0 },
            })),
          },
        ],
      },
    },
    active: {
      entry: 'notifyActivated',
      on: {
        'session.requeue': {
          target: 'fallingBack',
          actions: assign(({ context, event }) => ({ pending: { reason: event.reason, requeueAt: event.notBefore }, lastEventAt: Math.max(context.lastEventAt, event.now) })),
        },
        'session.failure': [
          {
            guard: 'canFallBack',
            target: 'fallingBack',
            actions: assign(({ context, event }) => ({ pending: { reason: event.reason, requeueAt: null }, lastEventAt: Math.max(context.lastEventAt, event.now) })),
          },
          {
            target: 'released',
            actions: assign(({ context, event }) => ({
              lastEventAt: Math.max(context.lastEventAt, event.now),
              outcome: {
                reason: 'failed' as const,
                error: { code: 'no-provider', message: `the provider failed (${event.reason}) and no fallback provider is left` },
                overrunTokens: 0,
              },
            })),
          },
        ],
      },
    },
    fallingBack: {
      entry: [
        'requestFallback',
        // The coordinator settles the unused allocation and frees the slot on receipt of the request.
        assign(({ context }) => ({
          tokens: { ...context.tokens, returned: context.tokens.returned + unusedOnProvider(context) },
          holdsSlot: false,
          secretEnv: {},
          env: {},
        })),
      ],
      on: {
        'session.fallbackAdmitted': {
          target: 'authenticating',
          actions: assign(({ context, event }) => ({
            // A requeue comes back to the same provider: it is not a fallback.
            fallbacks: context.pending.requeueAt === null ? [...context.fallbacks, { from: context.provider, to: event.provider, reason: context.pending.reason }] : context.fallbacks,
            fallbackProviders: context.pending.requeueAt === null ? remainingAfter(context.fallbackProviders, event.provider) : context.fallbackProviders,
            pending: { reason: context.pending.reason, requeueAt: null },
            stint: context.stint + 1,
            provider: event.provider,
            tokens: { ...context.tokens, allocated: event.allocatedTokens, usedOnProvider: 0 },
            holdsSlot: true,
            // The new allocation gets a lease of its own from the failure (the latest time seen).
            expiresAt: Math.max(context.expiresAt, context.lastEventAt + context.terms.leaseMs),
          })),
        },
        'session.fallbackRefused': {
          target: 'released',
          actions: assign(({ event }) => ({ outcome: { reason: 'no-provider' as const, error: { code: event.code, message: event.message }, overrunTokens: 0 } })),
        },
      },
    },
    released: {
      type: 'final',
      entry: [assign({ secretEnv: {}, env: {} }), 'notifyEnded'],
    },
  },
  output: ({ context }) => outputOf(context),
});

export type AgentSessionMachine = typeof agentSessionMachine;
