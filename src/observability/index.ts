export { createLogger, prettySink, secretMaskerOf, LOG_LEVELS, REDACT_PATHS } from './logger';
export type { LogLevel, LoggerOptions } from './logger';
export { SecretMasker, MASKED, MIN_SECRET_LENGTH, maskText } from './secretMasker';
export { sanitizeValue } from './sanitizeValue';
export type { SanitizeOptions } from './sanitizeValue';
export {
  AuditTrail,
  AUDIT_EVENTS,
  DEFAULT_AUDIT_KEEP,
  DEFAULT_AUDIT_MAX_BYTES,
  appendAuditEntry,
  auditDir,
  auditLine,
  resolveAuditOptions,
} from './auditTrail';
export type { AuditEntry, AuditEntryInput, AuditEventName, AuditOptions, ResolvedAuditOptions } from './auditTrail';
export { AUDIT_FILE, appendAuditLines, rotatedName } from './auditFile';
export { OrchestratorMetrics, CIRCUIT_STATE_VALUES } from './orchestratorMetrics';
export type { MetricsStats } from './orchestratorMetrics';
export { serveMetrics } from './metricsServer';
export type { MetricsServer, MetricsSource } from './metricsServer';
export { sanitizeInspection } from './inspectionSanitizer';
export type { InspectTarget } from './inspectionSanitizer';
export { attachInspector } from './websocketInspector';
export type { AttachInspectorOptions, AttachedInspector } from './websocketInspector';
export { openCliObservability } from './cliObservability';
export type { CliObservability, CliOrchestratorOptions, ObservabilityFlags } from './cliObservability';
export {
  DEFAULT_INSPECTOR_HOST,
  DEFAULT_INSPECTOR_PORT,
  inspectInstructions,
  relayUrls,
  serveInspectorRelay,
} from './inspectorRelay';
export type { InspectorRelay, InspectorRelayOptions } from './inspectorRelay';
export { recordCliAudit } from './cliAudit';
