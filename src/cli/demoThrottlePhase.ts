import type { ProviderId } from '../../machines/providers';
import { createOrchestrator } from '../orchestrator';
import type { OrchestratorOptions } from '../orchestrator';
import { fakeStep, randomInt, seededRandom, startProviderApiFake, throttlingScript } from '../sandbox';
import { runDemoAgent } from '../sandbox/demoAgent';
import { renderTable } from './table';

/** Requests the throttling sandbox answers at once; more in flight get 429 "not your usage limit". */
export const DEMO_THROTTLE_ABOVE = 3;
/** Adaptive concurrency in the throttling phase: a deliberately high start, so the descent shows. */
const ADAPTIVE = { initial: { claude: 8 }, growAfter: 8, decreaseIntervalMs: 500 } as const;
const MAX_CONCURRENT = 10;

export interface ThrottlePhaseOptions {
  readonly agents: number;
  readonly seed: number;
  /** The sandbox's Claude key (never printed). */
  readonly apiKey: string;
  /** The CLI's observability options (logger, audit, metrics, masker). */
  readonly orchestratorOptions?: Partial<OrchestratorOptions>;
  readonly onProgress?: (line: string) => void;
  /** Aborting stops the phase's orchestrator: its agents are released. */
  readonly signal?: AbortSignal;
}

export interface ThrottleLimitChange {
  readonly atMs: number;
  readonly previous: number;
  readonly limit: number;
  readonly reason: 'grow' | 'throttle';
}

/** What the throttling phase showed: Claude's adaptive limit converging on what the sandbox allows. */
export interface ThrottlePhaseSummary {
  readonly provider: ProviderId;
  /** The sandbox throttles above this many requests in flight. */
  readonly throttleAbove: number;
  readonly agents: number;
  readonly completed: number;
  readonly maxConcurrent: number;
  readonly initialLimit: number;
  /** The effective limit at the end. */
  readonly effectiveLimit: number;
  readonly lowestLimit: number;
  readonly limitChanges: readonly ThrottleLimitChange[];
  /** Model requests answered, and how many of them were 429s. */
  readonly requests: number;
  readonly throttled: number;
  /** Sessions throttled before any work that went back to the queue (not failed). */
  readonly requeues: number;
  /** The most sessions active at once. */
  readonly maxActive: number;
  readonly settled: boolean;
  readonly elapsedMs: number;
}

/**
 * The demo's second phase: N API-driven agents on Claude alone, against a sandbox that answers
 * 429 "Server is temporarily limiting requests (not your usage limit)" whenever more than
 * `DEMO_THROTTLE_ABOVE` requests are in flight, with adaptive concurrency on. The limit starts high
 * (8 of 10), halves on throttling and grows by one after a run of successes: it settles around
 * what the sandbox allows, and throttled sessions that did no work are requeued, not failed.
 *
 * @example const phase = await runThrottlePhase({ agents: 24, seed: 1, apiKey, onProgress: console.log });
 */
