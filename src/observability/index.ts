export { createLogger, LOG_LEVELS, REDACT_PATHS } from './logger';
export type { LogLevel } from './logger';
