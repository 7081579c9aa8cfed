/**
 * Every error agentvisor raises on purpose has one of these stable codes. Hosts branch on `code`;
 * messages may be reworded. docs/errors.md explains each code and what to do about it.
 */
export const ERROR_CODES = [
  'invalid-option',
  'invalid-config',
  'invalid-usage',
  'invalid-estimate',
  'invalid-failure',
  'invalid-request',
  'unknown-agent',
  'duplicate-agent',
  'already-released',
  'agent-released',
  'quota-exhausted',
  'concurrency-limit',
  'queue-full',
  'no-provider',
  'auth-failed',
  'allocation-expired',
  'not-started',
  'stopped',
  'invalid-credentials-file',
  'insecure-permissions',
  'credentials-io',
  'token-refresh-failed',
  'ledger-unavailable',
  'ledger-corrupt',
  'agent-not-found',
  'agent-failed',
  'invalid-workspace',
  'token-limit',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('agentvisor.error');

export interface AgentvisorErrorOptions {
  /** When to try again, for refusals that a wait can cure (ms). */
  readonly retryAfterMs?: number | null;
  /** Non-secret facts for programs: the provider, the agent id, the value's field name... */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * The one error class agentvisor throws. Messages say what happened and what to do; they never
 * contain a secret (keys appear at most as a hint such as `sk-ant-…abcd`).
 *
 * @example
 * try { await orch.spawnAgent({ estimatedTokens: 5_000 }); }
 * catch (err) { if (isAgentvisorError(err) && err.code === 'concurrency-limit') retryLater(err.retryAfterMs); }
 */
export class AgentvisorError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | null;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: AgentvisorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentvisorError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): {
    name: string;
    code: ErrorCode;
    message: string;
    retryAfterMs: number | null;
    details: Readonly<Record<string, unknown>>;
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryAfterMs: this.retryAfterMs,
      details: this.details,
    };
  }
}

/**
 * True for errors raised by agentvisor, across Jest realms and duplicated module copies, where
 * `instanceof` is unreliable.
 *
 * @example
 * if (isAgentvisorError(err, 'quota-exhausted')) console.log(err.retryAfterMs);
 */
export function isAgentvisorError(value: unknown, code?: ErrorCode): value is AgentvisorError {
  if (typeof value !== 'object' || value === null) return false;
  const branded = (value as Record<PropertyKey, unknown>)[BRAND] === true;
  return branded && (code === undefined || (value as AgentvisorError).code === code);
}
