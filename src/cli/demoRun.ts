import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { ProviderId } from '../../machines/providers';
import { openCliObservability } from '../observability';
import { createOrchestrator } from '../orchestrator';
import type { Orchestrator, OrchestratorOptions, OrchestratorStats, ProviderLimits } from '../orchestrator';
import { PROVIDER_IDS } from '../providers';
import { randomInt, seededRandom, startProviderApiFake } from '../sandbox';
import { runDemoAgent } from '../sandbox/demoAgent';
import type { DemoAgentResult } from '../sandbox/demoAgent';
import { createDemoFaultPlan } from '../sandbox/demoFaults';
import { DEMO_THROTTLE_ABOVE, runThrottlePhase, throttlePhaseReport } from './demoThrottlePhase';
import type { ThrottlePhaseSummary } from './demoThrottlePhase';
import type { DemoFaultCounts } from '../sandbox/demoFaults';
import { cliSecretMasker, commandContext, note, redactSecrets } from './context';
import { wholeNumber } from './runCommands';
import { onStopSignals, stopSignalNote } from './stopSignals';
import { renderTable } from './table';

export type { DemoAgentResult } from '../sandbox/demoAgent';

export interface DemoOptions {
  /** @default 24 */
  readonly agents: number;
  /** @default 1 */
  readonly seed: number;
  readonly home?: string;
  readonly limits?: Partial<Record<ProviderId, ProviderLimits>>;
  readonly logger?: Logger;
  /** More orchestrator options (the CLI's observability: audit, metrics, inspector, masker). */
  readonly orchestratorOptions?: Partial<OrchestratorOptions>;
  /** Called once the orchestrator has started, before any agent (to serve its metrics, say). */
  readonly onStart?: (orch: Orchestrator) => Promise<unknown> | unknown;
  /** Called with one line per lifecycle event (queued, active, fallback, retry, circuit, released). */
  readonly onProgress?: (line: string) => void;
  /** Agents in the throttling phase (adaptive concurrency against a sandbox that throttles above 3 in flight); 0 skips it. @default 20 */
  readonly throttleAgents?: number;
  /** Aborting stops the running phase's orchestrator (its agents released, its audit trail flushed) and skips the next phase. */
  readonly signal?: AbortSignal;
}

/** Per provider: what ran there. */
export interface DemoProviderSummary {
  /** Agents that were active on this provider at some point. */
  readonly agents: number;
  /** Tokens used here (the budget's count). */
  readonly tokens: number;
  /** Fallbacks away from this provider. */
  readonly fallbacks: number;
  /** The most sessions active here at once, and the limit. */
  readonly maxActive: number;
  readonly maxConcurrent: number;
  /** Faults the sandbox injected here. */
  readonly faults: DemoFaultCounts;
  /** Times this provider's circuit breaker opened. */
  readonly circuitOpenings: number;
}

export interface DemoSummary {
  readonly ok: boolean;
  readonly agents: number;
  readonly completed: number;
  readonly refused: number;
  readonly ended: number;
  readonly fallbacks: number;
  readonly retries: number;
  readonly queued: number;
  readonly maxActive: Readonly<Record<ProviderId, number>>;
  readonly usedTokens: number;
  /** Model requests the sandbox answered (successes and injected faults). */
  readonly requests: number;
  readonly elapsedMs: number;
  readonly providers: Readonly<Record<ProviderId, DemoProviderSummary>>;
  readonly stats: OrchestratorStats;
  readonly results: readonly DemoAgentResult[];
  /** The throttling phase: Claude's adaptive limit converging; null when skipped. */
  readonly throttling: ThrottlePhaseSummary | null;
}

/** Keys the sandbox accepts. They are not real keys and are never printed. */
const DEMO_KEYS: Record<ProviderId, string> = {
  claude: 'sk-ant-api03-agentvisor-demo-key-not-real-0000',
  openai: 'sk-proj-agentvisor-demo-key-not-real-0000',
};

