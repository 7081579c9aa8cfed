/**
 * `agentvisor/failures`: what a failed provider request was (classifiers of HTTP answers, network
 * errors, CLI results and rate-limit headers) and what to do about it (failure policies). Pure
 * functions and data. See docs/failures.md.
 */
export * from '../providers/failures';
export { resolveFailurePolicy } from '../options/failurePolicyOptions';
export { FAILURE_KINDS, classifyFailure } from '../orchestrator/validation';
export type { FailureKind } from '../orchestrator/validation';
export { reportFailureFrom } from '../agents/sdkUsage';
