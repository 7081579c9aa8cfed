import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, LabelValues, Registry } from 'prom-client';
import { loadModule } from './lazyModule';

/** The counts the counters read at scrape time (a slice of `orch.stats().activity`). */
export interface MetricsActivity {
  readonly refused: Readonly<Record<string, number>>;
  readonly released: Readonly<Record<string, number>>;
  readonly resets: number;
  readonly providers: Readonly<
    Record<
      string,
      {
        readonly fallbacks: Readonly<Record<string, number>>;
        readonly requeued: number;
        readonly overrunTokens: number;
      }
    >
  >;
}

/** What the metrics read at scrape time (a slice of `orch.stats()`): the gauges' per-provider figures, the counters' activity. */
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
  readonly activity: MetricsActivity;
}

/** The circuit gauge's values. */
export const CIRCUIT_STATE_VALUES: Readonly<Record<string, number>> = { closed: 0, halfOpen: 1, open: 2 };

const LATENCY_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics of one orchestrator, in a registry of its own (never prom-client's global
 * one, so two orchestrators in a process do not collide). Gauges and counters are read from the
 * stats when scraped (the counters from `stats().activity`, the read model, so /metrics and stats()
 * cannot disagree); the hot path pays only for the two latency histograms.
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
 * metrics.admission('claude', 0.25);
 * const text = await metrics.text(); // agentvisor_fallbacks_total{from="claude",reason="overloaded"} 3 …
 */
export class OrchestratorMetrics {
  readonly registry: Registry;
  readonly #authentication: Histogram<'provider' | 'outcome'>;
  readonly #admission: Histogram<'provider'>;

  /** `stats` returns null while there is nothing to read (before start): the gauges and labelled counters are then left out. */
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
    // prom-client's Counter has no set(): each scrape resets it and adds the read model's count.
    const counted = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (activity: MetricsActivity, add: (labels: LabelValues<L>, value: number) => void) => void,
    ): Counter<L> =>
      new prom.Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const s = stats();
          if (s) read(s.activity, (labels, value) => this.inc(labels, value));
        },
      });
    counted(
      'agentvisor_fallbacks_total',
      'Sessions that moved to another provider, by the provider left and the failure kind.',
      ['from', 'reason'],
      (activity, add) => {
        for (const [from, p] of Object.entries(activity.providers))
          for (const [reason, n] of Object.entries(p.fallbacks)) add({ from, reason }, n);
      },
    );
    counted(
      'agentvisor_requeues_total',
      'Sessions throttled before doing any work that went back to the queue, by provider.',
      ['provider'],
      (activity, add) => {
        for (const [provider, p] of Object.entries(activity.providers)) add({ provider }, p.requeued);
      },
    );
    counted('agentvisor_refusals_total', 'Spawns refused, by code.', ['code'], (activity, add) => {
      for (const [code, n] of Object.entries(activity.refused)) add({ code }, n);
    });
    counted('agentvisor_sessions_released_total', 'Sessions ended, by reason.', ['reason'], (activity, add) => {
      for (const [reason, n] of Object.entries(activity.released)) add({ reason }, n);
    });
    counted('agentvisor_quota_resets_total', 'Daily budget resets.', [], (activity, add) => add({}, activity.resets));
    counted(
      'agentvisor_quota_overrun_tokens_total',
      'Tokens used beyond the daily limit (reported after the fact).',
      ['provider'],
      (activity, add) => {
        for (const [provider, p] of Object.entries(activity.providers)) add({ provider }, p.overrunTokens);
      },
    );
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
