import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ManagedAgent, Orchestrator } from '../orchestrator';
import type { ProviderId } from '../providers';
import { AGENT_CLIS } from './agentCli';
import type { AgentChoice } from './agentCli';

export interface AdmissionRequest {
  readonly agent: AgentChoice;
  readonly agentId: string;
  readonly task: string;
  readonly estimatedTokens: number;
  readonly waitMs: number;
  readonly signal?: AbortSignal;
}

/**
 * The error a task gets when it is stopped (Ctrl-C, an abort signal) before it finished.
 *
 * @example stoppedError('task t1').code // 'stopped'
 */
export function stoppedError(what: string): AgentvisorError {
  return new AgentvisorError('stopped', `${what} was stopped before it finished; its reservation was released`);
}

/**
 * Spawns the session for a task. A named CLI asks for its provider and waits for that provider
 * when it is full (`whenPreferredBusy: 'wait'`); should the session still land on another provider
 * (a shared ledger refused the reservation while it authenticated), it is released unused and
 * asked for again, up to 3 times. `auto` takes what the orchestrator's priority and limits give.
 * An abort while waiting in the queue rejects with `stopped` at once; should the admission still
 * come through afterwards, that session is released straight away.
 *
 * @example const agent = await admitTaskAgent(orch, { agent: 'codex', agentId: 't1', task, estimatedTokens: 20_000, waitMs: 60_000 });
 */
export async function admitTaskAgent(orch: Orchestrator, request: AdmissionRequest): Promise<ManagedAgent> {
  const pinned: ProviderId | undefined = request.agent === 'auto' ? undefined : AGENT_CLIS[request.agent].provider;
  for (let attempt = 1; ; attempt += 1) {
    // Admitted on another provider although this one was asked for with 'wait': the orchestrator
    // moved the session down the chain while authenticating it, because the shared ledger refused the
    // reservation (the slot a session had just freed was not settled there yet). The session did
    // nothing: give it back (or, when it failed to authenticate over there, forget it) and ask again.
    let agent: ManagedAgent;
    try {
      agent = await admitOnce(orch, request, pinned);
    } catch (error) {
      const movedAndRefused = pinned !== undefined && isAgentvisorError(error, 'auth-failed') && error.details.provider !== undefined && error.details.provider !== pinned;
      if (movedAndRefused && attempt < MAX_PIN_ATTEMPTS) continue;
      throw error;
    }
    if (pinned === undefined || agent.provider === pinned || attempt >= MAX_PIN_ATTEMPTS) return agent;
    await agent.release().catch(() => undefined);
  }
}

/** Admissions tried for a named CLI before taking the provider the orchestrator gave. */
const MAX_PIN_ATTEMPTS = 3;

function admitOnce(orch: Orchestrator, request: AdmissionRequest, preferredProvider: ProviderId | undefined): Promise<ManagedAgent> {
  const { signal } = request;
  if (signal?.aborted === true) return Promise.reject(stoppedError(`task ${request.agentId}`));
  const spawn = orch.spawnAgent({
    estimatedTokens: request.estimatedTokens,
    agentId: request.agentId,
    task: request.task,
    waitMs: request.waitMs,
    ...(preferredProvider === undefined ? {} : { preferredProvider, whenPreferredBusy: 'wait' as const }),
  });
  if (signal === undefined) return spawn;
  return new Promise<ManagedAgent>((resolve, reject) => {
    const onAbort = (): void => {
      spawn.then((late) => late.release().catch(() => undefined), () => undefined);
      reject(stoppedError(`task ${request.agentId}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    spawn.then(
      (agent) => {
        signal.removeEventListener('abort', onAbort);
        resolve(agent);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
