/** agentvisor: run many AI coding agents at once under one supervisor. */
export { createOrchestrator, Orchestrator, ManagedAgent, createManualClock, systemClock, DEFAULT_LIMITS, MAX_TOKENS, classifyFailure, FAILURE_KINDS, DISABLE_PROVIDERS_ENV, rolloutBucket } from './orchestrator';
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
  ReleaseResult,
  ProviderStats,
  OrchestratorStats,
  OrchestratorEventMap,
  OrchestratorEventName,
  Activity,
} from './orchestrator';
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
  resolveFailurePolicy,
  DEFAULT_FAILURE_POLICY,
  readRateLimitHeaders,
} from './providers';
export type { ProviderFailure, ProviderFailureKind, AgentRunOutcome, FailurePolicy, FailurePolicyOptions, NextStep, HeadersInput } from './providers';
export { DEFAULT_CIRCUIT } from '../machines/providerHealth';
export type { CircuitConfig, CircuitState } from '../machines/providerHealth';
export { CREDENTIAL_CLASSES, CHATGPT_ENV, CLAUDE_OAUTH_ENV, ANTHROPIC_AUTH_TOKEN_ENV } from './credentials';
export type { CredentialClass, ProviderPriority } from './credentials';
export { startProviderApiFake, fakeStep, FAKE_FAULTS, throttlingScript, SERVER_THROTTLE_MESSAGE, editFileScript, runawayScript, toolTurnScript } from './sandbox';
export type { ProviderApiFake, ProviderApiFakeOptions, FakeStep, FakeFault, FakeModelRequest, ThrottlingScriptOptions } from './sandbox';
export { runProcess, startProcess, runAgentTask, runAgentBatch, parseBatchTasks, planWorktrees, sweepStaleAgentHomes, SANDBOX_MODES, DEFAULT_SANDBOX_MODE, reportFailureFrom, usageFromAnthropic, usageFromOpenAI } from './agents';
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
  SandboxMode,
  PermissionDenial,
  TaskWorktreeResult,
  WorktreePlan,
} from './agents';
export { windowAt, DEFAULT_DAILY_RESET } from './quota/dailyWindow';
export type { DailyReset, WindowPosition } from './quota/dailyWindow';
export { Secret } from '../machines/secret';
export {
  createLogger,
  secretMaskerOf,
  LOG_LEVELS,
  SecretMasker,
  appendAuditEntry,
  AUDIT_EVENTS,
  serveMetrics,
  attachInspector,
  sanitizeInspection,
} from './observability';
export type {
  LogLevel,
  LoggerOptions,
  AuditEntry,
  AuditEntryInput,
  AuditEventName,
  AuditOptions,
  MetricsServer,
  AttachedInspector,
  AttachInspectorOptions,
  InspectTarget,
} from './observability';
export { agentSessionMachine, coordinatorMachine, createSessionSupervisor } from '../machines';
