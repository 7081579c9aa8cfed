import { agentvisorContender } from './agentvisor';
import { bottleneckContender } from './bottleneck';
import { mapGateContender } from './mapGate';
import { naiveContender } from './naiveXState';
import type { Contender } from '../lib/types';

/** Every contender by the name a worker process is asked to open. */
export const CONTENDERS = {
  agentvisor: agentvisorContender,
  mapGate: mapGateContender,
  bottleneck: bottleneckContender,
  naive: naiveContender,
} as const satisfies Record<string, Contender>;

export type ContenderName = keyof typeof CONTENDERS;

export function isContenderName(name: string): name is ContenderName {
  return Object.hasOwn(CONTENDERS, name);
}
