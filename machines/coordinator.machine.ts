/**
 * coordinator: owns the budget, the concurrency limits and the wait queue, and supervises sessions.
 *
 * States: running → stopping. Every decision is a guarded transition on counters in context: admit,
 * queue or refuse a spawn; requeue, fall back or refuse a falling-back session; start, re-ask,
 * requeue or refuse after the shared ledger's answer; throttle, pause or count a provider failure.
 * Guards are in machines/coordinatorGuards.ts, action bodies in machines/coordinatorActions.ts,
 * shared helpers and the context in machines/coordinatorContext.ts.
 * Accepts: agent.spawn, provider.failed, provider.exhausted, ledger.limits, coordinator.stop (from
 * the orchestrator), clock.tick (from the clock actor, whose one timer is armed on `nextDueAt` of
 * this context), and session.activated / usageReported / fallbackRequested / ended (from sessions,
 * addressed by systemId `coordinator`).
 * Emits (for the host): agent.admitted, agent.queued, agent.refused, agent.active, agent.fallback,
 * agent.released, quota.low, quota.overrun, quota.reset, provider.circuit / limit / paused / resumed.
 * Side-effect slots (no-op actions here, bound in src/orchestrator/bindMachines.ts): settleStint,
 * recordPause, learnEstimate, called where the matching event is emitted.
 * Children: the clock, credentials and ledger actors (bound in src/), and the session supervisor (systemId
 * `sessions`), the parent of every session.
 *
 * Invariants: admission checks and reserves in one transition (guard + action on the same context);
 * without an overrun, used + reserved <= dailyLimit and active <= maxConcurrent for every provider;
 * reserved is exactly the unused allocation of live sessions. Sessions are children of the
 * supervisor (a Map), never of this machine, so admission never copies a map of every live
 * session. Time enters only as `now` on events; `context.now` is the latest seen. Every time that
 * matters (wait deadlines, not-before times, cooldowns, pauses, the next sweep and daily reset) is
 * in context, so a restored coordinator keeps them; `clock.tick` applies whatever is due. In
 * `stopping` nothing is admitted: sessions only settle.
 */
import { enqueueActions, fromCallback, not, setup } from 'xstate';
import { agentSessionMachine } from './agentSession.machine';
import type { CredentialsRequest, ReservationRequest } from './agentSession.types';
import type { CoordinatorEmitted, CoordinatorEvent, CoordinatorInput, SideEffectParams } from './coordinator.types';
import { coordinatorActionBodies as body } from './coordinatorActions';
import type { CoordinatorContext } from './coordinatorContext';
import { coordinatorGuards } from './coordinatorGuards';
import { initialHealth } from './providerHealth';
import { createSessionSupervisor } from './sessionSupervisor';

export type { CoordinatorContext } from './coordinatorContext';

