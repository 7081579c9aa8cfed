export { Orchestrator, createOrchestrator } from './createOrchestrator';
export { ManagedAgent } from './managedAgent';
export { DEFAULT_LIMITS, MAX_TOKENS, resolveOptions, defaultHome } from './options';
export type { OrchestratorOptions, ProviderLimits } from './options';
export { createManualClock, systemClock } from './clock';
export type { Clock, ClockTimer, ManualClock } from './clock';
export { classifyFailure, FAILURE_KINDS } from './validation';
export type { FailureKind } from './validation';
export type * from './types';
