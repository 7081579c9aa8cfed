/** agentvisor: run many AI coding agents at once under one supervisor. */
export { createOrchestrator, Orchestrator, ManagedAgent, createManualClock, systemClock, DEFAULT_LIMITS, MAX_TOKENS, classifyFailure, FAILURE_KINDS } from './orchestrator';
export type {
  OrchestratorOptions,
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
export { windowAt, DEFAULT_DAILY_RESET } from './quota/dailyWindow';
export type { DailyReset, WindowPosition } from './quota/dailyWindow';
export { Secret } from '../machines/secret';
export { agentSessionMachine, coordinatorMachine, createSessionSupervisor } from '../machines';
