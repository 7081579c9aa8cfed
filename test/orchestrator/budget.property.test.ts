/**
 * Budget invariants of the real orchestrator under random interleavings of spawn (many in flight
 * at once), usage within and beyond the allocation, failure and fallback, release, clock advances
 * past lease expiry, and daily resets. The test keeps its own books (usage since the last reset,
 * overruns announced, each session's usage on its provider) and checks the orchestrator against
 * them after every step.
 */
import fc from 'fast-check';
import { createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, ProviderId } from '../../src';
import { BOTH_KEYS_ENV, flushMicrotasks } from '../helpers/orchestratorFixtures';
import { HOUR, JUST_BEFORE_RESET, MINUTE, T0 } from '../helpers/timeOrigin';

const PROVIDERS: readonly ProviderId[] = ['claude', 'openai'];

interface Config {
  readonly limits: Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  readonly fallbackChain: readonly ProviderId[];
  readonly maxQueue: number;
  readonly leaseMs: number;
  readonly sweepIntervalMs: number;
  readonly startAt: number;
}

type Op =
  | {
      readonly kind: 'spawn';
      readonly estimate: number;
      readonly provider: ProviderId | null;
      readonly waitMs: number;
      readonly priority: number;
    }
  | {
      readonly kind: 'usage';
      readonly pick: number;
      readonly dead: boolean;
      readonly mode: 'within' | 'beyond' | 'zero';
      readonly amount: number;
    }
  | { readonly kind: 'failure'; readonly pick: number; readonly dead: boolean; readonly status: number }
  | { readonly kind: 'release'; readonly pick: number; readonly dead: boolean }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'flush' };

const WAITS = [0, 0, 1_000, 20 * MINUTE, 3 * HOUR, 3 * HOUR] as const;
const MAX_WAIT = Math.max(...WAITS);

const limitArb = fc.record({
  dailyLimit: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 20_000 }), weight: 9 },
    { arbitrary: fc.constant(0), weight: 1 },
  ),
  maxConcurrent: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 9 },
    { arbitrary: fc.constant(0), weight: 1 },
  ),
});

const configArb: fc.Arbitrary<Config> = fc.record({
  limits: fc.record({ claude: limitArb, openai: limitArb }),
  fallbackChain: fc.constantFrom<readonly ProviderId[]>(
    ['claude', 'openai'],
    ['openai', 'claude'],
    ['claude'],
    ['openai'],
  ),
  maxQueue: fc.integer({ min: 0, max: 4 }),
  leaseMs: fc.constantFrom(30 * MINUTE, 2 * HOUR),
  sweepIntervalMs: fc.constantFrom(20 * MINUTE, HOUR),
  startAt: fc.constantFrom(T0, JUST_BEFORE_RESET),
});

/** Mostly act on live agents (from orch.agents(), so also those whose spawn promise has not resolved yet). */
const deadArb = fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

