import type { ReservationRequest } from '../../machines/agentSession.types';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError, isAgentvisorError } from '../errors';
import { createInsuredLedger } from '../quota/insuredLedger';
import type { InsuredLedger } from '../quota/insuredLedger';
import type { LedgerSnapshot } from '../quota/ledger';
import { createMemoryLedger } from '../quota/memoryLedger';
import { alreadyChecked } from '../schema/checkOptions';
import type { ClockTimer } from './clock';
import { reservationId, shareOf, unreachableLedgerMessage, zeroHold } from './ledgerLinkTypes';
import type {
  AdmissionOutcome,
  EffectiveLimits,
  Held,
  LedgerLinkOptions,
  OthersHold,
  TopUpAsk,
} from './ledgerLinkTypes';
import { limitsLeftBy, othersAfterReset, othersFromSnapshot } from './othersFromSnapshot';
import { SettleQueue } from './settleQueue';

export { reservationId } from './ledgerLinkTypes';
export type { AdmissionOutcome, EffectiveLimits, LedgerLinkOptions, OthersHold, TopUpAsk } from './ledgerLinkTypes';

/** One later stint to reserve: the session, its new provider, the stint's number and its allocation. */
export type StintRequest = Pick<ReservationRequest, 'sessionId' | 'provider' | 'stint' | 'allocatedTokens'>;

/**
 * Binds an orchestrator to a shared quota ledger (file or Redis). The coordinator keeps deciding
 * synchronously on its own counters; this link
 * - turns every admission into one atomic ledger `reserve` before the agent gets its env (a refusal
 *   denies the session: it falls back or ends, and nothing is handed out);
 * - settles each provider stint with its real usage (`settle`, retried until the ledger takes it:
 *   usage is never dropped), renews the leases of live reservations, and
 * - reads the ledger every `syncIntervalMs` to lower the coordinator's local limits by what other
 *   hosts hold, so the local guards stay close to the global truth and refusals stay rare.
 */
export class LedgerLink {
  readonly #o: LedgerLinkOptions;
  #degradedReason: string | null = null;
  /** Our live reservations: id → provider and tokens. */
  readonly #held = new Map<string, Held>();
  /** Our usage settled into the ledger in its current window, per provider. */
  #ourUsed: Record<ProviderId, number> = { claude: 0, openai: 0 };
  #ourDay: string | null = null;
  /** Settlements the ledger has not taken yet: retried in order until it takes them. */
  readonly #settles: SettleQueue;
  /** The shared ledger behind its insurance (the local share), which decides while the shared one is unreachable. */
  readonly #ledger: InsuredLedger;
  #others: OthersHold = zeroHold();
  #timer: ClockTimer | null = null;
  /** Fires at the daily reset the last sync saw coming (see #armReset). */
  #resetTimer: ClockTimer | null = null;
  readonly #extraTimers = new Set<ClockTimer>();
  /** The local limits of the last sync (restored when an outage ends). */
  #lastLimits: EffectiveLimits | null = null;
  #lastRenew = 0;
  #ticking = false;
  #stopped = false;
  /** Ledger operations started and finished; a snapshot read while one was in flight is not used. */
  #opsStarted = 0;
  #opsDone = 0;

