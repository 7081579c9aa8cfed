import type { Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';
import { createLogger } from './logger';
import type { LogLevel } from './logger';
import { serveMetrics } from './metricsServer';
import type { MetricsServer, MetricsSource } from './metricsServer';
import { SecretMasker } from './secretMasker';
import { attachInspector } from './websocketInspector';
import type { AttachedInspector } from './websocketInspector';

/** The global CLI options that concern observability (see `commandContext`). */
export interface ObservabilityFlags {
  readonly home: string;
  readonly logLevel: LogLevel;
  /** `--metrics-port P`, or null. */
  readonly metricsPort: number | null;
  /** `--inspect <ws-url>`, or null. */
  readonly inspectUrl: string | null;
  /** `--audit` (true), `--no-audit` (false), or neither (null: the command's default). */
  readonly audit: boolean | null;
}

/** What a command that runs an orchestrator spreads into createOrchestrator's options. */
export interface CliOrchestratorOptions {
  readonly logger: Logger;
  readonly secretMasker: SecretMasker;
  readonly audit: boolean;
  readonly metrics: boolean;
  readonly inspect?: Observer<InspectionEvent>;
}

export interface CliObservability {
  readonly logger: Logger;
  readonly masker: SecretMasker;
  readonly orchestratorOptions: CliOrchestratorOptions;
  /** Serves `/metrics` for the orchestrator when `--metrics-port` was given; the URL, or null. */
  serve(orch: MetricsSource): Promise<string | null>;
  /** Stops the metrics server and flushes and disconnects the inspector. Call after `orch.stop()`. */
  close(): Promise<void>;
}

/**
 * The observability of one CLI command that runs an orchestrator (demo, run, batch): the logger
 * (stderr, level from `--log-level`), the audit trail (`--audit`/`--no-audit`, else
 * `auditByDefault`), metrics served on 127.0.0.1 (`--metrics-port`) and the Stately inspector
 * (`--inspect`). One masker is shared by the logger, the orchestrator and the CLI's own output.
 *
 * @example
 * const obs = await openCliObservability(commandContext(cmd), { auditByDefault: true, masker: cliSecretMasker });
 * const orch = createOrchestrator({ ...obs.orchestratorOptions, home: context.home });
 * await orch.start();
 * await obs.serve(orch);
 * try { … } finally { await orch.stop(); await obs.close(); }
 */
export async function openCliObservability(
  flags: ObservabilityFlags,
  options: {
    readonly auditByDefault: boolean;
    readonly masker?: SecretMasker;
    readonly destination?: NodeJS.WritableStream | number;
  },
): Promise<CliObservability> {
  const masker = options.masker ?? new SecretMasker();
  const logger = createLogger(flags.logLevel, options.destination ?? 2, { masker });
  const inspector: AttachedInspector | null =
    flags.inspectUrl === null ? null : await attachInspector(flags.inspectUrl);
  let server: MetricsServer | null = null;
  return {
    logger,
    masker,
    orchestratorOptions: {
      logger,
      secretMasker: masker,
      audit: flags.audit ?? options.auditByDefault,
      metrics: flags.metricsPort !== null,
      ...(inspector ? { inspect: inspector.inspect } : {}),
    },
    async serve(orch) {
      if (flags.metricsPort === null || server) return server?.url ?? null;
      server = await serveMetrics(orch, flags.metricsPort);
      logger.info({ url: server.url }, 'serving metrics');
      return server.url;
    },
    async close() {
      await server?.close();
      server = null;
      await inspector?.stop();
    },
  };
}
