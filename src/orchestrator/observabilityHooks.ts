import type { InspectionEvent, Observer } from 'xstate';
import type { AuthInput, AuthResult } from '../../machines/agentSession.types';
import type { Authenticate } from '../credentials';
import { CHATGPT_ENV, CLAUDE_OAUTH_ENV } from '../credentials';
import { AgentvisorError, isAgentvisorError } from '../errors';
import { AuditTrail } from '../observability/auditTrail';
import { sanitizeInspection } from '../observability/inspectionSanitizer';
import { secretMaskerOf } from '../observability/logger';
import { OrchestratorMetrics } from '../observability/orchestratorMetrics';
import { SecretMasker } from '../observability/secretMasker';
import { PROVIDERS } from '../providers';
import { systemClock } from './clock';
import type { ResolvedOptions } from './options';
import type { OrchestratorEventMap, OrchestratorStats } from './types';

/** The orchestrator as the hooks see it: its events and its stats. */
export interface ObservedOrchestrator {
  on<E extends keyof OrchestratorEventMap>(event: E, listener: (...args: OrchestratorEventMap[E]) => void): unknown;
  stats(): OrchestratorStats;
}

/**
 * The observability an orchestrator was created with (logger masking, audit trail, metrics,
 * sanitized inspection), bound through a handful of calls in createOrchestrator. Null when none is
 * on, so an orchestrator without them pays nothing.
 */
