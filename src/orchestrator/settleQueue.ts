import type { ProviderId } from '../../machines/providers';
import { AgentvisorError, isAgentvisorError } from '../errors';
import type { PendingSettle } from './ledgerLinkTypes';

export interface SettleQueueOptions {
  /** One `settle` on the ledger; null when it cannot be reached, thrown for any other failure. */
  readonly settle: (
    id: string,
    usedTokens: number,
    provider: ProviderId,
  ) => Promise<{ readonly usedTokens: number } | null>;
  /** The ledger took a settlement: it now counts `addedTokens` more of this host's usage on `provider`. */
  readonly onSettled: (provider: ProviderId, addedTokens: number) => void;
  /** Told to the waiters of a settlement the ledger could not take (it is retried every sync interval). */
  readonly retryAfterMs: number;
}

/**
 * The ledger link's settlements on their way to the ledger, taken in order, one flush at a time.
 * Nothing queued is ever dropped: a settlement stays until the ledger has it.
 *
 * @example
 * const queue = new SettleQueue({ settle: (id, used, p) => ledger.settle(id, used, p), onSettled: () => undefined, retryAfterMs: 1_000 });
 * await queue.add('agent-1#0', { provider: 'claude', used: 120, recorded: 0 });
 */
export class SettleQueue {
  readonly #o: SettleQueueOptions;
  /** Settlements the ledger has not taken yet (in flight, or the ledger was unreachable): retried in order. */
  readonly #pending = new Map<string, PendingSettle>();
  #flushing: Promise<void> | null = null;

  constructor(options: SettleQueueOptions) {
    this.#o = options;
  }

  /** Settlements still waiting for the ledger. */
  get size(): number {
    return this.#pending.size;
  }

  /** True while a settlement waits or a flush runs. */
  get busy(): boolean {
    return this.#pending.size > 0 || this.#flushing !== null;
  }

  /** Queues one settlement and starts a flush; resolves once the ledger has it, rejects while it cannot be reached. */
  add(id: string, settle: Omit<PendingSettle, 'waiters'>): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { ...settle, waiters: [{ resolve, reject }] });
    });
    this.#flushInBackground();
    return durable;
  }

  /** Resolves once the settlement `id` is durable in the ledger (at once when none is waiting). */
  whenSettled(id: string): Promise<void> {
    const pending = this.#pending.get(id);
    if (!pending) return Promise.resolve();
    const durable = new Promise<void>((resolve, reject) => pending.waiters.push({ resolve, reject }));
    this.#flushInBackground();
    return durable;
  }

  /** A flush nobody awaits: its failure already reached the settlement's waiters, and must not crash the process. */
  #flushInBackground(): void {
    this.flush().catch(() => undefined);
  }

  /** One flush at a time: a second caller's settlements are picked up by the loop already running, and it waits for that loop. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushLoop().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.size > 0) {
      const [id, pending] = this.#pending.entries().next().value as [string, PendingSettle];
      const settled = await this.#o.settle(id, pending.used, pending.provider).catch((error: unknown) => {
        // Not an outage (a bug or a corrupt file): the waiters hear of it; the settlement stays queued.
        for (const waiter of pending.waiters.splice(0))
          waiter.reject(isAgentvisorError(error) ? error : new AgentvisorError('ledger-unavailable', String(error)));
        throw error;
      });
      if (settled === null) {
        // Unreachable: kept and retried at the next tick; whoever waits is told now.
        const error = new AgentvisorError(
          'ledger-unavailable',
          'the usage was counted here, but the shared quota ledger could not be reached to settle it; ' +
            'it is kept and retried every sync interval (stats().ledger.unsettled counts it)',
          { retryAfterMs: this.#o.retryAfterMs },
        );
        for (const [, waiting] of this.#pending) for (const waiter of waiting.waiters.splice(0)) waiter.reject(error);
        return;
      }
      this.#pending.delete(id);
      this.#o.onSettled(pending.provider, Math.max(0, settled.usedTokens - pending.recorded));
      for (const waiter of pending.waiters) waiter.resolve();
    }
  }
}