/**
 * The demo: the loopback fakes of the Anthropic and OpenAI APIs (real wire formats) with seeded
 * injected faults (429 with retry-after, 529/503, 401, and a burst of overloads that opens
 * Claude's circuit), and N API-driven agents that call them over HTTP with the env the
 * orchestrator gives them, on the default limits unless told otherwise. It shows admission,
 * waiting in the queue, fallback, retries, circuits and settlement. No keys, no network.
 *
 * @example const summary = await runDemo({ agents: 24, seed: 1, onProgress: console.log });
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const random = seededRandom(options.seed);
  const plan = createDemoFaultPlan(options.seed);
  const fake = await startProviderApiFake({
    keys: DEMO_KEYS,
    script: { claude: plan.script('claude'), openai: plan.script('openai') },
  });
  const orch = createOrchestrator({
    ...options.orchestratorOptions,
    env: { ANTHROPIC_BASE_URL: fake.anthropicBaseUrl, OPENAI_BASE_URL: fake.openaiBaseUrl },
    apiKeys: DEMO_KEYS,
    // The demo never reads the user's real credential files.
    credentialSources: ['options'],
    providerPriority: 'prefer-claude',
    // A short cooldown, so an opened circuit closes again within the demo.
    circuit: { cooldownMs: 1_000 },
    ...(options.home ? { home: options.home } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`;
  let queued = 0;
  const maxActive: Record<ProviderId, number> = { claude: 0, openai: 0 };
  const seenOn: Record<ProviderId, Set<string>> = { claude: new Set(), openai: new Set() };
  const fallbacksFrom: Record<ProviderId, number> = { claude: 0, openai: 0 };
  orch.on('agent.queued', (e) => {
    queued += 1;
    progress(`${at()}  ${e.agentId}  waits in the queue (${e.code}, position ${e.position + 1})`);
  });
  orch.on('agent.active', (e) => {
    const s = orch.stats().providers[e.provider];
    maxActive[e.provider] = Math.max(maxActive[e.provider], s.active);
    seenOn[e.provider].add(e.agentId);
    progress(
      `${at()}  ${e.agentId}  active on ${e.provider}, allocated ${e.allocatedTokens.toLocaleString('en-US')} tokens (${s.active}/${s.maxConcurrent} running)`,
    );
  });
  orch.on('agent.fallback', (e) => {
    if (e.to !== null) fallbacksFrom[e.from] += 1;
    progress(
      `${at()}  ${e.agentId}  ${e.from} failed (${e.reason}): ${e.to ? `falls back to ${e.to} in ${e.latencyMs} ms` : 'no provider left'}`,
    );
  });
  orch.on('provider.circuit', (e) => {
    progress(
      `${at()}  ${e.provider} circuit ${e.state}` +
        (e.state === 'open' && e.openUntil !== null
          ? ` for ${Math.max(0, e.openUntil - Date.now())} ms after ${e.failures} failures: ` +
            `new agents start elsewhere`
          : ''),
    );
  });
  orch.on('agent.released', (e) => {
    progress(
      `${at()}  ${e.agentId}  released (${e.reason}): used ${e.usedTokens.toLocaleString('en-US')}, returned ${e.returnedTokens.toLocaleString('en-US')}`,
    );
  });

  let results: DemoAgentResult[];
  let stats: OrchestratorStats;
  const stopOnAbort = (): void => void orch.stop();
  try {
    await orch.start();
    options.signal?.addEventListener('abort', stopOnAbort, { once: true });
    if (options.signal?.aborted === true) stopOnAbort();
    await options.onStart?.(orch);
    const specs = Array.from({ length: options.agents }, (_, i) => ({
      agentId: `agent-${String(i + 1).padStart(2, '0')}`,
      estimatedTokens: randomInt(random, 8, 40) * 1000,
      turns: randomInt(random, 2, 6),
      waitMs: 120_000,
      // Every agent starts on Claude and waits for a Claude slot, so OpenAI has room to take over on failures.
      preferredProvider: 'claude' as const,
    }));
    results = await Promise.all(
      specs.map((spec) =>
        runDemoAgent(orch, spec, { onProgress: (agentId, text) => progress(`${at()}  ${agentId}  ${text}`) }),
      ),
    );
    stats = orch.stats();
  } finally {
    options.signal?.removeEventListener('abort', stopOnAbort);
    await orch.stop();
    await fake.close();
  }
  const count = (status: DemoAgentResult['status']) => results.filter((r) => r.status === status).length;
  const usedTokens = results.reduce((sum, r) => sum + r.usedTokens, 0);
  const settled = PROVIDER_IDS.every((p) => stats.providers[p].reserved === 0 && stats.providers[p].active === 0);
  const accounted = stats.providers.claude.used + stats.providers.openai.used === usedTokens;
  const providers = Object.fromEntries(
    PROVIDER_IDS.map((p): [ProviderId, DemoProviderSummary] => {
      const { replies: _replies, ...faults } = plan.served(p);
      return [
        p,
        {
          agents: seenOn[p].size,
          tokens: stats.providers[p].used,
          fallbacks: fallbacksFrom[p],
          maxActive: maxActive[p],
          maxConcurrent: stats.providers[p].maxConcurrent,
          faults,
          circuitOpenings: stats.providers[p].circuit.openings,
        },
      ];
    }),
  ) as Record<ProviderId, DemoProviderSummary>;
  const requests = PROVIDER_IDS.reduce((sum, p) => {
    const s = plan.served(p);
    return sum + s.replies + s.rateLimited + s.overloaded + s.unauthorized;
  }, 0);
  const mainElapsedMs = Date.now() - started;
  const throttleAgents = options.throttleAgents ?? 20;
  let throttling: ThrottlePhaseSummary | null = null;
  if (throttleAgents > 0 && options.signal?.aborted !== true) {
    progress('');
    progress(
      `throttling phase: ${throttleAgents} agents on Claude alone, adaptive concurrency on, ` +
        `the sandbox throttles above ${DEMO_THROTTLE_ABOVE} requests in flight`,
    );
    throttling = await runThrottlePhase({
      agents: throttleAgents,
      seed: options.seed,
      apiKey: DEMO_KEYS.claude,
      orchestratorOptions: {
        ...options.orchestratorOptions,
        ...(options.home ? { home: options.home } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      },
      onProgress: progress,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const throttlingOk = throttling === null || (throttling.settled && throttling.completed === throttling.agents);
  return {
    ok:
      throttlingOk && settled && accounted && count('completed') + count('ended') + count('refused') === options.agents,
    agents: options.agents,
    completed: count('completed'),
    refused: count('refused'),
    ended: count('ended'),
    fallbacks: fallbacksFrom.claude + fallbacksFrom.openai,
    retries: results.reduce((sum, r) => sum + r.retries, 0),
    queued,
    maxActive,
    usedTokens,
    requests,
    elapsedMs: mainElapsedMs,
    providers,
    stats,
    results,
    throttling,
  };
}

/**
 * The tables and closing lines for people.
 *
 * @example for (const line of demoReport(summary)) console.log(line);
 */
