import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { loadModule } from './lazyModule';

/** The per-provider figures the gauges read at scrape time (a slice of `orch.stats()`). */
export interface MetricsStats {
  readonly providers: Readonly<
    Record<
      string,
      {
        readonly used: number;
        readonly reserved: number;
        readonly dailyLimit: number;
        readonly active: number;
        readonly maxConcurrent: number;
        readonly effectiveLimit: number;
        readonly pausedUntil: number | null;
        readonly circuit: { readonly state: string };
      }
    >
  >;
  readonly queued: number;
}

/** The circuit gauge's values. */
export const CIRCUIT_STATE_VALUES: Readonly<Record<string, number>> = { closed: 0, halfOpen: 1, open: 2 };

const LATENCY_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics of one orchestrator, in a registry of its own (never prom-client's global
 * one, so two orchestrators in a process do not collide). Gauges are read from the stats when
 * scraped, so the hot path pays only for counters and histograms.
 *
 * Metrics: agentvisor_sessions_active, agentvisor_sessions_max, agentvisor_tokens_used,
 * agentvisor_tokens_reserved, agentvisor_tokens_limit, agentvisor_sessions_effective_limit,
 * agentvisor_provider_paused_until_seconds, agentvisor_provider_circuit_state
 * (0 closed, 1 half-open, 2 open) — all by `provider`; agentvisor_queue_length;
 * agentvisor_fallbacks_total{from,reason}; agentvisor_requeues_total{provider}; agentvisor_refusals_total{code};
 * agentvisor_sessions_released_total{reason}; agentvisor_quota_resets_total;
 * agentvisor_quota_overrun_tokens_total{provider}; agentvisor_authentication_seconds{provider,outcome};
 * agentvisor_admission_seconds{provider} (spawnAgent → active).
 *
 * @example
 * const metrics = new OrchestratorMetrics(() => orch.stats());
 * metrics.fallback('claude', 'overloaded');
 * const text = await metrics.text();
 */
export class OrchestratorMetrics {
  readonly registry: Registry;
  readonly #fallbacks: Counter<'from' | 'reason'>;
  readonly #refusals: Counter<'code'>;
  readonly #requeues: Counter<'provider'>;
  readonly #released: Counter<'reason'>;
  readonly #resets: Counter;
  readonly #overrun: Counter<'provider'>;
  readonly #authentication: Histogram<'provider' | 'outcome'>;
  readonly #admission: Histogram<'provider'>;

  /** `stats` returns null while there is nothing to read (before start): the gauges are then left out. */
  constructor(stats: () => MetricsStats | null) {
    const prom = loadModule<typeof PromClient>('prom-client');
    const registry = new prom.Registry();
    this.registry = registry;
    const registers = [registry];
    const perProvider = (
      name: string,
      help: string,
      read: (p: MetricsStats['providers'][string]) => number,
    ): Gauge<'provider'> =>
      new prom.Gauge({
        name,
        help,
        labelNames: ['provider'],
        registers,
        collect() {
          const s = stats();
          if (!s) return;
          for (const [provider, figures] of Object.entries(s.providers)) this.set({ provider }, read(figures));
        },
      });
    perProvider('agentvisor_sessions_active', 'Sessions running on the provider now.', (p) => p.active);
    perProvider('agentvisor_sessions_max', "The provider's concurrency limit (maxConcurrent).", (p) => p.maxConcurrent);
    perProvider('agentvisor_tokens_used', 'Tokens used in the current daily window.', (p) => p.used);
    perProvider('agentvisor_tokens_reserved', 'Tokens allocated to live sessions and not used yet.', (p) => p.reserved);
    perProvider('agentvisor_tokens_limit', "The provider's daily token limit.", (p) => p.dailyLimit);
    perProvider(
      'agentvisor_sessions_effective_limit',
      'The concurrency admission allows now (adaptive concurrency, else maxConcurrent).',
      (p) => p.effectiveLimit,
    );
    perProvider(
      'agentvisor_provider_paused_until_seconds',
      'When a usage-limit pause ends (Unix seconds), 0 when not paused.',
      (p) => (p.pausedUntil === null ? 0 : p.pausedUntil / 1000),
    );
    perProvider(
      'agentvisor_provider_circuit_state',
      "The provider's circuit breaker: 0 closed, 1 half-open, 2 open.",
      (p) => CIRCUIT_STATE_VALUES[p.circuit.state] ?? 0,
    );
    new prom.Gauge({
      name: 'agentvisor_queue_length',
      help: 'Spawns waiting for a slot or budget.',
      registers,
      collect() {
        const s = stats();
        if (s) this.set(s.queued);
      },
    });
    this.#fallbacks = new prom.Counter({
      name: 'agentvisor_fallbacks_total',
      help: 'Sessions that moved to another provider, by the provider left and the failure kind.',
      labelNames: ['from', 'reason'],
      registers,
    });
    this.#requeues = new prom.Counter({
      name: 'agentvisor_requeues_total',
      help: 'Sessions throttled before doing any work that went back to the queue, by provider.',
      labelNames: ['provider'],
      registers,
    });
    this.#refusals = new prom.Counter({
      name: 'agentvisor_refusals_total',
      help: 'Spawns refused, by code.',
      labelNames: ['code'],
      registers,
    });
    this.#released = new prom.Counter({
      name: 'agentvisor_sessions_released_total',
      help: 'Sessions ended, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#resets = new prom.Counter({ name: 'agentvisor_quota_resets_total', help: 'Daily budget resets.', registers });
    this.#overrun = new prom.Counter({
      name: 'agentvisor_quota_overrun_tokens_total',
      help: 'Tokens used beyond the daily limit (reported after the fact).',
      labelNames: ['provider'],
      registers,
    });
    this.#authentication = new prom.Histogram({
      name: 'agentvisor_authentication_seconds',
      help: "Time to obtain a session's credentials (a token refresh included), by outcome (granted, denied).",
      labelNames: ['provider', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#admission = new prom.Histogram({
      name: 'agentvisor_admission_seconds',
      help: 'From spawnAgent to the agent being active (queueing and authentication included), by the provider it started on.',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** The content type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  fallback(from: string, reason: string): void {
    this.#fallbacks.inc({ from, reason });
  }

  refusal(code: string): void {
    this.#refusals.inc({ code });
  }

  requeue(provider: string): void {
    this.#requeues.inc({ provider });
  }

  released(reason: string): void {
    this.#released.inc({ reason });
  }

  reset(): void {
    this.#resets.inc();
  }

  overrun(provider: string, tokens: number): void {
    this.#overrun.inc({ provider }, tokens);
  }

  authentication(provider: string, outcome: 'granted' | 'denied', seconds: number): void {
    this.#authentication.observe({ provider, outcome }, seconds);
  }

  admission(provider: string, seconds: number): void {
    this.#admission.observe({ provider }, seconds);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
