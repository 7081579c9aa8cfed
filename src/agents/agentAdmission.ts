import { AgentvisorError } from '../errors';
import { alreadyChecked } from '../schema/checkOptions';
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
 * when it is full (`whenPreferredBusy: 'wait'`), also when a shared ledger refuses it because other
 * processes hold the room (the orchestrator keeps it in the wait queue until its deadline). `auto`
 * takes what the orchestrator's priority and limits give. An abort while waiting in the queue
 * rejects with `stopped` at once; should the admission still come through afterwards, that session
 * is released straight away.
 *
 * @example const agent = await admitTaskAgent(orch, { agent: 'codex', agentId: 't1', task, estimatedTokens: 20_000, waitMs: 60_000 });
 */
export function admitTaskAgent(orch: Orchestrator, request: AdmissionRequest): Promise<ManagedAgent> {
  const pinned: ProviderId | undefined = request.agent === 'auto' ? undefined : AGENT_CLIS[request.agent].provider;
  return admitOnce(orch, request, pinned);
}

function admitOnce(
  orch: Orchestrator,
  request: AdmissionRequest,
  preferredProvider: ProviderId | undefined,
): Promise<ManagedAgent> {
  const { signal } = request;
  if (signal?.aborted === true) return Promise.reject(stoppedError(`task ${request.agentId}`));
  // Built from the task's options, checked already (checkTaskOptions): zod stays off the CLI's run path.
  const spawn = orch.spawnAgent(
    alreadyChecked({
      estimatedTokens: request.estimatedTokens,
      agentId: request.agentId,
      task: request.task,
      waitMs: request.waitMs,
      ...(preferredProvider === undefined ? {} : { preferredProvider, whenPreferredBusy: 'wait' as const }),
    }),
  );
  if (signal === undefined) return spawn;
  return new Promise<ManagedAgent>((resolve, reject) => {
    const onAbort = (): void => {
      spawn.then(
        (late) => late.release().catch(() => undefined),
        () => undefined,
      );
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
