/**
 * The shared-ledger dimension of test/machines/coordinator.ledger.model.test.ts, for both sides:
 * - LedgerModel: what the machine side is answered from, the ledger's rules in a few lines (a
 *   reservation is granted while the provider's live reservations, ours and another holder's, are
 *   under its maxConcurrent; the daily budgets are far above what a path reserves, so concurrency is
 *   the only refusal), plus the local limits a sync gives (the configured ones minus what the other
 *   holder holds, as src/orchestrator/othersFromSnapshot.ts says in words).
 * - watchLedger: a real file ledger that counts its operations in flight, so a step of the real
 *   orchestrator can wait until the ledger has answered everything it was asked.
 */
import type { ProviderId } from '../../machines/providers';
import { PROVIDER_IDS } from '../../machines/providers';
import type { QuotaLedger } from '../../src/quota/ledger';

export type Limits = Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>;

/** What the other holder reserves each time it takes a slot. */
export const OTHER_TOKENS = 100;

/** The ledger's answer to a reservation, as the coordinator and the session are told it. */
export type LedgerAnswer =
  | { readonly granted: true }
  | { readonly granted: false; readonly code: 'concurrency-limit'; readonly retryAfterMs: number };

/** The model's name of one session stint's reservation. */
export function stintId(sessionId: string, stint: number): string {
  return `${sessionId}#${stint}`;
}

export class LedgerModel {
  private readonly ours = new Map<string, ProviderId>();
  private readonly others: Record<ProviderId, number> = { claude: 0, openai: 0 };
  /** Whether the other holder took a slot since the last sync (the coordinator's local view may be stale). */
  private stale = false;
  /** Refusals of a reservation asked on a view that was not stale, by provider. */
  readonly unforeseen: string[] = [];

  constructor(
    private readonly limits: Limits,
    private readonly leaseMs: number,
  ) {}

  /** Live reservations of a provider: ours and the other holder's. */
  active(provider: ProviderId): number {
    return [...this.ours.values()].filter((p) => p === provider).length + this.others[provider];
  }

  held(): Record<ProviderId, number> {
    return { claude: this.active('claude'), openai: this.active('openai') };
  }

  /** Slots the other holder holds on a provider. */
  otherHolds(provider: ProviderId): number {
    return this.others[provider];
  }

  /**
   * Reserves a stint, or refuses it. Since the last sync the coordinator knows exactly what is held
   * (its own sessions, and the other holder's as read), so a refusal with no grab since is one it
   * should have seen coming: it is recorded in `unforeseen`.
   */
  reserve(id: string, provider: ProviderId): LedgerAnswer {
    if (this.active(provider) >= this.limits[provider].maxConcurrent) {
      if (!this.stale) this.unforeseen.push(`${id} on ${provider}`);
      return { granted: false, code: 'concurrency-limit', retryAfterMs: this.leaseMs };
    }
    this.ours.set(id, provider);
    return { granted: true };
  }

  settle(id: string): void {
    this.ours.delete(id);
  }

  grab(provider: ProviderId): void {
    this.stale = true;
    this.others[provider] += 1;
  }

  letGo(provider: ProviderId): void {
    this.others[provider] -= 1;
  }

  /** What the other holder holds, as a sync reads it (the orchestrator's stats add it to this host's figures). */
  othersHold(): Record<ProviderId, { readonly active: number; readonly reserved: number }> {
    return {
      claude: { active: this.others.claude, reserved: this.others.claude * OTHER_TOKENS },
      openai: { active: this.others.openai, reserved: this.others.openai * OTHER_TOKENS },
    };
  }

  /** The local limits a sync gives: the configured ones minus what the other holder holds. */
  synced(): Limits {
    this.stale = false;
    return Object.fromEntries(
      PROVIDER_IDS.map((p) => [
        p,
        {
          dailyLimit: this.limits[p].dailyLimit - this.others[p] * OTHER_TOKENS,
          maxConcurrent: Math.max(0, this.limits[p].maxConcurrent - this.others[p]),
        },
      ]),
    ) as Limits;
  }
}

export interface WatchedLedger extends QuotaLedger {
  /** Resolves once no operation is in flight. */
  idle(): Promise<void>;
  readonly inFlight: number;
}

/** The same ledger, its operations counted while in flight (nothing else changes). */
export function watchLedger(inner: QuotaLedger): WatchedLedger {
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const counted =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      inFlight += 1;
      try {
        return await run(...args);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) {
          const done = waiters;
          waiters = [];
          for (const resolve of done) resolve();
        }
      }
    };
  return {
    reserve: counted((request) => inner.reserve(request)),
    settle: counted((sessionId, used, provider) => inner.settle(sessionId, used, provider)),
    record: counted((request) => inner.record(request)),
    renew: counted((sessionId, leaseMs) => inner.renew(sessionId, leaseMs)),
    sweep: counted(() => inner.sweep()),
    snapshot: counted(() => inner.snapshot()),
    close: () => inner.close(),
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    get inFlight() {
      return inFlight;
    },
  };
}
