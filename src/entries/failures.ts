/**
 * `agentvisor/failures`: what a failed provider request was (classifiers of HTTP answers, network
 * errors, CLI results and rate-limit headers) and what to do about it (failure policies). Pure
 * functions and data. See docs/failures.md.
 */
export {
  PROVIDER_FAILURE_KINDS,
  THROTTLES,
  classifyFailureText,
  classifyHttpFailure,
  classifyNetworkError,
  safeFailureMessage,
  throttleOf,
} from '../providers/failureClassifier';
export type {
  HttpFailureInput,
  NetworkFailureInput,
  ProviderFailure,
  ProviderFailureKind,
  TextFailureInput,
  Throttle,
  TokenUsage,
} from '../providers/failureClassifier';
export {
  classifyClaudeCodeResult,
  classifyCodexEvents,
  claudeUsage,
  codexUsage,
} from '../providers/agentRunClassifier';
export type { AgentRunContext, AgentRunOutcome } from '../providers/agentRunClassifier';
export {
  DEFAULT_FAILURE_ACTIONS,
  DEFAULT_FAILURE_POLICY,
  FAILURE_ACTIONS,
  FALLBACK_REASONS,
  decideNextStep,
} from '../providers/failurePolicy';
export { resolveFailurePolicy } from '../options/failurePolicyOptions';
export type {
  FailureAction,
  FailurePolicy,
  FailurePolicyOptions,
  FallbackReason,
  KindPolicy,
  NextStep,
  NextStepContext,
} from '../providers/failurePolicy';
export { headerValue, parseGoDurationMs, parseRetryAfterMs, readRateLimitHeaders } from '../providers/rateLimitHeaders';
export type { HeadersInput, RateLimitFacts, RemainingCapacity } from '../providers/rateLimitHeaders';
export { DEFAULT_MAX_PROVIDER_RESET_MS, capFactsTimes, capFailureTimes } from '../providers/resetCap';
export type { CappedTime } from '../providers/resetCap';
export { isUsageLimitText, tryAgainInMs, usageLimitResetAt } from '../providers/usageLimitText';
export type { ResetContext } from '../providers/usageLimitText';
export { FAILURE_KINDS, classifyFailure } from '../orchestrator/validation';
export type { FailureKind } from '../orchestrator/validation';
export { reportFailureFrom } from '../agents/sdkUsage';