function opArb(allowBeyond: boolean): fc.Arbitrary<Op> {
  const modes: ReadonlyArray<'within' | 'beyond' | 'zero'> = allowBeyond
    ? ['within', 'within', 'beyond', 'zero']
    : ['within', 'within', 'zero'];
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('spawn' as const),
        estimate: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 2_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 25_000 }) },
        ),
        provider: fc.constantFrom<ProviderId | null>(null, 'claude', 'openai'),
        waitMs: fc.constantFrom(...WAITS),
        priority: fc.integer({ min: 0, max: 3 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('usage' as const),
        pick: fc.nat(),
        dead: deadArb,
        mode: fc.constantFrom(...modes),
        amount: fc.nat({ max: 6_000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('failure' as const),
        pick: fc.nat(),
        dead: deadArb,
        status: fc.constantFrom(429, 500, 503, 529, 401, 0, 400),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), dead: deadArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.constantFrom(1_000, 10 * MINUTE, 45 * MINUTE, 2 * HOUR + 1, 3 * HOUR),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  );
}

const SPAWN_REFUSALS = new Set(['concurrency-limit', 'quota-exhausted', 'queue-full', 'no-provider']);

/** The test's own books, kept from the public API and events only. */
class Model {
  readonly usedSinceReset: Record<ProviderId, number> = { claude: 0, openai: 0 };
  readonly overrunSinceReset: Record<ProviderId, number> = { claude: 0, openai: 0 };
  /** Usage of each session on its current provider (reset when it falls back). */
  readonly usedOnProvider = new Map<string, number>();
  /** Usage of each session across providers. */
  readonly usedBySession = new Map<string, number>();
  /** When each session last renewed its lease (admission or usage). */
  readonly lastActivity = new Map<string, number>();
  readonly spawnedAt = new Map<string, { at: number; waitMs: number; estimate: number; provider: ProviderId | null }>();
  readonly queued = new Set<string>();
  readonly handles: ManagedAgent[] = [];
  readonly hostReleased = new Set<ManagedAgent>();
  readonly problems: string[] = [];
  overrunEvents = 0;
  overrunTokens = 0;
  pendingSpawns = 0;
  spawnSeq = 0;

  constructor(
    readonly orch: Orchestrator,
    readonly clock: ManualClock,
    readonly config: Config,
  ) {
    orch.on('quota.overrun', (e) => {
      this.overrunEvents += 1;
      this.overrunTokens += e.overrunTokens;
      this.overrunSinceReset[e.provider] += e.overrunTokens;
    });
    orch.on('quota.reset', () => {
      for (const p of PROVIDERS) {
        this.usedSinceReset[p] = 0;
        this.overrunSinceReset[p] = 0;
      }
    });
    orch.on('agent.queued', (e) => {
      this.queued.add(e.agentId);
    });
    orch.on('agent.active', (e) => {
      this.queued.delete(e.agentId);
      if (!this.lastActivity.has(e.sessionId)) this.lastActivity.set(e.sessionId, clock.now());
    });
    orch.on('agent.fallback', (e) => {
      if (e.to === null) return;
      // The allocation on the new provider starts empty and gets a lease of its own.
      this.usedOnProvider.set(e.sessionId, 0);
      this.lastActivity.set(e.sessionId, clock.now());
    });
    orch.on('agent.refused', (e) => {
      this.queued.delete(e.agentId);
      const spawned = this.spawnedAt.get(e.agentId);
      // No wait can help a request above every candidate's daily limit (or on disabled ones only): refused at once, retryAfterMs null.
      const hopeless = spawned !== undefined && this.isHopeless(spawned.estimate, spawned.provider);
      if ((e.hopeless === true) !== hopeless)
        this.fail(`refusal of ${e.agentId} says hopeless ${String(e.hopeless)}, the model says ${String(hopeless)}`);
      if (hopeless) {
        if (e.retryAfterMs !== null || e.waited)
          this.fail(
            `hopeless refusal of ${e.agentId} has retryAfterMs ${e.retryAfterMs} and waited ${String(e.waited)}`,
          );
      } else if (e.code === 'quota-exhausted' && e.retryAfterMs !== orch.stats().nextResetAt - clock.now()) {
        this.fail(
          `quota-exhausted refusal of ${e.agentId} has retryAfterMs ${e.retryAfterMs}, not the time to the next reset`,
        );
      }
      if ((e.code === 'concurrency-limit' || e.code === 'queue-full') && e.retryAfterMs !== 1_000) {
        this.fail(`${e.code} refusal of ${e.agentId} has retryAfterMs ${e.retryAfterMs}`);
      }
      if (e.waited && spawned && clock.now() !== spawned.at + spawned.waitMs) {
        this.fail(`${e.agentId} waited ${clock.now() - spawned.at} ms, asked for ${spawned.waitMs}`);
      }
    });
    orch.on('agent.released', (e) => {
      if (e.reason !== 'expired') return;
      const last = this.lastActivity.get(e.sessionId);
      if (last !== undefined && clock.now() - last < config.leaseMs) {
        this.fail(`${e.agentId} expired after ${clock.now() - last} ms idle; the lease is ${config.leaseMs} ms`);
      }
    });
  }

  isHopeless(estimate: number, provider: ProviderId | null): boolean {
    const chain = this.config.fallbackChain;
    const candidates = provider === null ? chain : [provider, ...chain.filter((p) => p !== provider)];
    const { limits } = this.config;
    return (
      candidates.length > 0 &&
      candidates.every(
        (p) => limits[p].dailyLimit === 0 || limits[p].maxConcurrent === 0 || estimate > limits[p].dailyLimit,
      )
    );
  }

  spawn(op: Extract<Op, { kind: 'spawn' }>): void {
    const agentId = `a${(this.spawnSeq += 1)}`;
    this.spawnedAt.set(agentId, {
      at: this.clock.now(),
      waitMs: op.waitMs,
      estimate: op.estimate,
      provider: op.provider,
    });
    this.pendingSpawns += 1;
    const promise = this.orch.spawnAgent({
      estimatedTokens: op.estimate,
      agentId,
      waitMs: op.waitMs,
      priority: op.priority,
      ...(op.provider === null ? {} : { preferredProvider: op.provider }),
    });
    promise.then(
      (agent) => {
        this.pendingSpawns -= 1;
        this.handles.push(agent);
      },
      (error: unknown) => {
        this.pendingSpawns -= 1;
        if (!isAgentvisorError(error) || !SPAWN_REFUSALS.has(error.code))
          this.fail(`spawn ${agentId} failed with ${String(error)}`);
      },
    );
  }

  /** A live agent, or one the system or the host already ended. */
  pick(index: number, dead: boolean): ManagedAgent | null {
    const pool = dead ? this.handles.filter((a) => !a.isLive) : this.orch.agents();
    if (pool.length === 0) return null;
    return pool[index % pool.length]!;
  }

  /**
   * Records a violation. Checks collect violations and assert once per step: a Jest expect() per
   * comparison would dominate the run time (each builds an error with a stack).
   */
  fail(message: string): void {
    this.problems.push(`${message} (at ${new Date(this.clock.now()).toISOString()})`);
  }

  same(label: string, actual: unknown, expected: unknown): void {
    if (actual !== expected) this.fail(`${label}: got ${String(actual)}, expected ${String(expected)}`);
  }

  usage(op: Extract<Op, { kind: 'usage' }>): void {
    const agent = this.pick(op.pick, op.dead);
    if (!agent) return;
    if (!agent.isLive) {
      const before = JSON.stringify(this.orch.stats().providers);
      this.same(
        `usage after release of ${agent.id}`,
        codeOf(() => agent.reportUsage({ inputTokens: 1, outputTokens: 0 })),
        'agent-released',
      );
      this.same(`stats after refused usage of ${agent.id}`, JSON.stringify(this.orch.stats().providers), before);
      return;
    }
    const p = agent.provider;
    const s = this.orch.stats().providers[p];
    const onProvider = this.usedOnProvider.get(agent.sessionId) ?? 0;
    const left = Math.max(0, agent.allocatedTokens - onProvider);
    const tokens = op.mode === 'zero' ? 0 : op.mode === 'within' ? op.amount % (left + 1) : left + 1 + op.amount;
    const within = Math.min(tokens, left);
    const overage = tokens - within;
    // Overrun is the part of this report's overage that the free budget (available) could not
    // cover: only usage beyond the allocation can cause it, and an earlier overrun never counts again.
    const expectedOverrun = Math.max(0, overage - s.available);
    const overrunBefore = this.overrunTokens;
    const usedBefore = this.usedBySession.get(agent.sessionId) ?? 0;
    const input = Math.floor(tokens / 2);
    let threw: unknown = null;
    try {
      const receipt = agent.reportUsage({ inputTokens: input, outputTokens: tokens - input });
      this.same(`receipt.usedTokens of ${agent.id}`, receipt.usedTokens, usedBefore + tokens);
      this.same(
        `receipt.remainingTokens of ${agent.id}`,
        receipt.remainingTokens,
        agent.allocatedTokens - onProvider - tokens,
      );
    } catch (error) {
      threw = error;
    }
    this.usedSinceReset[p] += tokens;
    this.usedOnProvider.set(agent.sessionId, onProvider + tokens);
    this.usedBySession.set(agent.sessionId, usedBefore + tokens);
    this.lastActivity.set(agent.sessionId, this.clock.now());
    this.same(
      `overrun announced for ${tokens} tokens of ${agent.id} (${left} left of its allocation, ${s.available} available)`,
      this.overrunTokens - overrunBefore,
      expectedOverrun,
    );
    if (expectedOverrun > 0) {
      this.same(
        `usage of ${agent.id} beyond the budget`,
        isAgentvisorError(threw) ? threw.code : String(threw),
        'quota-exhausted',
      );
      this.same(`${agent.id} live after its overrun`, agent.isLive, false);
    } else {
      this.same(`usage of ${agent.id} within the budget threw`, threw === null ? null : String(threw), null);
      this.same(`${agent.id} live after usage`, agent.isLive, true);
    }
  }

  async failure(op: Extract<Op, { kind: 'failure' }>): Promise<void> {
    const agent = this.pick(op.pick, op.dead);
    if (!agent) return;
    const wasLive = agent.isLive;
    const from = agent.provider;
    const outcome = await settle(agent.reportFailure({ status: op.status }));
    if (outcome === 'pending') {
      this.fail(`reportFailure(${op.status}) of ${agent.id} did not settle`);
      return;
    }
    const code =
      outcome.error === null ? null : isAgentvisorError(outcome.error) ? outcome.error.code : String(outcome.error);
    const label = `reportFailure(${op.status}) of ${agent.id}`;
    if (!wasLive) {
      this.same(label, code, 'agent-released');
    } else if (op.status === 400) {
      this.same(label, code, 'invalid-request');
      this.same(`${label}: live`, agent.isLive, true);
    } else if (code === null && outcome.value?.action === 'retry') {
      // Nothing left to fall back to and the failure may pass: the agent stays, to retry after the delay.
      this.same(`${label}: live`, agent.isLive, true);
      this.same(`${label}: provider after a retry answer`, agent.provider, from);
      if (![429, 500, 503, 529, 0].includes(op.status))
        this.fail(`${label} answered retry for a failure that cannot pass`);
    } else if (code === null) {
      this.same(`${label}: live`, agent.isLive, true);
      if (agent.provider === from) this.fail(`${label} resolved but the agent stayed on ${from}`);
    } else {
      this.same(label, code, 'no-provider');
      this.same(`${label}: live`, agent.isLive, false);
    }
  }

  async release(op: Extract<Op, { kind: 'release' }>): Promise<void> {
    const agent = this.pick(op.pick, op.dead);
    if (!agent) return;
    if (this.hostReleased.has(agent)) {
      const outcome = await settle(agent.release());
      const code =
        outcome === 'pending'
          ? 'pending'
          : isAgentvisorError(outcome.error)
            ? outcome.error.code
            : String(outcome.error);
      this.same(`second release of ${agent.id}`, code, 'already-released');
      return;
    }
    await this.releaseAgent(agent);
  }

  async releaseAgent(agent: ManagedAgent): Promise<void> {
    const wasLive = agent.isLive;
    this.hostReleased.add(agent);
    const outcome = await settle(agent.release());
    if (outcome === 'pending' || outcome.value === null) {
      this.fail(`release of ${agent.id} failed: ${outcome === 'pending' ? 'pending' : String(outcome.error)}`);
      return;
    }
    const result = outcome.value;
    this.same(`usedTokens at release of ${agent.id}`, result.usedTokens, this.usedBySession.get(agent.sessionId) ?? 0);
    if (wasLive) this.same(`reason at release of ${agent.id}`, result.reason, 'released');
    else if (result.reason === 'released') this.fail(`${agent.id} ended by the system reports reason released`);
    this.same(`${agent.id} live after release`, agent.isLive, false);
  }

  check(strict: boolean): void {
    const stats = this.orch.stats();
    const live = this.orch.agents();
    for (const p of PROVIDERS) {
      const s = stats.providers[p];
      const onP = live.filter((a) => a.provider === p);
      const unused = onP.reduce(
        (sum, a) => sum + Math.max(0, a.allocatedTokens - (this.usedOnProvider.get(a.sessionId) ?? 0)),
        0,
      );
      this.same(`${p} used (usage since the last reset)`, s.used, this.usedSinceReset[p]);
      this.same(`${p} overrun (announced since the last reset)`, s.overrun, this.overrunSinceReset[p]);
      if (s.reserved < 0) this.fail(`${p} reserved is negative: ${s.reserved}`);
      if (s.used + s.reserved > s.dailyLimit + this.overrunSinceReset[p]) {
        this.fail(
          `${p} used ${s.used} + reserved ${s.reserved} > dailyLimit ${s.dailyLimit} + overrun ${this.overrunSinceReset[p]}`,
        );
      }
      if (strict && s.used + s.reserved > s.dailyLimit)
        this.fail(`${p} used ${s.used} + reserved ${s.reserved} > dailyLimit ${s.dailyLimit}`);
      if (s.active > s.maxConcurrent) this.fail(`${p} active ${s.active} > maxConcurrent ${s.maxConcurrent}`);
      this.same(`${p} reserved (the unused allocations of live agents)`, s.reserved, unused);
      this.same(`${p} active (live agents on it)`, s.active, onP.length);
      this.same(`${p} available`, s.available, Math.max(0, s.dailyLimit - s.used - s.reserved));
    }
    this.same('queued', stats.queued, this.queued.size);
    if (stats.queued > this.config.maxQueue) this.fail(`queued ${stats.queued} > maxQueue ${this.config.maxQueue}`);
    // Nothing idle past its lease survives a sweep.
    const lastSweep =
      this.config.startAt +
      Math.floor((this.clock.now() - this.config.startAt) / this.config.sweepIntervalMs) * this.config.sweepIntervalMs;
    for (const agent of live) {
      const last = this.lastActivity.get(agent.sessionId);
      if (last !== undefined && last + this.config.leaseMs <= lastSweep)
        this.fail(`${agent.id} is live though idle since ${last} and swept at ${lastSweep}`);
    }
    if (this.problems.length > 0) expect(this.problems).toEqual([]);
  }
}

function codeOf(call: () => unknown): string | null {
  try {
    call();
  } catch (error) {
    return isAgentvisorError(error) ? error.code : String(error);
  }
  return null;
}

/** Waits for a promise that should settle within the current turn (every actor here is synchronous). */
async function settle<T>(promise: Promise<T>): Promise<{ value: T | null; error: unknown } | 'pending'> {
  let outcome: { value: T | null; error: unknown } | 'pending' = 'pending';
  promise.then(
    (value) => {
      outcome = { value, error: null };
    },
    (error: unknown) => {
      outcome = { value: null, error: error ?? new Error('rejected with nothing') };
    },
  );
  await flushMicrotasks();
  return outcome;
}

async function runScenario(config: Config, ops: readonly Op[], strict: boolean): Promise<void> {
  const clock = createManualClock(config.startAt);
  const orch = createOrchestrator({
    env: BOTH_KEYS_ENV,
    clock,
    limits: config.limits,
    fallbackChain: config.fallbackChain,
    maxQueue: config.maxQueue,
    leaseMs: config.leaseMs,
    sweepIntervalMs: config.sweepIntervalMs,
    // Requeued failures wait for the clock; the model settles every call at once (requeue.test.ts covers requeueing).
    requeueThrottled: false,
  });
  const model = new Model(orch, clock, config);
  await orch.start();
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'spawn':
          model.spawn(op);
          break;
        case 'usage':
          model.usage(op);
          break;
        case 'failure':
          await model.failure(op);
          break;
        case 'release':
          await model.release(op);
          break;
        case 'advance':
          clock.advance(op.ms);
          break;
        case 'reset':
          clock.set(orch.stats().nextResetAt);
          break;
        case 'flush':
          await flushMicrotasks();
          break;
      }
      model.check(strict);
    }
    // Wind down: release everything live, let every waiting spawn be admitted or time out.
    for (let round = 0; round < 20 && (model.pendingSpawns > 0 || orch.agents().length > 0); round += 1) {
      await flushMicrotasks();
      for (const agent of orch.agents()) {
        if (model.handles.includes(agent)) await model.releaseAgent(agent);
        else await agent.release();
        model.check(strict);
      }
      clock.advance(MAX_WAIT + 1);
      await flushMicrotasks();
      model.check(strict);
    }
    expect(model.pendingSpawns).toBe(0);
    const stats = orch.stats();
    expect(stats.queued).toBe(0);
    for (const p of PROVIDERS) {
      expect({
        provider: p,
        reserved: stats.providers[p].reserved,
        active: stats.providers[p].active,
        used: stats.providers[p].used,
      }).toEqual({
        provider: p,
        reserved: 0,
        active: 0,
        used: model.usedSinceReset[p],
      });
    }
    if (strict) expect(model.overrunEvents).toBe(0);
  } finally {
    await orch.stop();
  }
}