export interface ObservabilityHooks {
  /** The sanitizing inspection observer to give createActor, or null. */
  readonly inspect: Observer<InspectionEvent> | null;
  /** Wraps the credential lookup: registers handed-out secrets, times it, audits failures and refreshes. */
  wrapAuthenticate(authenticate: Authenticate, builtIn: boolean): Authenticate;
  /** spawnAgent was called (before the coordinator sees it): starts the admission clock. */
  spawnRequested(agentId: string): void;
  /** The text exposition; rejects when metrics are off. */
  metrics(): Promise<string>;
  /** Flushes the audit trail. */
  close(): Promise<void>;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/** Variables whose values are credentials, in the env a host gives the orchestrator. */
const CREDENTIAL_ENV = [
  ...new Set([
    ...PROVIDERS.claude.apiKeyEnv,
    ...PROVIDERS.openai.apiKeyEnv,
    CLAUDE_OAUTH_ENV,
    'ANTHROPIC_AUTH_TOKEN',
    CHATGPT_ENV.accessToken,
    CHATGPT_ENV.idToken,
  ]),
];

/**
 * Creates the hooks for the options, subscribed to the orchestrator's events; null when no
 * logger, audit, metrics, inspector or masker was given.
 *
 * @example
 * const hooks = createObservabilityHooks(resolveOptions({ metrics: true }), orch);
 * await hooks?.metrics();
 */
export function createObservabilityHooks(o: ResolvedOptions, orch: ObservedOrchestrator): ObservabilityHooks | null {
  if (!o.logger && !o.audit && !o.metrics && !o.inspect && !o.secretMasker) return null;
  const masker = o.secretMasker ?? secretMaskerOf(o.logger) ?? new SecretMasker();
  for (const key of Object.values(o.apiKeys)) masker.add(key);
  for (const name of CREDENTIAL_ENV) masker.add(o.env[name]);
  // Latencies: precise wall time on the system clock, the test's time on a manual one.
  const now = o.clock === systemClock ? () => performance.now() : () => o.clock.now();
  const log = o.logger;
  const audit = o.audit
    ? new AuditTrail(o.audit, {
        masker,
        now: () => o.clock.now(),
        onError: (error) => log?.error({ err: error }, 'audit trail write failed'),
      })
    : null;
  const metrics = o.metrics ? new OrchestratorMetrics(() => statsIfStarted(orch)) : null;
  const admissionsStarted = new Map<string, number>();

  // The counters read stats().activity when scraped; only the latency histograms listen to events.
  if (metrics) {
    orch.on('agent.active', (e) => {
      const started = admissionsStarted.get(e.agentId);
      if (started === undefined) return;
      admissionsStarted.delete(e.agentId);
      metrics.admission(e.provider, (now() - started) / 1000);
    });
    orch.on('agent.released', (e) => admissionsStarted.delete(e.agentId));
    orch.on('agent.refused', (e) => admissionsStarted.delete(e.agentId));
  }
  if (audit) {
    orch.on('agent.refused', (e) =>
      audit.record({ event: 'agent.refused', agentId: e.agentId, reason: e.code, code: e.code }),
    );
    orch.on('agent.fallback', (e) =>
      audit.record({
        event: 'agent.fallback',
        agentId: e.agentId,
        sessionId: e.sessionId,
        provider: e.from,
        to: e.to,
        reason: e.reason,
      }),
    );
    orch.on('quota.reset', (e) => audit.record({ event: 'quota.reset', reason: 'daily window started', day: e.day }));
    orch.on('agent.requeued', (e) =>
      audit.record({
        event: 'agent.requeued',
        agentId: e.agentId,
        sessionId: e.sessionId,
        provider: e.provider,
        reason: e.reason,
      }),
    );
    orch.on('provider.circuit', (e) =>
      audit.record({
        event: 'provider.circuit',
        provider: e.provider,
        state: e.state,
        reason: `${e.failures} failures in the window`,
      }),
    );
    orch.on('provider.paused', (e) =>
      audit.record({
        event: 'provider.paused',
        provider: e.provider,
        reason: `${e.reason} until ${new Date(e.until).toISOString()}`,
      }),
    );
    orch.on('provider.resumed', (e) =>
      audit.record({ event: 'provider.resumed', provider: e.provider, reason: 'pause over' }),
    );
    orch.on('provider.limit', (e) =>
      audit.record({
        event: 'provider.limit',
        provider: e.provider,
        reason: `${e.reason}: ${e.previous} → ${e.limit}`,
      }),
    );
    orch.on('ledger.degraded', (e) =>
      audit.record({ event: 'ledger.degraded', reason: `${e.backend}: ${e.reason ?? 'unreachable'}` }),
    );
    orch.on('ledger.recovered', (e) => audit.record({ event: 'ledger.recovered', reason: e.backend }));
  }

  /** The source a provider's credential was last handed out from, to tell a refresh (a new value) from a reuse. */
  const sourcesSeen = new Set<string>();
  const granted = (input: AuthInput, result: AuthResult, startedAt: number, async: boolean, builtIn: boolean): void => {
    let changed = false;
    for (const secret of Object.values(result.secretEnv)) changed = masker.add(secret) || changed;
    metrics?.authentication(input.provider, 'granted', (now() - startedAt) / 1000);
    const sourceKey = `${input.provider}|${result.source}`;
    // The built-in resolver answers asynchronously only when it renews a token through its file.
    const refreshed = (async && builtIn) || (changed && sourcesSeen.has(sourceKey));
    sourcesSeen.add(sourceKey);
    if (refreshed)
      audit?.record({
        event: 'auth.refresh',
        provider: input.provider,
        sessionId: input.sessionId,
        agentId: input.agentId,
        source: result.source,
        reason: 'token renewed',
      });
  };
  /** Audits and times a denial; returns the error to pass on, its message masked (it reaches the session, the inspector and the host). */
  const denied = (input: AuthInput, error: unknown, startedAt: number): unknown => {
    metrics?.authentication(input.provider, 'denied', (now() - startedAt) / 1000);
    const code = isAgentvisorError(error) ? error.code : 'auth-failed';
    const message = error instanceof Error ? error.message : 'authentication failed';
    const masked = masker.mask(message);
    audit?.record({
      event: 'auth.failed',
      provider: input.provider,
      sessionId: input.sessionId,
      agentId: input.agentId,
      code,
      reason: masked,
    });
    if (masked === message) return error;
    return isAgentvisorError(error)
      ? new AgentvisorError(error.code, masked, { retryAfterMs: error.retryAfterMs, details: error.details })
      : new Error(masked);
  };

  return {
    inspect: o.inspect ? sanitizeInspection(o.inspect, masker) : null,
    wrapAuthenticate(authenticate, builtIn) {
      return (input) => {
        const startedAt = now();
        let answer: AuthResult | Promise<AuthResult>;
        try {
          answer = authenticate(input);
        } catch (error) {
          throw denied(input, error, startedAt);
        }
        if (!isPromise(answer)) {
          granted(input, answer, startedAt, false, builtIn);
          return answer;
        }
        return answer.then(
          (result) => {
            granted(input, result, startedAt, true, builtIn);
            return result;
          },
          (error: unknown) => {
            throw denied(input, error, startedAt);
          },
        );
      };
    },
    spawnRequested(agentId) {
      if (metrics) admissionsStarted.set(agentId, now());
    },
    metrics() {
      if (!metrics)
        return Promise.reject(
          new AgentvisorError('invalid-option', 'metrics are off: create the orchestrator with { metrics: true }'),
        );
      return metrics.text();
    },
    async close() {
      admissionsStarted.clear();
      await audit?.close();
    },
  };
}

function statsIfStarted(orch: ObservedOrchestrator): OrchestratorStats | null {
  try {
    return orch.stats();
  } catch (error) {
    if (isAgentvisorError(error, 'not-started')) return null;
    throw error;
  }
}

/**
 * The Prometheus text of an orchestrator's metrics, or `invalid-option` when it was created
 * without `metrics: true`.
 *
 * @example await metricsText(hooks) // agentvisor_sessions_active{provider="claude"} 0 …
 */
export function metricsText(hooks: ObservabilityHooks | null): Promise<string> {
  const off = () =>
    new AgentvisorError('invalid-option', 'metrics are off: create the orchestrator with { metrics: true }');
  return hooks?.metrics() ?? Promise.reject(off());
}
