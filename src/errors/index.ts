export { AgentvisorError, ERROR_CODES, isAgentvisorError } from './agentvisorError';
export type { AgentvisorErrorOptions, ErrorCode } from './agentvisorError';
export { errnoOf } from './errnoOf';
export { givenKind } from './givenKind';
