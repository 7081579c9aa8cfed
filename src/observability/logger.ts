import pino from 'pino';
import type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths redacted in every log line. Values are also never logged on purpose: log calls pass ids,
 * providers and counts, not credentials.
 */
export const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'key', '*.key', 'token', '*.token', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken',
  'env', '*.env', 'secretEnv', '*.secretEnv', 'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]',
];

/**
 * The CLI's logger: JSON lines on stderr (stdout stays for results), secrets redacted.
 *
 * @example createLogger('info').info({ agentId }, 'agent active')
 */
export function createLogger(level: LogLevel = 'warn', destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { name: 'agentvisor' }, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, stream);
}