export async function runThrottlePhase(options: ThrottlePhaseOptions): Promise<ThrottlePhaseSummary> {
  const random = seededRandom(options.seed * 7 + 5);
  let throttled = 0;
  let requests = 0;
  const inner = throttlingScript({
    maxInFlight: DEMO_THROTTLE_ABOVE,
    retryAfterSeconds: 1,
    reply: fakeStep.reply({ text: 'done', delayMs: 100 }),
    onThrottle: () => (throttled += 1),
  });
  const fake = await startProviderApiFake({
    keys: { claude: options.apiKey },
    script: {
      claude: (request) => {
        requests += 1;
        return inner(request);
      },
    },
  });
  const orch = createOrchestrator({
    ...options.orchestratorOptions,
    env: { ANTHROPIC_BASE_URL: fake.anthropicBaseUrl },
    apiKeys: { claude: options.apiKey },
    credentialSources: ['options'],
    fallbackChain: ['claude'],
    limits: { claude: { maxConcurrent: MAX_CONCURRENT } },
    adaptiveConcurrency: ADAPTIVE,
    // This phase is about the adaptive limit: a circuit that tolerates the throttling (by default each 429 counts against it).
    circuit: { allowedFailures: 50, cooldownMs: 1_000 },
  });
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`;
  const limitChanges: ThrottleLimitChange[] = [];
  let requeues = 0;
  let maxActive = 0;
  orch.on('provider.limit', (e) => {
    limitChanges.push({ atMs: Date.now() - started, previous: e.previous, limit: e.limit, reason: e.reason });
    progress(
      `${at()}  claude limit ${e.previous} → ${e.limit} (${e.reason === 'throttle' ? 'throttled: halved' : 'a run of successes: one more'})`,
    );
  });
  orch.on('agent.requeued', (e) => {
    requeues += 1;
    progress(`${at()}  ${e.agentId}  throttled before any work: back in the queue, not failed`);
  });
  orch.on('agent.active', () => {
    maxActive = Math.max(maxActive, orch.stats().providers.claude.active);
  });
  orch.on('provider.circuit', (e) => progress(`${at()}  claude circuit ${e.state}`));
  let completed = 0;
  let effectiveLimit: number;
  let settled: boolean;
  const stopOnAbort = (): void => void orch.stop();
  try {
    await orch.start();
    options.signal?.addEventListener('abort', stopOnAbort, { once: true });
    if (options.signal?.aborted === true) stopOnAbort();
    const specs = Array.from({ length: options.agents }, (_, i) => ({
      agentId: `throttled-${String(i + 1).padStart(2, '0')}`,
      estimatedTokens: randomInt(random, 5, 20) * 1000,
      turns: randomInt(random, 1, 2),
      waitMs: 60_000,
      preferredProvider: 'claude' as const,
    }));
    const results = await Promise.all(specs.map((spec) => runDemoAgent(orch, spec)));
    completed = results.filter((r) => r.status === 'completed').length;
    const stats = orch.stats().providers.claude;
    effectiveLimit = stats.effectiveLimit;
    settled =
      stats.reserved === 0 && stats.active === 0 && stats.used === results.reduce((sum, r) => sum + r.usedTokens, 0);
  } finally {
    options.signal?.removeEventListener('abort', stopOnAbort);
    await orch.stop();
    await fake.close();
  }
  return {
    provider: 'claude',
    throttleAbove: DEMO_THROTTLE_ABOVE,
    agents: options.agents,
    completed,
    maxConcurrent: MAX_CONCURRENT,
    initialLimit: ADAPTIVE.initial.claude,
    effectiveLimit,
    lowestLimit: Math.min(ADAPTIVE.initial.claude, ...limitChanges.map((c) => c.limit)),
    limitChanges,
    requests,
    throttled,
    requeues,
    maxActive,
    settled,
    elapsedMs: Date.now() - started,
  };
}

/**
 * The phase's lines for people: what the sandbox does, a table with the path the limit took, and
 * where it settled.
 *
 * @example for (const line of throttlePhaseReport(phase)) console.log(line);
 */
export function throttlePhaseReport(phase: ThrottlePhaseSummary): string[] {
  const path = [phase.initialLimit, ...phase.limitChanges.map((c) => c.limit)];
  const shown = path.length > 14 ? ['…', ...path.slice(-13)] : path;
  const highest = Math.max(phase.lowestLimit, ...path.slice(1));
  return [
    `throttling phase: the Claude sandbox answers 429 "not your usage limit" above ${phase.throttleAbove} requests in flight; ` +
      `adaptive concurrency starts at ${phase.initialLimit} of ${phase.maxConcurrent}`,
    renderTable(
      [
        'provider',
        'agents',
        'completed',
        'requests',
        '429s',
        'requeued',
        'max running',
        'limit path',
        'effective limit',
      ],
      [
        [
          phase.provider,
          phase.agents,
          phase.completed,
          phase.requests,
          phase.throttled,
          phase.requeues,
          phase.maxActive,
          shown.join('→'),
          phase.effectiveLimit,
        ],
      ],
    ),
    `the limit came down from ${phase.initialLimit} and moved between ${phase.lowestLimit} and ${highest} ` +
      `around what the sandbox allows (${phase.throttleAbove}), ending at ${phase.effectiveLimit}: ` +
      `${phase.throttled} 429s for ${phase.requests - phase.throttled} answers in ${phase.elapsedMs} ms`,
  ];
}
