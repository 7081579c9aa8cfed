import { PROVIDER_IDS, isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import { DEFAULT_DAILY_RESET } from './dailyWindow';
import type { DailyReset } from './dailyWindow';
import type { LedgerConfig, RecordRequest, ReserveRequest } from './ledger';

/**
 * The request checks every ledger backend shares (`invalid-request`), by hand: they run on every
 * admission. Bad input throws before anything is read or written, so a rejected call changes nothing.
 */

/** The most tokens one reservation or one settlement may carry (as the orchestrator's MAX_TOKENS). */
export const MAX_REQUEST_TOKENS = 1_000_000_000;
/** Daily limits stay far below 2^53 so that sums are exact in JavaScript and in Redis' Lua doubles. */
export const MAX_DAILY_LIMIT = 1_000_000_000_000_000;
/**
 * The most usage `record` and `settle` may count for one session: a session's usage is cumulative,
 * the sum of many reports of up to MAX_REQUEST_TOKENS each, so it may pass 10^9; usage is never dropped.
 */
export const MAX_USAGE_TOKENS = MAX_DAILY_LIMIT;
export const MAX_CONCURRENT = 1_000_000;
/** Leases are timer-sized: at most 2^31 - 1 ms (about 24.8 days). */
export const MAX_LEASE_MS = 2 ** 31 - 1;
export const MAX_SESSION_ID_LENGTH = 256;

export type ProviderLimits = Readonly<
  Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>
>;

export interface ResolvedLedgerConfig {
  readonly limits: ProviderLimits;
  readonly dailyReset: DailyReset;
  readonly now: () => number;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function requestNumber(field: string, value: unknown, min: number, max: number, unit: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AgentvisorError(
      'invalid-request',
      `${field} must be a whole number of ${unit} from ${min} to ${max}, got ${describeValue(value)}; nothing was changed.`,
      { details: { field } },
    );
  }
  return value;
}

/**
 * A ledger's configuration with its defaults filled in, the limits copied. The constructors check
 * it first (checkLedgerOptions in ledgerConfigSchema.ts, `invalid-option`).
 *
 * @example const { limits, dailyReset, now } = resolveLedgerConfig(config);
 */
export function resolveLedgerConfig(config: LedgerConfig): ResolvedLedgerConfig {
  const limits = Object.fromEntries(
    PROVIDER_IDS.map((p) => [
      p,
      { dailyLimit: config.limits[p].dailyLimit, maxConcurrent: config.limits[p].maxConcurrent },
    ]),
  ) as Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  const dailyReset = config.dailyReset ?? DEFAULT_DAILY_RESET;
  return { limits, dailyReset: { at: dailyReset.at, timeZone: dailyReset.timeZone }, now: config.now ?? Date.now };
}

/** Reads the clock and insists on a usable epoch-ms value: a broken clock must not corrupt the books. */
export function readClock(now: () => number): number {
  const value = now();
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AgentvisorError(
      'invalid-option',
      `The ledger's clock returned ${describeValue(value)}; now() must return epoch milliseconds.`,
      { details: { field: 'now' } },
    );
  }
  return Math.floor(value);
}

export function checkSessionId(sessionId: unknown): string {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) {
    throw new AgentvisorError(
      'invalid-request',
      `sessionId must be a non-empty string of at most ${MAX_SESSION_ID_LENGTH} characters, got ${describeValue(sessionId)}; nothing was changed.`,
      {
        details: { field: 'sessionId' },
      },
    );
  }
  return sessionId;
}

export function checkProvider(provider: unknown, field = 'provider'): ProviderId {
  if (!isProviderId(provider)) {
    throw new AgentvisorError(
      'invalid-request',
      `${field} must be one of ${PROVIDER_IDS.join(', ')}, got ${describeValue(provider)}; nothing was changed.`,
      {
        details: { field },
      },
    );
  }
  return provider;
}

export function checkLeaseMs(leaseMs: unknown): number {
  return requestNumber('leaseMs', leaseMs, 1, MAX_LEASE_MS, 'milliseconds');
}

