import type { Budgets, RefusalCode } from './budget';
import { withBudget } from './budget';
import type { QueuedRequest } from './coordinator.types';
import type { ProviderId } from './providers';

/**
 * Admission on a shared ledger: the coordinator decides on its local view (the global limits
 * minus what other hosts hold, as of the last sync), reserves locally, and asks the ledger to
 * reserve too; the session starts only when the ledger said yes. A refusal means the local view
 * was stale: the local reservation comes back, the provider is clamped to what the ledger allows
 * until the next sync (so the same stale view does not ask again at once), and the request goes
 * back to its place in the queue with its deadline, or is refused when it may not wait.
 */
export interface Confirming {
  /** The request as it waits: its deadline and queue position (seq) are kept across refusals. */
  readonly request: QueuedRequest;
  readonly provider: ProviderId;
  readonly allocation: number;
}

export type ConfirmingRequests = Readonly<Record<string, Confirming>>;

/** The ledger's refusals the coordinator can learn from (an unreachable ledger teaches nothing). */
export type LedgerRefusalCode = RefusalCode | 'ledger-unavailable';

/**
 * Lowers a provider's local limits to what the ledger's refusal says is left: no slot (concurrency)
 * or no budget (quota) beyond what this host holds. The next `ledger.limits` sync replaces them.
 */
export function clampAfterRefusal(budgets: Budgets, provider: ProviderId, code: RefusalCode): Budgets {
  const b = budgets[provider];
  if (code === 'concurrency-limit')
    return withBudget(budgets, provider, { maxConcurrent: Math.min(b.maxConcurrent, b.active) });
  if (code === 'quota-exhausted')
    return withBudget(budgets, provider, { dailyLimit: Math.min(b.dailyLimit, b.used + b.reserved) });
  return withBudget(budgets, provider, { dailyLimit: 0 });
}

/**
 * On a shared ledger a local limit of 0 means "other hosts hold it all", not "disabled": the
 * refusal is reported as what it is (concurrency or budget), judged on the configured limits.
 */
export function sharedRefusalCode(
  code: RefusalCode,
  budgets: Budgets,
  candidates: readonly ProviderId[],
  globalLimits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>,
): RefusalCode {
  if (code !== 'no-provider') return code;
  let best: RefusalCode = code;
  for (const p of candidates) {
    const configured = globalLimits[p];
    if (configured.dailyLimit === 0 || configured.maxConcurrent === 0) continue;
    if (budgets[p].maxConcurrent === 0) return 'concurrency-limit';
    if (budgets[p].dailyLimit === 0) best = 'quota-exhausted';
  }
  return best;
}

/** Puts a request back where it stood: by priority, then by its original arrival (seq). */
export function requeueAtPlace(queue: readonly QueuedRequest[], request: QueuedRequest): readonly QueuedRequest[] {
  const at = queue.findIndex(
    (q) => q.priority < request.priority || (q.priority === request.priority && q.seq > request.seq),
  );
  return at < 0 ? [...queue, request] : [...queue.slice(0, at), request, ...queue.slice(at)];
}
