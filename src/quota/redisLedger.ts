import type { Redis } from 'ioredis';
import type { RedisClientLike } from './redisClientLike';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import type { AgentvisorError } from '../errors';
import type {
  LedgerConfig,
  LedgerSnapshot,
  ProviderLedgerState,
  QuotaLedger,
  RecordOutcome,
  RecordRequest,
  ReserveOutcome,
  ReserveRequest,
  Settlement,
} from './ledger';
import {
  checkLeaseMs,
  checkRecordRequest,
  checkReserveRequest,
  checkSessionId,
  checkSettle,
  closedLedgerError,
  providerMismatchError,
  readClock,
  resolveLedgerConfig,
  unknownSessionError,
} from './ledgerInput';
import { checkLedgerOptions } from './ledgerConfigSchema';
import { describeRedisTarget, openLedgerConnection, withTimeout } from './redisConnection';
import { createReserveBatcher } from './redisReserveBatch';
import { createScriptRunner } from './redisScriptRunner';
import type { ScriptReply } from './redisScriptRunner';
import { LEDGER_SCRIPTS } from './redisScripts';
import type { LedgerScript } from './redisScripts';
import type { RedisWindow } from './redisWindow';

export interface RedisLedgerOptions extends LedgerConfig {
  /**
   * A `redis://` / `rediss://` URL, or an ioredis client. From a URL the ledger opens its own
   * connection (fail-fast settings, see docs/ledger.md) and quits it at `close`; an injected client
   * is used as it is and left open.
   */
  readonly redis: string | RedisClientLike;
  /**
   * Prefix of every key. For Redis Cluster put a hash tag in it (`'{agentvisor}:'`) so that all
   * keys of one ledger live in one slot.
   * @default 'agentvisor:'
   */
  readonly keyPrefix?: string;
  /**
   * Whose clock times leases and decides the daily window. `'server'`: Redis' TIME inside every
   * script, one clock for every host whatever their skew (`now` only seeds the window guess).
   * `'caller'`: this process's `now`, passed to the scripts (single host, or simulated time in tests).
   * @default 'server'
   */
  readonly clock?: 'server' | 'caller';
  /**
   * Longest wait, in ms, for the connection to be ready and for one script's reply before the
   * call fails with `ledger-unavailable`.
   * @default 2_000
   */
  readonly timeout?: number;
}

// From the layout, not the script runner: redisLedger's declarations must not reach ioredis' own.
export { REDIS_IDS_TTL_MS, REDIS_USED_TTL_MS } from './redisLayout';

type Reply = ScriptReply;

/**
 * A ledger shared by every process on every host that points at the same Redis and key prefix.
 * Each operation is one Lua script (EVALSHA, falling back to EVAL after a script-cache flush), so
 * admission is atomic across hosts; reservations asked for in the same tick share one script call
 * (redisReserveBatch.ts), decided one by one. Reservations are leases in a sorted set scored by
 * expiry: a holder that dies stops renewing, and its slot and tokens come back within one lease
 * period (expired leases are swept inside reserve, record, snapshot and sweep). Keys follow layout
 * 2 (redisLayout.ts); a prefix holding layout-1 data is migrated once, at the first call. Redis
 * down or too slow: the call rejects within `timeout` with `ledger-unavailable`, its message naming
 * the server without any password; the connection recovers by itself when Redis is back.
 *
 * @default keyPrefix 'agentvisor:', clock 'server', timeout 2_000, dailyReset { at: '00:00', timeZone: 'UTC' }
 * @example
 * const ledger = createRedisLedger({
 *   redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
 *   limits: { claude: { dailyLimit: 1_000_000, maxConcurrent: 10 }, openai: { dailyLimit: 500_000, maxConcurrent: 8 } },
 * });
 * const outcome = await ledger.reserve({ provider: 'claude', sessionId: 's-1', tokens: 20_000, leaseMs: 10 * 60_000 });
 * // … renew every few minutes while the session runs, then:
 * await ledger.settle('s-1', 12_345);
 * await ledger.close();
 */