/** A reserve request, checked field by field (throws `invalid-request`). */
export function checkReserveRequest(request: ReserveRequest): ReserveRequest {
  if (typeof request !== 'object' || request === null) {
    throw new AgentvisorError(
      'invalid-request',
      'reserve needs { provider, sessionId, tokens, leaseMs }; nothing was changed.',
      { details: { field: 'request' } },
    );
  }
  return {
    provider: checkProvider(request.provider),
    sessionId: checkSessionId(request.sessionId),
    tokens: requestNumber('tokens', request.tokens, 1, MAX_REQUEST_TOKENS, 'tokens'),
    leaseMs: checkLeaseMs(request.leaseMs),
  };
}

export interface CheckedRecord {
  readonly sessionId: string;
  readonly usedTokens: number;
  readonly addTokens: number;
  readonly provider: ProviderId | null;
}

/** A record request, checked field by field (throws `invalid-request`). */
export function checkRecordRequest(request: RecordRequest): CheckedRecord {
  if (typeof request !== 'object' || request === null) {
    throw new AgentvisorError(
      'invalid-request',
      'record needs { sessionId, usedTokens, addTokens?, provider? }; nothing was changed.',
      { details: { field: 'request' } },
    );
  }
  return {
    sessionId: checkSessionId(request.sessionId),
    usedTokens: requestNumber('usedTokens', request.usedTokens, 0, MAX_USAGE_TOKENS, 'tokens'),
    addTokens:
      request.addTokens === undefined
        ? 0
        : requestNumber('addTokens', request.addTokens, 0, MAX_REQUEST_TOKENS, 'tokens'),
    provider: request.provider === undefined ? null : checkProvider(request.provider),
  };
}

export interface CheckedSettle {
  readonly sessionId: string;
  readonly usedTokens: number;
  readonly provider: ProviderId | null;
}

export function checkSettle(sessionId: unknown, usedTokens: unknown, provider: unknown): CheckedSettle {
  return {
    sessionId: checkSessionId(sessionId),
    usedTokens: requestNumber('usedTokens', usedTokens, 0, MAX_USAGE_TOKENS, 'tokens'),
    provider: provider === undefined ? null : checkProvider(provider),
  };
}

/** Why a reserve was refused with a thrown `invalid-request` instead of a returned refusal. */
export function duplicateSessionError(sessionId: string, state: 'live' | 'settled'): AgentvisorError {
  const what =
    state === 'live'
      ? 'already holds a live reservation; settle it first or use a new session id'
      : 'was already settled in this window; use a new session id for a new reservation';
  return new AgentvisorError('invalid-request', `Session ${describeValue(sessionId)} ${what}. Nothing was reserved.`, {
    details: { field: 'sessionId', reason: state === 'live' ? 'duplicate-session' : 'already-settled' },
  });
}

export function providerMismatchError(sessionId: string, known: ProviderId, given: ProviderId): AgentvisorError {
  return new AgentvisorError(
    'invalid-request',
    `Session ${describeValue(sessionId)} was reserved on ${known}, not ${given}; settle it without a provider or with ${known}. Nothing was counted.`,
    {
      details: { field: 'provider', reason: 'provider-mismatch' },
    },
  );
}

export function unknownSessionError(sessionId: string): AgentvisorError {
  return new AgentvisorError(
    'invalid-request',
    `The ledger does not know session ${describeValue(sessionId)} (never reserved here, or its records were pruned); ` +
      'pass the provider to settle(sessionId, usedTokens, provider) so the usage is counted. Nothing was counted.',
    { details: { field: 'provider', reason: 'unknown-session' } },
  );
}

export function closedLedgerError(backend: 'memory' | 'file' | 'redis'): AgentvisorError {
  return new AgentvisorError(
    'ledger-unavailable',
    `This ${backend} ledger was closed; create a new one to keep using it. Nothing was changed.`,
    {
      details: { backend, reason: 'closed' },
    },
  );
}
