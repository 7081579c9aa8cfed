/**
 * agentvisor: run many AI coding agents at once under one supervisor. The package root; the
 * subpaths `agentvisor/ledger`, `/failures`, `/testing` and `/machines` are src/entries/*.ts and
 * machines/index.ts (docs/api.md, "Package entry points").
 *
 * Its declarations must not reach ioredis, ws, prom-client or @statelyai/inspect (a strict consumer
 * would inherit their types): observability is imported file by file, not through its index, whose
 * metrics and relay modules name them.
 */
export {
  createOrchestrator,
  Orchestrator,
  ManagedAgent,
  createManualClock,
  systemClock,
  DEFAULT_LIMITS,
  MAX_TOKENS,
  classifyFailure,
  FAILURE_KINDS,
  DISABLE_PROVIDERS_ENV,
  rolloutBucket,
} from './orchestrator';
export type {
  OrchestratorOptions,
  ProviderSwitch,
  ProviderSwitchOptions,
  LearnedEstimatesOptions,
  TaskKindStats,
  ProviderLimits,
  Clock,
  ClockTimer,
  ManualClock,
  FailureKind,
  SpawnOptions,
  UsageReport,
  UsageReceipt,
  FailureReport,
  FailureOutcome,
  ReleaseResult,
  ProviderStats,
  OrchestratorStats,
  OrchestratorEventMap,
  OrchestratorEventName,
  Activity,
} from './orchestrator';
export type { LedgerOption, LedgerSharing } from './orchestrator/ledgerOption';
export type { RedisClientLike } from './quota/redisClientLike';
export { AgentvisorError, ERROR_CODES, isAgentvisorError } from './errors';
export type { ErrorCode, AgentvisorErrorOptions } from './errors';
export { AGENT_QUIET_ENV, PROVIDERS, PROVIDER_IDS, isProviderId, keyHint } from './providers';
export type { ProviderId, ProviderSpec } from './providers';
export {
  PROVIDER_FAILURE_KINDS,
  classifyHttpFailure,
  classifyNetworkError,
  classifyFailureText,
  classifyClaudeCodeResult,
  classifyCodexEvents,
  decideNextStep,
  DEFAULT_FAILURE_POLICY,
  readRateLimitHeaders,
} from './providers';
export type {
  ProviderFailure,
  ProviderFailureKind,
  AgentRunOutcome,
  FailurePolicy,
  FailurePolicyOptions,
  NextStep,
  HeadersInput,
} from './providers';
export { resolveFailurePolicy } from './options/failurePolicyOptions';
export { DEFAULT_CIRCUIT } from '../machines/providerHealth';
export type { CircuitConfig, CircuitState } from '../machines/providerHealth';
export { CREDENTIAL_CLASSES, CHATGPT_ENV, CLAUDE_OAUTH_ENV, ANTHROPIC_AUTH_TOKEN_ENV } from './credentials';
export type { CredentialClass, ProviderPriority } from './credentials';
export {
  startProviderApiFake,
  fakeStep,
  FAKE_FAULTS,
  throttlingScript,
  SERVER_THROTTLE_MESSAGE,
  editFileScript,
  runawayScript,
  toolTurnScript,
} from './sandbox';
export type {
  ProviderApiFake,
  ProviderApiFakeOptions,
  FakeStep,
  FakeFault,
  FakeModelRequest,
  ThrottlingScriptOptions,
} from './sandbox';
export {
  runProcess,
  startProcess,
  runAgentTask,
  runAgentBatch,
  parseBatchTasks,
  planWorktrees,
  planBatchWorkspaces,
  sweepStaleAgentHomes,
  SANDBOX_MODES,
  DEFAULT_SANDBOX_MODE,
  reportFailureFrom,
  usageFromAnthropic,
  usageFromOpenAI,
} from './agents';
export type {
  RunProcessOptions,
  ProcessResult,
  RunningProcess,
  AgentTaskOptions,
  AgentTaskResult,
  AgentTaskEvent,
  AgentTaskError,
  AgentTaskUsage,
  AgentTaskFallback,
  AgentBatchOptions,
  AgentBatchResult,
  AgentBatchTaskResult,
  BatchTask,
  BatchWorkspaces,
  SandboxMode,
  PermissionDenial,
  TaskWorktreeResult,
  WorktreePlan,
} from './agents';
export { windowAt, DEFAULT_DAILY_RESET } from './quota/dailyWindow';
export type { DailyReset, WindowPosition } from './quota/dailyWindow';
export { Secret } from '../machines/secret';
export { createLogger, secretMaskerOf, LOG_LEVELS } from './observability/logger';
export type { LogLevel, LoggerOptions } from './observability/logger';
export { SecretMasker } from './observability/secretMasker';
export { appendAuditEntry, AUDIT_EVENTS } from './observability/auditTrail';
export type { AuditEntry, AuditEntryInput, AuditEventName, AuditOptions } from './observability/auditTrail';
export { serveMetrics } from './observability/metricsServer';
export type { MetricsServer } from './observability/metricsServer';
export { attachInspector } from './observability/websocketInspector';
export type { AttachedInspector, AttachInspectorOptions } from './observability/websocketInspector';
export { sanitizeInspection } from './observability/inspectionSanitizer';
export type { InspectTarget } from './observability/inspectionSanitizer';
// The relay loads ws only when it is started: importing the root loads neither ws nor @statelyai/inspect.
export { serveInspectorRelay } from './observability/inspectorRelay';
export type { InspectorRelay, InspectorRelayOptions } from './observability/inspectorRelay';
export { agentSessionMachine, coordinatorMachine, createSessionSupervisor } from '../machines';
export { MAX_CONFIG_BYTES, defaultConfigFile, readConfigFile } from './config';
export type { ReadConfigFileOptions, ConfigFileSettings, ConfigLedger, ConfigProblem, LoadedConfig } from './config';