export function createRedisLedger(options: RedisLedgerOptions): QuotaLedger {
  checkLedgerOptions('redis', options);
  const { limits, dailyReset, now } = resolveLedgerConfig(options);
  const { keyPrefix = 'agentvisor:', clock = 'server', timeout = 2_000 } = options;
  // Typed by its shape in the options (no ioredis in the declarations); checkLedgerOptions checked the methods we call.
  const redis = options.redis as string | Redis;
  const target = describeRedisTarget(redis);
  const { client, owned, lastError } = openLedgerConnection(redis, timeout);
  let closed = false;
  const runner = createScriptRunner({
    client,
    owned,
    lastError,
    target,
    redis,
    keyPrefix,
    clock,
    timeout,
    dailyReset,
    now,
    isClosed: () => closed,
  });
  const run = runner.run;
  /** The ARGV after the common five of every reserve script: each provider's dailyLimit and maxConcurrent. */
  const limitArgs = PROVIDER_IDS.flatMap((p) => [limits[p].dailyLimit, limits[p].maxConcurrent]);

  const batcher = createReserveBatcher(
    async (items, at) => (await run(LEDGER_SCRIPTS.reserve, [...limitArgs, ...items], at)).reply,
    clock === 'server',
  );

  /** Any operation but reserve: reservations waiting for the end of this tick go first, so calls reach Redis in the order they were made. */
  function operate(
    script: LedgerScript,
    args: ReadonlyArray<string | number>,
  ): Promise<{ reply: Reply; window: RedisWindow }> {
    batcher.flush();
    return run(script, args);
  }

  function providerAt(index: string | number | undefined): ProviderId {
    return PROVIDER_IDS[Number(index) - 1]!;
  }

  function invalid(reply: Reply, sessionId: string, given: ProviderId | null): AgentvisorError {
    const reason = reply[2];
    if (reason === 'provider-mismatch') return providerMismatchError(sessionId, providerAt(reply[3]), given!);
    return unknownSessionError(sessionId);
  }

  return {
    async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
      const checked = checkReserveRequest(request);
      if (closed) throw closedLedgerError('redis');
      return batcher.reserve(checked, readClock(now));
    },
    async settle(sessionId: string, usedTokens: number, provider?: ProviderId): Promise<Settlement> {
      const checked = checkSettle(sessionId, usedTokens, provider);
      const given = checked.provider === null ? 0 : PROVIDER_IDS.indexOf(checked.provider) + 1;
      const { reply } = await operate(LEDGER_SCRIPTS.settle, [
        checked.sessionId,
        checked.usedTokens,
        given,
        ...PROVIDER_IDS.map((p) => limits[p].dailyLimit),
      ]);
      if (reply[1] === 'invalid') throw invalid(reply, checked.sessionId, checked.provider);
      return {
        sessionId: checked.sessionId,
        provider: providerAt(reply[2]),
        usedTokens: Number(reply[3]),
        returnedTokens: Number(reply[4]),
      };
    },
    async record(request: RecordRequest): Promise<RecordOutcome> {
      const checked = checkRecordRequest(request);
      const given = checked.provider === null ? 0 : PROVIDER_IDS.indexOf(checked.provider) + 1;
      const { reply } = await operate(LEDGER_SCRIPTS.record, [
        checked.sessionId,
        checked.usedTokens,
        checked.addTokens,
        given,
        ...PROVIDER_IDS.map((p) => limits[p].dailyLimit),
        ...PROVIDER_IDS.map((p) => limits[p].maxConcurrent),
      ]);
      if (reply[1] === 'invalid') throw invalid(reply, checked.sessionId, checked.provider);
      const base = { sessionId: checked.sessionId, provider: providerAt(reply[2]), usedTokens: Number(reply[3]) };
      if (reply[1] === 'gone') {
        if (checked.addTokens > 0)
          return { ...base, status: 'refused', code: 'lease-expired', retryAfterMs: null, live: false, tokens: 0 };
        return { ...base, status: 'recorded', live: false, tokens: 0 };
      }
      if (reply[1] === 'recorded') return { ...base, status: 'recorded', live: true, tokens: Number(reply[4]) };
      const retryAfterMs = Number(reply[6]);
      return {
        ...base,
        status: 'refused',
        live: true,
        tokens: Number(reply[4]),
        code: reply[5] as 'quota-exhausted' | 'no-provider',
        retryAfterMs: retryAfterMs < 0 ? null : retryAfterMs,
      };
    },
    async renew(sessionId: string, leaseMs: number): Promise<boolean> {
      const id = checkSessionId(sessionId);
      const lease = checkLeaseMs(leaseMs);
      const { reply } = await operate(LEDGER_SCRIPTS.renew, [id, lease]);
      return Number(reply[2]) === 1;
    },
    async sweep(): Promise<number> {
      const { reply } = await operate(LEDGER_SCRIPTS.sweep, []);
      return Number(reply[2]);
    },
    async snapshot(): Promise<LedgerSnapshot> {
      const { reply, window } = await operate(LEDGER_SCRIPTS.snapshot, []);
      const providers = {} as Record<ProviderId, ProviderLedgerState>;
      PROVIDER_IDS.forEach((p, i) => {
        providers[p] = {
          dailyLimit: limits[p].dailyLimit,
          maxConcurrent: limits[p].maxConcurrent,
          used: Number(reply[2 + 4 * i]),
          reserved: Number(reply[3 + 4 * i]),
          active: Number(reply[4 + 4 * i]),
          overrun: Number(reply[5 + 4 * i]),
        };
      });
      return { day: window.day, nextResetAt: window.nextResetAt, providers };
    },
    async close(): Promise<void> {
      if (closed) return;
      // Reservations asked for before close still go out; calls after it are refused.
      batcher.flush();
      closed = true;
      runner.detach();
      if (!owned) return;
      try {
        await withTimeout(client.quit(), timeout);
      } catch {
        // Not connected (or too slow to answer): drop the socket and stop reconnecting.
      }
      client.disconnect();
    },
  };
}