export const coordinatorMachine = setup({
  types: {
    input: {} as CoordinatorInput,
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    emitted: {} as CoordinatorEmitted,
  },
  actors: {
    sessionSupervisor: createSessionSupervisor(agentSessionMachine),
    // Bound in src/orchestrator: keeps one timer on nextDueAt(context) of this coordinator (systemId
    // `coordinator`) and sends clock.tick. Time enters only as events.
    clock: fromCallback<CoordinatorEvent>(() => undefined),
    // Bound in src/orchestrator: answers each session's credentials.request (env, files, OAuth refresh).
    credentials: fromCallback<CredentialsRequest>(() => undefined),
    // Bound in src/orchestrator on a shared ledger: answers each session's reservation.request (a later stint).
    ledger: fromCallback<ReservationRequest>(() => undefined),
  },
  guards: coordinatorGuards,
  actions: {
    // Side-effect slots: no-ops here, bound in src/orchestrator/bindMachines.ts.
    settleStint: (_, _params: SideEffectParams['settleStint']) => undefined,
    recordPause: (_, _params: SideEffectParams['recordPause']) => undefined,
    learnEstimate: (_, _params: SideEffectParams['learnEstimate']) => undefined,
    admit: enqueueActions(body.admit),
    enqueueRequest: enqueueActions(body.enqueueRequest),
    refuse: enqueueActions(body.refuse),
    refuseHopeless: enqueueActions(body.refuseHopeless),
    refuseStopping: enqueueActions(body.refuseStopping),
    refuseAllWaiting: enqueueActions(body.refuseAllWaiting),
    startReserved: enqueueActions(body.startReserved),
    askLedgerElsewhere: enqueueActions(body.askLedgerElsewhere),
    requeueAfterRefusal: enqueueActions(body.requeueAfterRefusal),
    refuseAfterLedger: enqueueActions(body.refuseAfterLedger),
    announceActive: enqueueActions(body.announceActive),
    recordUsage: enqueueActions(body.recordSessionUsage),
    countFailureOnCircuit: enqueueActions(body.countFailureOnCircuit),
    lowerAdaptiveLimit: enqueueActions(body.lowerAdaptiveLimit),
    pauseForUsageLimit: enqueueActions(body.pauseForUsageLimit),
    pauseExhausted: enqueueActions(body.pauseExhausted),
    answerTopUp: enqueueActions(body.answerLedgerTopUp),
    applyLedgerLimits: enqueueActions(body.applyLedgerLimits),
    requeueSession: enqueueActions(body.requeueSession),
    admitFallback: enqueueActions(body.admitFallback),
    refuseFallback: enqueueActions(body.refuseFallback),
    refuseFallbackStopping: enqueueActions(body.refuseFallbackStopping),
    settleSession: enqueueActions(body.settleSession),
    settleOnly: enqueueActions(body.settleOnly),
    startNewWindow: enqueueActions(body.startNewWindow),
    resumeProviders: enqueueActions(body.resumeProviders),
    drainQueue: enqueueActions(body.drainQueue),
    expireWaits: enqueueActions(body.expireWaits),
    sweepLeases: enqueueActions(body.sweepLeases),
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input, spawn }) => ({
    ...input,
    queue: [],
    queueSeq: 0,
    admitted: 0,
    topUps: {},
    confirming: {},
    sweptAt: input.now,
    health: {
      claude: initialHealth('claude', input.budgets.claude.maxConcurrent, input.config.adaptive),
      openai: initialHealth('openai', input.budgets.openai.maxConcurrent, input.config.adaptive),
    },
    supervisor: spawn('sessionSupervisor', { id: 'sessions', systemId: 'sessions' }),
  }),
  invoke: [
    { id: 'clock', src: 'clock' },
    { id: 'credentials', src: 'credentials', systemId: 'credentials' },
    { id: 'ledger', src: 'ledger', systemId: 'ledger' },
  ],
  on: {
    'session.activated': { actions: 'announceActive' },
    'session.usageReported': { actions: 'recordUsage' },
    'provider.failed': [
      { guard: 'isServerThrottle', actions: ['countFailureOnCircuit', 'lowerAdaptiveLimit'] },
      { guard: 'isUsageLimit', actions: ['countFailureOnCircuit', 'pauseForUsageLimit'] },
      // Auth, quota, overload, server faults: counted on the circuit when they say something about the provider.
      { actions: 'countFailureOnCircuit' },
    ],
    'provider.exhausted': { actions: 'pauseExhausted' },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'agent.spawn': [
          { guard: 'isHopeless', actions: 'refuseHopeless' },
          { guard: 'canAdmit', actions: 'admit' },
          { guard: 'canQueue', actions: 'enqueueRequest' },
          { actions: 'refuse' },
        ],
        'session.fallbackRequested': [
          { guard: 'isRequeueRequest', actions: 'requeueSession' },
          { guard: 'canAdmitFallback', actions: 'admitFallback' },
          { actions: 'refuseFallback' },
        ],
        'session.ended': { actions: 'settleSession' },
        'clock.tick': { actions: ['startNewWindow', 'resumeProviders', 'drainQueue', 'expireWaits', 'sweepLeases'] },
        'ledger.limits': { actions: 'applyLedgerLimits' },
        'ledger.topUpAnswered': { actions: 'answerTopUp' },
        'ledger.reserveAnswered': [
          // A late or repeated answer is ignored.
          { guard: not('isAwaitedReservation') },
          { guard: 'isReservationGranted', actions: 'startReserved' },
          { guard: 'canReserveElsewhere', actions: 'askLedgerElsewhere' },
          { guard: 'canWaitAfterRefusal', actions: 'requeueAfterRefusal' },
          { actions: 'refuseAfterLedger' },
        ],
        'coordinator.stop': { target: 'stopping', actions: 'refuseAllWaiting' },
      },
    },
    stopping: {
      on: {
        'agent.spawn': { actions: 'refuseStopping' },
        'session.fallbackRequested': { actions: 'refuseFallbackStopping' },
        'session.ended': { actions: 'settleOnly' },
      },
    },
  },
});

export type CoordinatorMachine = typeof coordinatorMachine;