/**
 * A regression example run before the random ones: a waiting spawn is admitted when a failing
 * agent's fallback frees a slot 45 minutes after the coordinator last saw the time, and must get a
 * full lease from that moment.
 */
const FALLBACK_DRAIN_EXAMPLE: [Config, Op[]] = [
  {
    limits: { claude: { dailyLimit: 20_000, maxConcurrent: 1 }, openai: { dailyLimit: 20_000, maxConcurrent: 1 } },
    fallbackChain: ['claude', 'openai'],
    maxQueue: 4,
    leaseMs: 2 * HOUR,
    sweepIntervalMs: HOUR,
    startAt: T0,
  },
  [
    { kind: 'spawn', estimate: 1_000, provider: null, waitMs: 0, priority: 0 },
    { kind: 'spawn', estimate: 1_000, provider: 'openai', waitMs: 0, priority: 0 },
    { kind: 'spawn', estimate: 1_000, provider: null, waitMs: 3 * HOUR, priority: 0 },
    { kind: 'advance', ms: 45 * MINUTE },
    { kind: 'failure', pick: 0, dead: false, status: 500 },
    { kind: 'advance', ms: 45 * MINUTE },
    { kind: 'advance', ms: 45 * MINUTE },
  ],
];

describe('budget invariants (property)', () => {
  it('should keep used + reserved within the daily limit plus announced overruns, active within maxConcurrent, and leak nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb(true), { minLength: 1, maxLength: 80, size: 'max' }),
        async (config, ops) => {
          await runScenario(config, ops, false);
        },
      ),
      { numRuns: 200, examples: [FALLBACK_DRAIN_EXAMPLE] },
    );
  }, 120_000);

  it('should keep used + reserved within the daily limit at every step when no agent goes beyond its allocation', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb(false), { minLength: 1, maxLength: 80, size: 'max' }),
        async (config, ops) => {
          await runScenario(config, ops, true);
        },
      ),
      { numRuns: 200, examples: [FALLBACK_DRAIN_EXAMPLE] },
    );
  }, 120_000);
});
