export { AGENT_QUIET_ENV, PROVIDERS, keyHint, maskKeyLike } from './providerRegistry';
export type { ProviderSpec } from './providerRegistry';
export { PROVIDER_IDS, isProviderId } from '../../machines/providers';
export type { ProviderId } from '../../machines/providers';
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
