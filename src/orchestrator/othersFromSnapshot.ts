import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type { LedgerSnapshot } from '../quota/ledger';
import { zeroHold } from './ledgerLinkTypes';
import type { EffectiveLimits, Held, LedgerLinkOptions, OthersHold } from './ledgerLinkTypes';

/** What this host knows to be its own in the shared ledger. */
export interface OwnHold {
  /** Our usage settled or recorded into the ledger in the snapshot's window, per provider. */
  readonly used: Readonly<Record<ProviderId, number>>;
  /** Our live reservations the shared ledger holds (not those the insurance admitted). */
  readonly held: Iterable<Held>;
}

/**
 * What other holders hold (the snapshot minus what is ours) and the local limits that leaves.
 *
 * @example
 * const { others, limits } = othersFromSnapshot(snapshot, { used: { claude: 0, openai: 0 }, held: [] }, configured);
 * limits.claude.dailyLimit; // configured.claude.dailyLimit - others.claude.used - others.claude.reserved
 */
export function othersFromSnapshot(
  snapshot: LedgerSnapshot,
  own: OwnHold,
  configured: LedgerLinkOptions['limits'],
): { readonly others: OthersHold; readonly limits: EffectiveLimits } {
  const ours = zeroHold();
  for (const held of own.held) {
    ours[held.provider].reserved += Math.max(0, held.tokens - held.recorded);
    ours[held.provider].active += 1;
  }
  const others = zeroHold();
  for (const p of PROVIDER_IDS) {
    const s = snapshot.providers[p];
    others[p] = {
      used: Math.max(0, s.used - own.used[p]),
      reserved: Math.max(0, s.reserved - ours[p].reserved),
      active: Math.max(0, s.active - ours[p].active),
    };
  }
  return { others, limits: limitsLeftBy(others, configured) };
}

/** The local limits that what others hold leaves: each configured limit minus their usage, reservations and slots. */
export function limitsLeftBy(others: OthersHold, configured: LedgerLinkOptions['limits']): EffectiveLimits {
  const limits = {} as Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  for (const p of PROVIDER_IDS) {
    limits[p] = {
      dailyLimit: Math.max(0, configured[p].dailyLimit - others[p].used - others[p].reserved),
      maxConcurrent: Math.max(0, configured[p].maxConcurrent - others[p].active),
    };
  }
  return limits;
}

/**
 * What others hold once a new daily window starts: their usage stays in the old window (the ledger
 * starts the new one at 0); their reservations and slots carry over.
 */
export function othersAfterReset(others: OthersHold): OthersHold {
  const next = zeroHold();
  for (const p of PROVIDER_IDS) next[p] = { ...others[p], used: 0 };
  return next;
}
