import type { Actor } from 'xstate';
import type { Budgets } from '../../machines/budget';
import type { coordinatorMachine } from '../../machines/coordinator.machine';
import type { CoordinatorEmitted, SideEffectParams } from '../../machines/coordinator.types';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import { unreachableLedgerMessage } from './ledgerLinkTypes';
import { pausesFileFor, writePause } from '../quota/pauseRecord';
import type { ProviderPause } from '../quota/pauseRecord';
import type { QuotaLedger } from '../quota/ledger';
import { LedgerLink } from './ledgerLink';
import type { AdmissionOutcome, EffectiveLimits } from './ledgerLink';
import type { ResolvedOptions } from './options';

/** A stint of a session on a provider that ended: the ledger settles its reservation with the usage. */
export type StintSettlement = SideEffectParams['settleStint'];

/** What the ledger lifecycle needs from its orchestrator. */
export interface LedgerHost {
  readonly options: ResolvedOptions;
  /** The coordinator while it runs; null before start and once stopped (answers are then dropped). */
  running(): Actor<typeof coordinatorMachine> | null;
  /** The shared ledger became unreachable (`degraded`) or reachable again (`ok`). */
  stateChanged(state: 'ok' | 'degraded', reason: string | null): void;
}

/**
 * The shared ledger (file, Redis) over an orchestrator's life: opened at start, asked for
 * admissions and top-ups on the coordinator's behalf, told of settled stints, and closed at stop.
 * Pause records are written beside a file ledger. Without a shared ledger (`memory`) every ask is
 * granted at once and nothing is written.
 *
 * @example
 * const ledger = new LedgerLifecycle({ options, running: () => actor, stateChanged: () => undefined });
 * const link = await ledger.open();
 * await ledger.close();
 */
export class LedgerLifecycle {
  readonly #host: LedgerHost;
  #ledger: QuotaLedger | null = null;
  #link: LedgerLink | null = null;
  #limits: EffectiveLimits | null = null;
  /** Pause records being written beside the file ledger; close() waits for them. */
  readonly #pauseWrites = new Set<Promise<void>>();

  constructor(host: LedgerHost) {
    this.#host = host;
  }

  /** The link that keeps the coordinator in step with the shared ledger; null for 'memory' or once closed. */
  get link(): LedgerLink | null {
    return this.#link;
  }

  /** Opens the configured shared ledger and reads it once, so admission starts from its exact figures. */
  async open(): Promise<LedgerLink | null> {
    const o = this.#host.options;
    if (o.ledger.create === null) return null;
    const ledger = await o.ledger.create({ limits: o.budgets, dailyReset: o.dailyReset, now: () => o.clock.now() });
    this.#ledger = ledger;
    const link = new LedgerLink({
      ledger,
      limits: o.budgets,
      leaseMs: o.ledger.leaseMs,
      syncIntervalMs: o.ledger.syncIntervalMs,
      whenUnavailable: o.ledger.whenUnavailable,
      clock: o.clock,
      logger: o.logger,
      onLimits: (limits) => {
        this.#limits = limits;
        this.#host.running()?.send({ type: 'ledger.limits', limits, now: o.clock.now() });
      },
      onState: (state, reason) => this.#host.stateChanged(state, reason),
    });
    this.#link = link;
    try {
      await link.start();
    } catch (error) {
      // A refusal no retry can fix (a symlinked or corrupt ledger file): start() rejects with it.
      await this.close();
      throw error;
    }
    return link;
  }

