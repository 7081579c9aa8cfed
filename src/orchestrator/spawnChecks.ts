import { AgentvisorError } from '../errors';
import { MAX_TASK_KINDS } from './learnedEstimates';
import type { TaskKindEstimates } from './learnedEstimates';
import type { CheckedSpawn } from './validation';

/**
 * The estimate a spawn reserves for: its own, or the learned one of its task kind. A new kind past
 * MAX_TASK_KINDS is refused (`invalid-option`): kinds are coarse classes of work, not one per task.
 *
 * @example spawnEstimate(checkSpawn({ taskKind: 'lint' }), estimates) // the learned p90 for lint
 */
export function spawnEstimate(checked: CheckedSpawn, estimates: TaskKindEstimates): number {
  const { taskKind } = checked;
  if (taskKind !== null && estimates.size >= MAX_TASK_KINDS && !estimates.has(taskKind)) {
    throw new AgentvisorError(
      'invalid-option',
      `taskKind ${JSON.stringify(taskKind)} would be kind number ${MAX_TASK_KINDS + 1}: ` +
        'use a few coarse kinds of work (lint, fix-test, refactor), not one per task',
    );
  }
  return checked.estimatedTokens ?? estimates.estimateFor(taskKind!);
}

/**
 * `duplicate-agent`: an agent with this id is live or waiting.
 *
 * @example throw duplicateAgent('a1')
 */
export function duplicateAgent(agentId: string): AgentvisorError {
  return new AgentvisorError(
    'duplicate-agent',
    `agent ${agentId} is already live; release it first or use another agentId`,
    {
      details: { agentId },
    },
  );
}

/**
 * `unknown-agent`: no live agent has this id.
 *
 * @example throw unknownAgent('a1')
 */
export function unknownAgent(agentId: string): AgentvisorError {
  const shown = JSON.stringify(String(agentId).slice(0, 128));
  return new AgentvisorError(
    'unknown-agent',
    `no live agent has id ${shown}; it was never spawned here or was released`,
    {
      details: { agentId },
    },
  );
}