export function demoReport(summary: DemoSummary): string[] {
  return [
    renderTable(
      ['agent', 'status', 'providers', 'estimate', 'used', 'returned', 'fallbacks', 'retries', 'waited ms'],
      summary.results.map((r) => [
        r.agentId,
        r.code ? `${r.status} (${r.code})` : r.status,
        r.providers.join('→') || '-',
        r.estimatedTokens,
        r.usedTokens,
        r.returnedTokens,
        r.fallbacks,
        r.retries,
        r.waitedMs,
      ]),
    ),
    '',
    renderTable(
      [
        'provider',
        'agents',
        'tokens',
        'fallbacks',
        'max running',
        'limit',
        '429s',
        '529/503s',
        '401s',
        'circuit opened',
      ],
      PROVIDER_IDS.map((p) => {
        const s = summary.providers[p];
        return [
          p,
          s.agents,
          s.tokens,
          s.fallbacks,
          s.maxActive,
          s.maxConcurrent,
          s.faults.rateLimited,
          s.faults.overloaded,
          s.faults.unauthorized,
          s.circuitOpenings,
        ];
      }),
    ),
    '',
    `${summary.completed} completed, ${summary.ended} ended early, ${summary.refused} refused; ${summary.queued} waited in the queue; ` +
      `${summary.fallbacks} fallbacks, ${summary.retries} retries; ${summary.requests} provider requests in ${summary.elapsedMs} ms`,
    ...(summary.throttling === null ? [] : ['', ...throttlePhaseReport(summary.throttling)]),
    summary.ok
      ? 'settled: every allocation returned, usage counted once'
      : 'NOT SETTLED: accounting mismatch (a bug; please report it)',
  ];
}

