/** The types the ledger link (ledgerLink.ts) shares with createOrchestrator, and its small pure helpers. */
import type { Logger } from 'pino';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type { AgentvisorError } from '../errors';
import type { QuotaLedger } from '../quota/ledger';
import type { Clock } from './clock';

/** What the coordinator may admit locally: the global limits minus what other hosts hold. */
export type EffectiveLimits = Readonly<
  Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>
>;

/** What other holders of the shared ledger hold now, per provider (from the last snapshot). */
export type OthersHold = Readonly<
  Record<ProviderId, { readonly used: number; readonly reserved: number; readonly active: number }>
>;

export interface LedgerLinkOptions {
  readonly ledger: QuotaLedger;
  /** The configured limits (global, shared by every host on the ledger). */
  readonly limits: Readonly<Record<ProviderId, { readonly dailyLimit: number; readonly maxConcurrent: number }>>;
  /** Each reservation's lease in the ledger; renewed every third of it while the session lives. */
  readonly leaseMs: number;
  /** How often the ledger is read to learn what other hosts hold. */
  readonly syncIntervalMs: number;
  /** `fail-closed`: admit nothing while the ledger is unreachable; a number: admit up to limit ÷ that many hosts, locally. */
  readonly whenUnavailable: 'fail-closed' | { readonly localShareOf: number };
  readonly clock: Clock;
  readonly logger: Logger | null;
  /** The coordinator's local limits changed. */
  readonly onLimits: (limits: EffectiveLimits) => void;
  /** The ledger became unreachable (degraded) or reachable again. */
  readonly onState: (state: 'ok' | 'degraded', reason: string | null) => void;
}

export interface Held {
  readonly provider: ProviderId;
  /** Tokens granted in the ledger: the reservation plus its top-ups. */
  tokens: number;
  /** Usage of the stint the ledger has counted (written through by `record`). */
  recorded: number;
  /** The stint's usage as last reported here (written through at the next tick). */
  reported: number;
}

/** A settlement on its way to the ledger, and the callers waiting until it is durable there. */
export interface PendingSettle {
  readonly provider: ProviderId;
  readonly used: number;
  /** What the ledger already counted of `used` for this stint (by record). */
  readonly recorded: number;
  readonly waiters: Array<{ resolve(): void; reject(error: AgentvisorError): void }>;
}

/** The ledger's answer to a new session's reservation. */
export type AdmissionOutcome =
  | { readonly status: 'reserved' }
  | {
      readonly status: 'refused';
      readonly code: 'concurrency-limit' | 'quota-exhausted' | 'no-provider' | 'ledger-unavailable';
      readonly retryAfterMs: number | null;
    };

/** What a top-up asks of the ledger for one stint. */
export interface TopUpAsk {
  readonly sessionId: string;
  readonly stint: number;
  readonly provider: ProviderId;
  /** Tokens to add to the stint's reservation. */
  readonly tokens: number;
  /** The stint's usage so far. */
  readonly usedOnProvider: number;
}

/** Nothing held, per provider. */
export const zeroHold = (): Record<ProviderId, { used: number; reserved: number; active: number }> => ({
  claude: { used: 0, reserved: 0, active: 0 },
  openai: { used: 0, reserved: 0, active: 0 },
});

/**
 * Each limit ÷ `hosts` (rounded down), or 0 for every limit when `hosts` is null (fail-closed).
 *
 * @example shareOf(limits, 2).claude.maxConcurrent; // half of limits.claude.maxConcurrent
 */
export function shareOf(limits: LedgerLinkOptions['limits'], hosts: number | null): EffectiveLimits {
  const share = (n: number) => (hosts === null ? 0 : Math.floor(n / hosts));
  const out = {} as Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  for (const p of PROVIDER_IDS)
    out[p] = { dailyLimit: share(limits[p].dailyLimit), maxConcurrent: share(limits[p].maxConcurrent) };
  return out;
}

/**
 * The ledger id of one provider stint of a session: each fallback or requeue is a reservation of its own.
 *
 * @example reservationId('agent-1', 2); // 'agent-1#2'
 */
export function reservationId(sessionId: string, stint: number): string {
  return `${sessionId}#${stint}`;
}

/**
 * Why nothing is admitted while a shared ledger is unreachable under fail-closed: its last error and
 * what to check.
 *
 * @example unreachableLedgerMessage('file', 'Could not create the folder of ledger file /h/agentvisor/ledger.json (ENOTDIR).')
 */
export function unreachableLedgerMessage(kind: string | null, reason: string | null): string {
  const ledger = kind === null ? 'the shared quota ledger' : `the shared quota ledger (${kind})`;
  const why = reason === null || reason === '' ? '' : ` (${reason.replace(/\.$/, '')})`;
  return (
    `${ledger} cannot be reached${why} and the policy is fail-closed: nothing is admitted until it is back; ` +
    "check the ledger's folder (under --home, or the config file's ledger) or the Redis URL"
  );
}