  /** Waits for the pause records, stops the link (its queued settlements reach the ledger) and closes a ledger this orchestrator owns. */
  async close(): Promise<void> {
    await Promise.all([...this.#pauseWrites]);
    await this.#link?.stop();
    if (this.#ledger && this.#host.options.ledger.owned) await this.#ledger.close().catch(() => undefined);
    this.#link = null;
    this.#ledger = null;
  }

  /** Throws `ledger-unavailable` while the shared ledger cannot be reached and the policy is fail-closed. */
  assertAdmitting(): void {
    const o = this.#host.options;
    if (this.#link?.state !== 'degraded' || o.ledger.whenUnavailable !== 'fail-closed') return;
    const message = unreachableLedgerMessage(o.ledger.kind, this.#link.degradedReason);
    throw new AgentvisorError('ledger-unavailable', message, { retryAfterMs: o.ledger.syncIntervalMs });
  }

  /** The coordinator's budgets: the configured limits, lowered by what other hosts hold on a shared ledger. */
  localBudgets(): Budgets {
    const limits = this.#limits;
    const configured = this.#host.options.budgets;
    if (limits === null) return configured;
    const budgets = { ...configured };
    for (const p of PROVIDER_IDS)
      budgets[p] = { ...budgets[p], dailyLimit: limits[p].dailyLimit, maxConcurrent: limits[p].maxConcurrent };
    return budgets;
  }

  /** A stint ended (fallback, requeue, release): its reservation is settled with its usage. */
  settleStint({ sessionId, stint, provider, usedOnProvider }: StintSettlement): void {
    this.#link?.settleStint(sessionId, stint, provider, usedOnProvider).catch(() => undefined);
  }

  /** With a file ledger, pauses are written beside it so `agentvisor status` / `quota` in another process show them. */
  recordPause(provider: ProviderId, pause: ProviderPause | null): void {
    const o = this.#host.options;
    const file = o.ledger.file;
    if (file === null) return;
    const write = writePause(pausesFileFor(file), provider, pause)
      .catch((error: unknown) => {
        o.logger?.warn(
          { provider, problem: error instanceof Error ? error.message : String(error) },
          'could not record the provider pause beside the ledger',
        );
      })
      .finally(() => this.#pauseWrites.delete(write));
    this.#pauseWrites.add(write);
  }

  /** Asks the shared ledger to reserve a new session and hands the answer to the coordinator. */
  askReserve(ask: Extract<CoordinatorEmitted, { type: 'ledger.reserveAsked' }>): void {
    const link = this.#link!;
    const o = this.#host.options;
    const answered = (outcome: AdmissionOutcome) => {
      const now = o.clock.now();
      const actor = this.#host.running();
      if (actor === null) {
        // Stopped meanwhile: nobody will run this session; its reservation goes back.
        if (outcome.status === 'reserved') link.settleStint(ask.sessionId, 0, ask.provider, 0).catch(() => undefined);
        return;
      }
      if (outcome.status === 'reserved') {
        actor.send({ type: 'ledger.reserveAnswered', requestId: ask.requestId, granted: true, now });
        return;
      }
      if (outcome.retryAfterMs !== null) link.syncAfter(outcome.retryAfterMs);
      actor.send({
        type: 'ledger.reserveAnswered',
        requestId: ask.requestId,
        granted: false,
        code: outcome.code,
        retryAfterMs: outcome.retryAfterMs,
        now,
      });
    };
    link.reserveAdmission(ask.sessionId, ask.provider, ask.tokens).then(answered, (error: unknown) => {
      o.logger?.error(
        { problem: error instanceof Error ? error.message : String(error) },
        'quota ledger reservation failed',
      );
      answered({ status: 'refused', code: 'ledger-unavailable', retryAfterMs: o.ledger.syncIntervalMs });
    });
  }

  /** Asks the shared ledger for a session's top-up and hands the answer to the coordinator. */
  askTopUp(ask: Extract<CoordinatorEmitted, { type: 'quota.topUpAsked' }>): void {
    const link = this.#link;
    const answer = (granted: boolean) => {
      this.#host.running()?.send({
        type: 'ledger.topUpAnswered',
        sessionId: ask.sessionId,
        stint: ask.stint,
        granted,
        now: this.#host.options.clock.now(),
      });
    };
    if (link === null) return answer(true);
    link.topUp(ask).then(answer, () => answer(false));
  }
}