/**
 * `agentvisor demo [--agents N] [--seed S]`: the sandbox demo with live progress and the final
 * tables (with `--json`, progress on stderr and the summary as the last stdout line). Exit 0 when
 * everything settled exactly.
 *
 * @example addDemoCommand(program);
 */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run N API-driven agents through the orchestrator against loopback fakes of the Anthropic and OpenAI APIs ' +
        'with injected 429, 529 and 401 errors (no keys, no network)',
    )
    .option('--agents <n>', 'how many agents', wholeNumber(1, 1000), 24)
    .option(
      '--seed <n>',
      'random seed for estimates, turns, latencies and injected failures',
      wholeNumber(1, 2 ** 31 - 1),
      1,
    )
    .option(
      '--throttle-agents <n>',
      'agents in the throttling phase (adaptive concurrency against a sandbox that throttles above 3 requests in flight); 0 skips it',
      wholeNumber(0, 1000),
      20,
    )
    .action(async (opts: { agents: number; seed: number; throttleAgents: number }, command: Command) => {
      const context = commandContext(command);
      // The demo prints its own lines for what warnings would say (circuits opening): unless asked, log errors only.
      const explicitLevel = command.getOptionValueSourceWithGlobals('logLevel') !== 'default';
      const observability = await openCliObservability(
        { ...context, logLevel: explicitLevel ? context.logLevel : 'error' },
        { auditByDefault: false, masker: cliSecretMasker },
      );
      const write = (line: string) =>
        (context.json ? process.stderr : process.stdout).write(`${redactSecrets(line)}\n`);
      if (!context.json)
        write(
          `agentvisor demo: ${opts.agents} agents, default limits (claude 1,000,000 tokens/day, 10 at once; openai 500,000 and 8), ` +
            `loopback fakes of both APIs with injected 429, 529/503 and 401 answers` +
            (opts.throttleAgents > 0
              ? `; then ${opts.throttleAgents} agents against a Claude sandbox that throttles above ${DEMO_THROTTLE_ABOVE} ` +
                `requests in flight, with adaptive concurrency`
              : '') +
            '\n',
        );
      // Ctrl-C, SIGTERM, SIGHUP: the agents are released and the audit trail flushed, then the summary and 130/143/129.
      const stopping = new AbortController();
      const stop = onStopSignals((signal) => {
        write(`stopping (${stopSignalNote(signal)}): releasing the agents`);
        stopping.abort();
      });
      let summary: DemoSummary;
      try {
        summary = await runDemo({
          agents: opts.agents,
          seed: opts.seed,
          throttleAgents: opts.throttleAgents,
          onProgress: write,
          signal: stopping.signal,
          orchestratorOptions: observability.orchestratorOptions,
          onStart: async (orch) => {
            const url = await observability.serve(orch);
            if (url !== null) note(`agentvisor: metrics at ${url}`);
          },
          ...(command.optsWithGlobals<{ home?: string }>().home ? { home: context.home } : {}),
        });
      } finally {
        stop.remove();
        await observability.close();
      }
      if (context.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else for (const line of ['', ...demoReport(summary)]) write(line);
      if (stop.signal !== null) write(`stopped by ${stopSignalNote(stop.signal)}`);
      process.exitCode = stop.exitCode(summary.ok ? 0 : 1);
    });
}
