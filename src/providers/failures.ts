/**
 * The failure half of src/providers: what a failed provider request was (classifiers of HTTP
 * answers, network errors, CLI results, rate-limit headers and usage-limit texts) and what to do
 * about it (failure policies). Pure functions and data, with no I/O module behind them: the folder
 * index and the `agentvisor/failures` entry both export this list.
 */
export {
  PROVIDER_FAILURE_KINDS,
  THROTTLES,
  classifyFailureText,
  classifyHttpFailure,
  classifyNetworkError,
  safeFailureMessage,
  throttleOf,
} from './failureClassifier';
export type {
  HttpFailureInput,
  NetworkFailureInput,
  ProviderFailure,
  ProviderFailureKind,
  TextFailureInput,
  Throttle,
  TokenUsage,
} from './failureClassifier';
export { claudeUsage, classifyClaudeCodeResult, classifyCodexEvents, codexUsage } from './agentRunClassifier';
export type { AgentRunContext, AgentRunOutcome } from './agentRunClassifier';
export {
  DEFAULT_FAILURE_ACTIONS,
  DEFAULT_FAILURE_POLICY,
  FAILURE_ACTIONS,
  FALLBACK_REASONS,
  decideNextStep,
} from './failurePolicy';
export type {
  FailureAction,
  FailurePolicy,
  FailurePolicyOptions,
  FallbackReason,
  KindPolicy,
  NextStep,
  NextStepContext,
} from './failurePolicy';
export { headerValue, parseGoDurationMs, parseRetryAfterMs, readRateLimitHeaders } from './rateLimitHeaders';
export type { HeadersInput, RateLimitFacts, RemainingCapacity } from './rateLimitHeaders';
export { DEFAULT_MAX_PROVIDER_RESET_MS, capFactsTimes, capFailureTimes } from './resetCap';
export type { CappedTime } from './resetCap';
export { isUsageLimitText, tryAgainInMs, usageLimitResetAt } from './usageLimitText';
export type { ResetContext } from './usageLimitText';
