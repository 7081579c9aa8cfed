/**
 * Which transitions of the two machines each model-based test does NOT take, and why; ids as
 * test/helpers/transitionCoverage.ts names them. Each model test checks that what it leaves untaken
 * is exactly its list here, and test/machines/modelReach.test.ts checks that every transition is
 * taken by at least one of them, but the ones no host can cause through the orchestrator
 * (NOT_THROUGH_THE_ORCHESTRATOR, each with the evidence).
 */
type Reasons = Readonly<Record<string, string>>;

const SESSION_MODEL = 'test/machines/agentSession.model.test.ts takes it';
const LEDGER_MODEL = 'test/machines/coordinator.ledger.model.test.ts takes it';
const GRAPH_MODEL = 'test/machines/coordinator.graph.model.test.ts takes it';
const NO_LEDGER = `the ledger is not shared here (${LEDGER_MODEL})`;

/**
 * Transitions no model test can take, because no host can cause them through the orchestrator.
 *
 * @example expect(unreachedByEveryModel).toEqual(Object.keys(NOT_THROUGH_THE_ORCHESTRATOR.coordinator))
 */
export const NOT_THROUGH_THE_ORCHESTRATOR: { readonly coordinator: Reasons; readonly session: Reasons } = {
  coordinator: {
    'coordinator.running ledger.reserveAnswered#0':
      'a guard against a late or repeated answer: LedgerLifecycle.askReserve answers each ledger.reserveAsked once ' +
      '(and drops the answer once stopped), and only that answer takes the request out of `confirming`; ' +
      'askLedgerElsewhere asks again and is answered once again',
    'coordinator.stopping agent.spawn#0':
      'Orchestrator.stop sends coordinator.stop, stops every agent and stops the actor in one synchronous block, ' +
      'and spawnAgent refuses a stopped orchestrator (`stopped`) before the machine',
    'coordinator.stopping session.fallbackRequested#0':
      'Orchestrator.stop releases every live agent between coordinator.stop and stopping the actor, with no await ' +
      'in between: no session can ask to fall back while the coordinator is stopping',
  },
  session: {},
};

/**
 * What each model test leaves untaken, by machine.
 *
 * @example expect(missing).toEqual(ids.filter((id) => id in MODEL_REACH.ledger.coordinator))
 */
export const MODEL_REACH = {
  /** test/machines/agentSession.model.test.ts: every scenario together (the coordinator is not inspected there). */
  sessionModel: {
    session: {
      'agentSession.authenticating credentials.granted#0': NO_LEDGER,
      'agentSession.reserving reservation.granted#0': NO_LEDGER,
      'agentSession.reserving reservation.refused#0': NO_LEDGER,
      'agentSession.reserving reservation.refused#1': NO_LEDGER,
    },
  },
  /** test/machines/coordinator.graph.model.test.ts. */
  graph: {
    coordinator: {
      'coordinator provider.failed#1': `no usage-limit failure here: the pause step pauses claude through reported headers (${LEDGER_MODEL})`,
      'coordinator.running session.fallbackRequested#0': `no throttle step here, so no session asks to be requeued (${LEDGER_MODEL})`,
      'coordinator.running ledger.limits#0': NO_LEDGER,
      'coordinator.running ledger.topUpAnswered#0': NO_LEDGER,
      'coordinator.running ledger.reserveAnswered#0':
        NOT_THROUGH_THE_ORCHESTRATOR.coordinator['coordinator.running ledger.reserveAnswered#0']!,
      'coordinator.running ledger.reserveAnswered#1': NO_LEDGER,
      'coordinator.running ledger.reserveAnswered#2': NO_LEDGER,
      'coordinator.running ledger.reserveAnswered#3': NO_LEDGER,
      'coordinator.running ledger.reserveAnswered#4': NO_LEDGER,
      ...NOT_THROUGH_THE_ORCHESTRATOR.coordinator,
    },
    session: {
      'agentSession session.heartbeat#0': `no heartbeat step here (${SESSION_MODEL})`,
      'agentSession session.toppedUp#0': `usage stays within the allocation here (${SESSION_MODEL}, and ${LEDGER_MODEL} on a shared ledger)`,
      'agentSession session.topUpRefused#0': `usage stays within the allocation here (${SESSION_MODEL})`,
      'agentSession session.sweep#0': `leases outlast the paths (${SESSION_MODEL})`,
      'agentSession.authenticating credentials.denied#0': `keys are in the env: authentication never fails here (${SESSION_MODEL})`,
      'agentSession.authenticating credentials.denied#1': `keys are in the env: authentication never fails here (${SESSION_MODEL})`,
      'agentSession.authenticating credentials.granted#0': NO_LEDGER,
      'agentSession.reserving reservation.granted#0': NO_LEDGER,
      'agentSession.reserving reservation.refused#0': NO_LEDGER,
      'agentSession.reserving reservation.refused#1': NO_LEDGER,
      'agentSession.active session.failure#0': `no throttle step here (${LEDGER_MODEL})`,
      'agentSession.active session.failure#1': `failures are reported on first providers only, where the default policy falls back (${LEDGER_MODEL} retries)`,
      'agentSession.active session.failure#3': `no 400 step here (${SESSION_MODEL})`,
      'agentSession.active session.failure#4': `failures are reported on first providers only, which always have a fallback left (${LEDGER_MODEL})`,
    },
  },
  /** test/machines/coordinator.ledger.model.test.ts. */
  ledger: {
    coordinator: {
      'coordinator provider.exhausted#0': `no reported-headers pause step here (${GRAPH_MODEL})`,
      'coordinator.running agent.spawn#0': `no hopeless spawn here (${GRAPH_MODEL})`,
      ...NOT_THROUGH_THE_ORCHESTRATOR.coordinator,
    },
    session: {
      'agentSession session.heartbeat#0': `no heartbeat step here (${SESSION_MODEL})`,
      'agentSession session.topUpRefused#0': `the ledger grants every top-up here (${SESSION_MODEL} refuses them)`,
      'agentSession session.sweep#0': `leases outlast the paths (${SESSION_MODEL})`,
      'agentSession.authenticating credentials.denied#0': `keys are in the env: authentication never fails here (${SESSION_MODEL})`,
      'agentSession.authenticating credentials.denied#1': `keys are in the env: authentication never fails here (${SESSION_MODEL})`,
      'agentSession.active session.failure#3': `no 400 step here (${SESSION_MODEL})`,
    },
  },
} as const satisfies Record<string, { readonly coordinator?: Reasons; readonly session: Reasons }>;
