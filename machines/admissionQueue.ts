import type { Budgets } from './budget';
import { decideAdmission, reserve } from './budget';
import type { ProviderId } from './providers';
import type { QueuedRequest } from './coordinator.types';

/** What admission reads of a request to know where it may go. */
export interface Placement {
  readonly preferredProvider: ProviderId | null;
  readonly onlyPreferred: boolean;
  /** Providers this request may use at all (provider switches, canary share); absent: every provider. */
  readonly allowedProviders?: readonly ProviderId[];
}

/**
 * Where a spawn request may be admitted: its preferred provider only, or that one and then the
 * chain; providers outside `allowedProviders` are never candidates.
 */
export function admissionCandidates(chain: readonly ProviderId[], request: Placement): readonly ProviderId[] {
  const candidates =
    request.onlyPreferred && request.preferredProvider !== null
      ? [request.preferredProvider]
      : candidatesFor(chain, request.preferredProvider);
  return onlyAllowed(candidates, request.allowedProviders);
}

/** `providers` without those outside `allowed` (all of them when `allowed` is absent). */
export function onlyAllowed(
  providers: readonly ProviderId[],
  allowed: readonly ProviderId[] | undefined,
): readonly ProviderId[] {
  return allowed === undefined ? providers : providers.filter((p) => allowed.includes(p));
}

/** The providers a request may land on: its preferred one first, then the chain in order. */
export function candidatesFor(chain: readonly ProviderId[], preferred: ProviderId | null): readonly ProviderId[] {
  const first = preferred ?? chain[0];
  if (first === undefined) return [];
  return [first, ...chain.filter((p) => p !== first)];
}

/** Keeps the queue ordered: higher priority first, then arrival order. */
export function enqueueOrdered(queue: readonly QueuedRequest[], entry: QueuedRequest): readonly QueuedRequest[] {
  let at = queue.length;
  while (at > 0) {
    const prev = queue[at - 1]!;
    if (prev.priority >= entry.priority) break;
    at -= 1;
  }
  return [...queue.slice(0, at), entry, ...queue.slice(at)];
}

export interface PlannedAdmission {
  readonly request: QueuedRequest;
  readonly provider: ProviderId;
  readonly allocation: number;
}

export interface DrainPlan {
  readonly budgets: Budgets;
  readonly queue: readonly QueuedRequest[];
  readonly admitted: readonly PlannedAdmission[];
}

/**
 * Admits waiting requests in queue order, each through the same admission rule as a new request.
 * A request that does not fit yet stays and later ones may still be admitted (work-conserving).
 */
export function planDrain(
  budgets: Budgets,
  queue: readonly QueuedRequest[],
  chain: readonly ProviderId[],
  caps?: Readonly<Record<ProviderId, number>>,
  now: number = Number.POSITIVE_INFINITY,
): DrainPlan {
  if (queue.length === 0) return { budgets, queue, admitted: [] };
  let next = budgets;
  const waiting: QueuedRequest[] = [];
  const admitted: PlannedAdmission[] = [];
  for (const request of queue) {
    if (request.notBefore !== undefined && request.notBefore > now) {
      waiting.push(request);
      continue;
    }
    const decision = decideAdmission(next, admissionCandidates(chain, request), request.estimatedTokens, caps);
    if (decision.status === 'admit') {
      next = reserve(next, decision.provider, decision.allocation);
      admitted.push({ request, provider: decision.provider, allocation: decision.allocation });
    } else {
      waiting.push(request);
    }
  }
  return admitted.length === 0 ? { budgets, queue, admitted } : { budgets: next, queue: waiting, admitted };
}