  constructor(options: LedgerLinkOptions) {
    this.#o = options;
    const policy = options.whenUnavailable;
    const insurance =
      policy === 'fail-closed'
        ? null
        : createMemoryLedger(
            alreadyChecked({ limits: shareOf(options.limits, policy.localShareOf), now: () => options.clock.now() }),
          );
    this.#ledger = createInsuredLedger(options.ledger, {
      insurance,
      onState: (state, reason) => (state === 'ok' ? this.#markOk() : this.#markDegraded(reason ?? '')),
    });
    this.#settles = new SettleQueue({
      settle: (id, used, provider) => this.#op(() => this.#ledger.settle(id, used, provider)),
      onSettled: (provider, addedTokens) => {
        this.#ourUsed[provider] += addedTokens;
      },
      retryAfterMs: options.syncIntervalMs,
    });
  }

  get state(): 'ok' | 'degraded' {
    return this.#ledger.state;
  }

  /** Why the ledger could not be reached last (its error's message), while degraded; null when it is reachable. */
  get degradedReason(): string | null {
    return this.#ledger.state === 'degraded' ? this.#degradedReason : null;
  }

  /** What other holders hold, per provider, as of the last sync (0 before the first). */
  get others(): OthersHold {
    return this.#others;
  }

  /**
   * Reads the ledger once (so a restart starts from its exact figures), then syncs and renews on a
   * timer. An unreachable ledger (`ledger-unavailable`) only degrades the link: it may come back.
   * Any other failure of that first read (a symlinked or corrupt ledger file: `insecure-permissions`,
   * `ledger-corrupt`) rejects with the ledger's own error, since no retry can fix it.
   */
  async start(): Promise<void> {
    await this.#sync({ firstRead: true });
    this.#schedule();
  }

  /**
   * Reserves a later stint of a session (after a fallback or a requeue) before the session gets the
   * new provider's env; the ledger actor (ledgerActor.ts) calls it for each `reservation.request`.
   * A stint already held (the first one, reserved by `reserveAdmission`) is not reserved twice. A
   * refusal (or an unreachable ledger under fail-closed) is thrown as the matching AgentvisorError,
   * which the session treats as "no room here".
   *
   * @example
   * await link.reserveStint({ sessionId: 's1', provider: 'openai', stint: 1, allocatedTokens: 20_000 });
   */
  async reserveStint(request: StintRequest): Promise<void> {
    const id = reservationId(request.sessionId, request.stint);
    if (this.#held.has(id)) return;
    const outcome = await this.#reserve(id, request.provider, Math.max(1, request.allocatedTokens));
    if (outcome.status === 'reserved') return;
    const message =
      outcome.code === 'ledger-unavailable'
        ? unreachableLedgerMessage(null, this.degradedReason)
        : `the shared quota ledger has no room for this session on ${request.provider} (${outcome.code}): other hosts hold it`;
    throw new AgentvisorError(outcome.code, message, { retryAfterMs: outcome.retryAfterMs });
  }

  /**
   * Reserves a new session's first stint in the ledger, before the session starts. Refusals are
   * returned: the ledger's (`concurrency-limit`, `quota-exhausted`, `no-provider`, with its
   * `retryAfterMs`), or `ledger-unavailable` when it cannot be reached under fail-closed.
   */
  reserveAdmission(sessionId: string, provider: ProviderId, tokens: number): Promise<AdmissionOutcome> {
    return this.#reserve(reservationId(sessionId, 0), provider, Math.max(1, tokens));
  }

  async #reserve(id: string, provider: ProviderId, tokens: number): Promise<AdmissionOutcome> {
    // Our own settlements first: the slot a session just freed here is free in the ledger before
    // the next admission here asks for it (otherwise the ledger would still count the old one).
    if (this.state === 'ok' && this.#settles.busy) await this.#settles.flush().catch(() => undefined);
    // Unreachable: the insurance (the local share) decides, or nothing is admitted (fail-closed).
    const outcome = await this.#op(() =>
      this.#ledger.reserve({ provider, sessionId: id, tokens, leaseMs: this.#o.leaseMs }),
    );
    if (outcome === null)
      return { status: 'refused', code: 'ledger-unavailable', retryAfterMs: this.#o.syncIntervalMs };
    if (outcome.status === 'refused')
      return { status: 'refused', code: outcome.code, retryAfterMs: outcome.retryAfterMs };
    this.#held.set(id, { provider, tokens, recorded: 0, reported: 0 });
    return { status: 'reserved' };
  }

  /** Reads the ledger again after `ms` (a refusal said when room may come back), unless a sync comes first. */
  syncAfter(ms: number): void {
    if (this.#stopped || ms >= this.#o.syncIntervalMs) return;
    const timer = this.#o.clock.setTimeout(
      () => {
        this.#extraTimers.delete(timer);
        if (!this.#stopped && !this.#ticking) void this.#sync();
      },
      Math.max(0, ms),
    );
    this.#extraTimers.add(timer);
  }

  /**
   * Ends one provider stint in the ledger with its real usage. Resolves once the ledger has the
   * settlement (file: fsynced; Redis: acknowledged); rejects with `ledger-unavailable` when the ledger
   * cannot be reached, while the settlement stays queued and is retried every tick. Safe to call
   * for a stint that never reserved.
   */
  settleStint(sessionId: string, stint: number, provider: ProviderId, usedTokens: number): Promise<void> {
    const id = reservationId(sessionId, stint);
    const held = this.#held.get(id);
    // A stint with no reservation and no usage has nothing to settle (a refused admission).
    if (!held && usedTokens === 0) return Promise.resolve();
    this.#held.delete(id);
    return this.#settles.add(id, { provider, used: usedTokens, recorded: held?.recorded ?? 0 });
  }

  /**
   * Resolves once the stint's settlement is durable in the ledger (at once when none is waiting);
   * rejects with `ledger-unavailable` when the ledger cannot be reached to take it.
   */
  whenSettled(sessionId: string, stint: number): Promise<void> {
    return this.#settles.whenSettled(reservationId(sessionId, stint));
  }

  /** The stint's usage so far, written through to the ledger at the next tick (within one `syncIntervalMs`). */
  noteUsage(sessionId: string, stint: number, usedOnProvider: number): void {
    const held = this.#held.get(reservationId(sessionId, stint));
    if (held && usedOnProvider > held.reported) held.reported = usedOnProvider;
  }

  /**
   * Asks the ledger for more tokens on a stint's reservation (one atomic `record` that also counts
   * the usage so far). True when granted. Unreachable ledger: a stint the insurance admitted asks
   * the insurance (the local share); any other stint is granted under `localShareOf` (it is then
   * this host's local share, as an admission would be) and refused under fail-closed.
   */
  async topUp(ask: TopUpAsk): Promise<boolean> {
    const id = reservationId(ask.sessionId, ask.stint);
    const held = this.#held.get(id);
    // Its lease ran out: no reservation to grow.
    if (!held) return false;
    const outcome = await this.#op(() =>
      this.#ledger.record({
        sessionId: id,
        usedTokens: ask.usedOnProvider,
        addTokens: ask.tokens,
        provider: ask.provider,
      }),
    ).catch(() => null);
    if (outcome === null) return this.state === 'degraded' && this.#o.whenUnavailable !== 'fail-closed';
    if (!this.#ledger.isInsured(id)) this.#counted(held, outcome.usedTokens);
    if (outcome.status === 'recorded' && outcome.live) {
      held.tokens = outcome.tokens;
      return true;
    }
    this.#o.logger?.info(
      { reservation: id, code: outcome.status === 'refused' ? outcome.code : 'lease-expired', asked: ask.tokens },
      'the shared quota ledger refused a top-up',
    );
    return false;
  }

  /** The ledger now counts `usedTokens` for a held stint. */
  #counted(held: Held, usedTokens: number): void {
    if (usedTokens <= held.recorded) return;
    this.#ourUsed[held.provider] += usedTokens - held.recorded;
    held.recorded = usedTokens;
    if (held.reported < usedTokens) held.reported = usedTokens;
  }

  /** Writes through the usage reported since the last tick, one `record` per stint, issued together (one group commit on a file). */
  async #writeUsage(): Promise<void> {
    // What the insurance admitted reaches the shared ledger with its settlement, not before.
    const dirty = [...this.#held].filter(([id, held]) => held.reported > held.recorded && !this.#ledger.isInsured(id));
    await Promise.all(
      dirty.map(async ([id, held]) => {
        const used = held.reported;
        const outcome = await this.#op(() =>
          this.#ledger.record({ sessionId: id, usedTokens: used, provider: held.provider }),
        ).catch(() => null);
        if (outcome !== null && this.#held.get(id) === held) this.#counted(held, outcome.usedTokens);
      }),
    );
  }

  /**
   * Runs one ledger operation; an unreachable ledger gives null (the insured ledger has told the
   * link it is degraded). Any other failure is logged and thrown (`reported: false`: only thrown,
   * the caller reports it).
   */
  async #op<T>(run: () => Promise<T>, { reported = true } = {}): Promise<T | null> {
    this.#opsStarted += 1;
    try {
      return await run();
    } catch (error) {
      if (isAgentvisorError(error, 'ledger-unavailable')) return null;
      // Anything else (invalid-request for a stale id, a corrupt file) is reported, not swallowed.
      if (reported)
        this.#o.logger?.error(
          {
            code: isAgentvisorError(error) ? error.code : 'error',
            problem: error instanceof Error ? error.message : String(error),
          },
          'quota ledger operation failed',
        );
      throw error;
    } finally {
      this.#opsDone += 1;
    }
  }

  #markDegraded(reason: string): void {
    this.#degradedReason = reason;
    this.#o.logger?.warn({ reason }, 'quota ledger unavailable');
    this.#o.onState('degraded', reason);
    this.#o.onLimits(this.#degradedLimits());
  }

  #markOk(): void {
    this.#o.logger?.info('quota ledger reachable again');
    this.#o.onState('ok', null);
    // Admission may go on at once on the last view the ledger gave (every admission is confirmed by
    // the ledger anyway); the next sync brings it up to date.
    if (this.#lastLimits !== null) this.#o.onLimits(this.#lastLimits);
  }

  #degradedLimits(): EffectiveLimits {
    const { limits, whenUnavailable: policy } = this.#o;
    return shareOf(limits, policy === 'fail-closed' ? null : policy.localShareOf);
  }

  /** Learns what others hold: the snapshot minus what this link knows to be ours. */
  async #sync({ firstRead = false } = {}): Promise<void> {
    const before = this.#opsStarted;
    const inFlight = this.#opsStarted - this.#opsDone;
    // Later reads are logged by #op and retried every tick; the first one's refusal is start()'s to throw.
    const read = this.#op(() => this.#ledger.snapshot(), { reported: !firstRead });
    const snapshot: LedgerSnapshot | null = firstRead ? await read : await read.catch(() => null);
    if (snapshot === null) return;
    // One of our own operations ran during the read: the figures may or may not include it.
    if (inFlight > 0 || this.#opsStarted - before > 1) return;
    if (this.#ourDay !== snapshot.day) {
      this.#ourDay = snapshot.day;
      this.#ourUsed = { claude: 0, openai: 0 };
    }
    // The shared ledger never held what the insurance admitted.
    const held = [...this.#held].filter(([id]) => !this.#ledger.isInsured(id)).map(([, h]) => h);
    const { others, limits } = othersFromSnapshot(snapshot, { used: this.#ourUsed, held }, this.#o.limits);
    this.#others = others;
    this.#lastLimits = limits;
    this.#o.onLimits(limits);
    this.#armReset(snapshot.nextResetAt);
  }

  /**
   * At the daily reset, others' usage of the day before stops counting at once (the ledger starts
   * the new window at 0), instead of lowering the local limits until the next sync reads the ledger.
   */
  #armReset(nextResetAt: number): void {
    if (this.#resetTimer !== null) this.#o.clock.clearTimeout(this.#resetTimer);
    this.#resetTimer = this.#o.clock.setTimeout(
      () => {
        this.#resetTimer = null;
        if (this.#stopped || this.state !== 'ok') return;
        this.#others = othersAfterReset(this.#others);
        this.#lastLimits = limitsLeftBy(this.#others, this.#o.limits);
        this.#o.onLimits(this.#lastLimits);
        if (!this.#ticking) void this.#sync();
      },
      Math.max(0, nextResetAt - this.#o.clock.now()),
    );
  }

  async #renew(): Promise<void> {
    for (const [id] of [...this.#held]) {
      const alive = await this.#op(() => this.#ledger.renew(id, this.#o.leaseMs));
      if (alive === null) return;
      // The lease ran out (this host stalled longer than leaseMs): the slot went back; the session keeps running and settles its usage anyway.
      if (alive === false) this.#held.delete(id);
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      void this.#tick();
    }, this.#o.syncIntervalMs);
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      await this.#settles.flush().catch(() => undefined);
      await this.#writeUsage();
      const now = this.#o.clock.now();
      if (now - this.#lastRenew >= this.#o.leaseMs / 3) {
        this.#lastRenew = now;
        await this.#renew().catch(() => undefined);
      }
      await this.#sync();
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  /** Settles what is left (best effort, a few tries) and stops the timers; the ledger is closed by its owner. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of [this.#timer, this.#resetTimer, ...this.#extraTimers])
      if (timer !== null) this.#o.clock.clearTimeout(timer);
    this.#timer = this.#resetTimer = null;
    this.#extraTimers.clear();
    for (let attempt = 0; attempt < 3 && this.#settles.busy; attempt += 1)
      await this.#settles.flush().catch(() => undefined);
    await this.#ledger.close();
    if (this.#settles.size > 0) {
      this.#o.logger?.error(
        { unsettled: this.#settles.size },
        'quota ledger unreachable at stop: some usage could not be settled; the reservations expire after their lease',
      );
    }
  }

  /** Settlements still waiting for the ledger. */
  get unsettled(): number {
    return this.#settles.size;
  }
}
