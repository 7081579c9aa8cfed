import type { Budgets } from './budget';
import { allocationFor, withBudget } from './budget';
import type { ProviderId } from './providers';

/**
 * Top-ups on a shared ledger: usage beyond a session's allocation is counted at once, but more
 * allocation is granted only after the ledger reserved it (one atomic `record` with `addTokens`).
 * While the ledger answers, the share this coordinator set aside for the session (`extra`) is held
 * locally, so no local admission can take it, and usage that keeps arriving beyond the allocation
 * eats into it first (`uncovered` is what it could not cover).
 *
 * Invariant: the coordinator's `reserved` for a provider is exactly the unused allocation of its
 * live sessions plus the `extra` of their pending top-ups.
 */
export interface PendingTopUp {
  readonly provider: ProviderId;
  /** The provider stint the top-up was asked for (a later stint's answer is not this one's). */
  readonly stint: number;
  /** Tokens asked of the ledger: the overage so far plus `extra`. */
  readonly asked: number;
  /** The fresh share set aside locally and not yet used. */
  readonly extra: number;
  /** Usage beyond the allocation reported while waiting that `extra` could not cover. */
  readonly uncovered: number;
  readonly estimate: number;
  /** The stint's usage so far, as last reported (a renewed ask tells the ledger). */
  readonly usedOnProvider: number;
}

export type PendingTopUps = Readonly<Record<string, PendingTopUp>>;

export interface SharedUsageOutcome {
  readonly budgets: Budgets;
  readonly topUps: PendingTopUps;
  /** A top-up to ask the ledger for (tokens), or null. */
  readonly ask: number | null;
  /** Usage beyond the allocation that no budget could cover: the session ends (0: it goes on). */
  readonly overrun: number;
}

export interface SharedUsage {
  readonly sessionId: string;
  readonly provider: ProviderId;
  readonly stint: number;
  readonly tokens: number;
  /** The part of `tokens` within the session's allocation. */
  readonly withinTokens: number;
  readonly estimate: number;
  /** The stint's usage so far, `tokens` included. */
  readonly usedOnProvider: number;
}

/**
 * Counts usage of a session on a shared ledger. Within the allocation: reserved moves to used.
 * Beyond it, with no top-up pending: when the local view has room, `extra = min(estimate,
 * floor(free / 2))` is set aside and a top-up of overage + extra is asked of the ledger; with no
 * room, the overage is overrun. With a top-up pending, the overage eats into its `extra`.
 */
export function recordSharedUsage(budgets: Budgets, topUps: PendingTopUps, usage: SharedUsage): SharedUsageOutcome {
  const b = budgets[usage.provider];
  const overage = usage.tokens - usage.withinTokens;
  const counted = withBudget(budgets, usage.provider, {
    used: b.used + usage.tokens,
    reserved: b.reserved - usage.withinTokens,
  });
  if (overage === 0) return { budgets: counted, topUps, ask: null, overrun: 0 };
  const pending = topUps[usage.sessionId];
  if (pending !== undefined) {
    const absorbed = Math.min(overage, pending.extra);
    const after = counted[usage.provider];
    return {
      budgets: withBudget(counted, usage.provider, { reserved: after.reserved - absorbed }),
      topUps: {
        ...topUps,
        [usage.sessionId]: {
          ...pending,
          extra: pending.extra - absorbed,
          uncovered: pending.uncovered + overage - absorbed,
          usedOnProvider: usage.usedOnProvider,
        },
      },
      ask: null,
      overrun: 0,
    };
  }
  return askFor(
    counted,
    topUps,
    usage.sessionId,
    { provider: usage.provider, stint: usage.stint, estimate: usage.estimate, usedOnProvider: usage.usedOnProvider },
    overage,
  );
}

/** Sets aside a fresh share and asks for `overage` + it, or, with no local room, reports the overage as overrun. */
function askFor(
  budgets: Budgets,
  topUps: PendingTopUps,
  sessionId: string,
  on: Pick<PendingTopUp, 'provider' | 'stint' | 'estimate' | 'usedOnProvider'>,
  overage: number,
): SharedUsageOutcome {
  const { provider, estimate } = on;
  const b = budgets[provider];
  const free = b.dailyLimit - b.used - b.reserved;
  if (free < 0) {
    const overrun = Math.min(overage, -free);
    return {
      budgets: withBudget(budgets, provider, { overrun: b.overrun + overrun }),
      topUps,
      ask: null,
      overrun: overage,
    };
  }
  const extra = allocationFor(estimate, free);
  const pending: PendingTopUp = { ...on, asked: overage + extra, extra, uncovered: 0 };
  return {
    budgets: withBudget(budgets, provider, { reserved: b.reserved + extra }),
    topUps: { ...topUps, [sessionId]: pending },
    ask: pending.asked,
    overrun: 0,
  };
}

export interface TopUpAnswerOutcome {
  readonly budgets: Budgets;
  readonly topUps: PendingTopUps;
  /** Tokens to add to the session's allocation now (0: none). */
  readonly grant: number;
  /** A new top-up to ask for (the usage that arrived while waiting went beyond the grant), or null. */
  readonly ask: number | null;
  /** > 0: the session ends for lack of budget; this much of its usage went beyond what was granted. */
  readonly overrun: number;
}

/** Applies the ledger's answer to a pending top-up. Unknown or stale answers change nothing. */
export function answerTopUp(
  budgets: Budgets,
  topUps: PendingTopUps,
  sessionId: string,
  stint: number,
  granted: boolean,
): TopUpAnswerOutcome | null {
  const pending = topUps[sessionId];
  if (pending === undefined || pending.stint !== stint) return null;
  const { [sessionId]: _answered, ...rest } = topUps;
  const { provider } = pending;
  if (!granted) {
    const b = budgets[provider];
    const beyond = pending.asked - pending.extra + pending.uncovered;
    return {
      budgets: withBudget(budgets, provider, { reserved: b.reserved - pending.extra, overrun: b.overrun + beyond }),
      topUps: rest,
      grant: 0,
      ask: null,
      overrun: beyond,
    };
  }
  if (pending.uncovered === 0) return { budgets, topUps: rest, grant: pending.asked, ask: null, overrun: 0 };
  const again = askFor(budgets, rest, sessionId, pending, pending.uncovered);
  return { budgets: again.budgets, topUps: again.topUps, grant: pending.asked, ask: again.ask, overrun: again.overrun };
}

function isEmpty(topUps: PendingTopUps): boolean {
  for (const _ in topUps) return false;
  return true;
}

/** A session left its provider (fell back, was requeued, ended): its pending top-up's share comes back. */
export function dropTopUp(
  budgets: Budgets,
  topUps: PendingTopUps,
  sessionId: string,
): { budgets: Budgets; topUps: PendingTopUps } {
  // With none pending (every session without a shared ledger) the lookup is skipped: a property
  // lookup by a string key never used as one before costs V8 microseconds (docs/benchmarks.md).
  const pending = isEmpty(topUps) ? undefined : topUps[sessionId];
  if (pending === undefined) return { budgets, topUps };
  const { [sessionId]: _dropped, ...rest } = topUps;
  const b = budgets[pending.provider];
  return { budgets: withBudget(budgets, pending.provider, { reserved: b.reserved - pending.extra }), topUps: rest };
}
