import { Redis } from 'ioredis';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { AgentvisorError } from '../errors';
import type { LedgerConfig, LedgerSnapshot, ProviderLedgerState, QuotaLedger, RecordOutcome, RecordRequest, ReserveOutcome, ReserveRequest, Settlement } from './ledger';
import {
  checkLeaseMs,
  checkRecordRequest,
  checkReserveRequest,
  checkSessionId,
  checkSettle,
  closedLedgerError,
  describeValue,
  duplicateSessionError,
  providerMismatchError,
  readClock,
  resolveLedgerConfig,
  unknownSessionError,
} from './ledgerInput';
import type { LedgerScriptName } from './redisScripts';
import { LEDGER_SCRIPTS } from './redisScripts';
import { describeRedisTarget, redisUnavailable, waitUntilReady } from './redisConnection';
import { redisWindow } from './redisWindow';
import type { RedisWindow } from './redisWindow';

export interface RedisLedgerOptions extends LedgerConfig {
  /**
   * A `redis://` / `rediss://` URL, or an ioredis client. From a URL the ledger opens its own
   * connection (fail-fast settings, see docs/ledger.md) and quits it at `close`; an injected client
   * is used as it is and left open.
   */
  readonly redis: string | Redis;
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

/** Settled and expired session ids live this long after their last write: the window and the one before are covered. */
export const REDIS_IDS_TTL_MS = 3 * 24 * 3_600_000;
/** Daily `used` totals live this long after their last write (as the file ledger's seven windows). */
export const REDIS_USED_TTL_MS = 8 * 24 * 3_600_000;

const KEY_PREFIX_PATTERN = /^[\w:{}.\-/@]{1,64}$/;

type Reply = ReadonlyArray<string | number>;

function checkRedisOptions(options: RedisLedgerOptions): { keyPrefix: string; clock: 'server' | 'caller'; timeout: number } {
  const keyPrefix = options.keyPrefix ?? 'agentvisor:';
  if (typeof keyPrefix !== 'string' || !KEY_PREFIX_PATTERN.test(keyPrefix)) {
    throw new AgentvisorError('invalid-option', `keyPrefix must be 1-64 characters of letters, digits and _ : { } . - / @, got ${describeValue(keyPrefix)}.`, { details: { field: 'keyPrefix' } });
  }
  const clock = options.clock ?? 'server';
  if (clock !== 'server' && clock !== 'caller') {
    throw new AgentvisorError('invalid-option', `clock must be 'server' or 'caller', got ${describeValue(clock)}.`, { details: { field: 'clock' } });
  }
  const timeout = options.timeout ?? 2_000;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 60_000) {
    throw new AgentvisorError('invalid-option', `timeout must be a whole number of milliseconds from 1 to 60000, got ${describeValue(timeout)}.`, { details: { field: 'timeout' } });
  }
  return { keyPrefix, clock, timeout };
}

interface Connection {
  readonly client: Redis;
  /** True when the ledger opened the connection (and so quits it at close). */
  readonly owned: boolean;
  /** The last connection error's message, for owned connections. */
  readonly lastError: () => string | null;
}

function connect(redis: string | Redis, timeout: number): Connection {
  if (typeof redis !== 'string') {
    if (typeof redis !== 'object' || redis === null || typeof (redis as { evalsha?: unknown }).evalsha !== 'function') {
      throw new AgentvisorError('invalid-option', 'redis must be a redis:// URL or an ioredis client.', { details: { field: 'redis' } });
    }
    return { client: redis, owned: false, lastError: () => null };
  }
  describeRedisTarget(redis); // validates the URL (throws invalid-option) before any connection
  const client = new Redis(redis, {
    // Fail fast instead of queueing while Redis is unreachable: a queued reserve could run much
    // later, long after its caller gave up. Reconnect in the background, at most a second apart.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeout,
    connectTimeout: timeout,
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
    connectionName: 'agentvisor-ledger',
  });
  // Without a listener ioredis reports every failed reconnect on stderr; the ledger reports
  // failures through its own rejected calls instead.
  let lastError: string | null = null;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  client.on('ready', () => {
    lastError = null;
  });
  return { client, owned: true, lastError: () => lastError };
}

/**
 * A ledger shared by every process on every host that points at the same Redis and key prefix.
 * Each operation is one Lua script (EVALSHA, falling back to EVAL after a script-cache flush), so
 * admission is atomic across hosts. Reservations are leases in a sorted set scored by expiry: a
 * holder that dies stops renewing, and its slot and tokens come back within one lease period
 * (expired leases are swept inside reserve, snapshot and sweep). Redis down or too slow: the call
 * rejects within `timeout` with `ledger-unavailable`, its message naming the server without any
 * password; the connection recovers by itself when Redis is back.
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
  const { limits, dailyReset, now } = resolveLedgerConfig(options);
  const { keyPrefix, clock, timeout } = checkRedisOptions(options);
  const target = describeRedisTarget(options.redis);
  const { client, owned, lastError } = connect(options.redis, timeout);
  let closed = false;
  let readiness: Promise<void> | null = null;
  /** Server clock minus this process's clock, learnt from every reply (server mode). */
  let offset = 0;

  let cachedKeys: { day: string; keys: string[] } | null = null;

  /** The keys of every script in a window (built once per window: they are the same for every call in it). */
  function keysFor(window: RedisWindow): string[] {
    if (cachedKeys?.day === window.day) return cachedKeys.keys;
    const keys = buildKeys(window);
    cachedKeys = { day: window.day, keys };
    return keys;
  }

  function buildKeys(window: RedisWindow): string[] {
    return [
      ...PROVIDER_IDS.map((p) => `${keyPrefix}leases:${p}`),
      ...PROVIDER_IDS.map((p) => `${keyPrefix}reservations:${p}`),
      `${keyPrefix}${window.day}:used`,
      `${keyPrefix}${window.day}:settled`,
      `${keyPrefix}${window.previousDay}:settled`,
      `${keyPrefix}${window.day}:expired`,
      `${keyPrefix}${window.previousDay}:expired`,
      `${keyPrefix}recorded`,
      `${keyPrefix}reserved-totals`,
    ];
  }

  async function evaluate(name: LedgerScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const script = LEDGER_SCRIPTS[name];
    try {
      return await client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // An empty script cache (Redis restarted, SCRIPT FLUSH): EVAL sends the body and caches it again.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script.lua, keys.length, ...keys, ...args);
      throw error;
    }
  }

  /** Runs one script in the window of the clock that decides (retrying once when a reset falls in between). */
  async function run(name: LedgerScriptName, args: ReadonlyArray<string | number>): Promise<{ reply: Reply; window: RedisWindow }> {
    if (closed) throw closedLedgerError('redis');
    const local = readClock(now);
    let guess = clock === 'caller' ? local : local + offset;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const window = redisWindow(guess, dailyReset);
      const head = [clock === 'caller' ? String(guess) : '', window.start, window.nextResetAt, REDIS_IDS_TTL_MS, REDIS_USED_TTL_MS];
      let raw: unknown;
      try {
        if (client.status !== 'ready') {
          // One wait for readiness shared by every call that arrives while connecting.
          readiness ??= waitUntilReady(client, timeout, lastError).finally(() => {
            readiness = null;
          });
          await readiness;
        }
        // A connection the ledger opened has ioredis' own commandTimeout; an injected one gets a timer per call.
        const reply = evaluate(name, keysFor(window), [...head, ...args]);
        raw = owned ? await reply : await withTimeout(reply, timeout);
      } catch (error) {
        throw redisUnavailable(target, error, options.redis);
      }
      const reply = raw as Reply;
      const serverNow = Number(reply[0]);
      if (clock === 'server') offset = serverNow - readClock(now);
      if (reply[1] !== 'window') return { reply, window };
      guess = serverNow;
    }
    throw new AgentvisorError('ledger-unavailable', `The Redis ledger at ${target} could not agree on the daily window with the server's clock; try again.`, {
      details: { backend: 'redis', reason: 'window' },
    });
  }

  function providerAt(index: string | number | undefined): ProviderId {
    return PROVIDER_IDS[Number(index) - 1]!;
  }

  function invalid(reply: Reply, sessionId: string, given: ProviderId | null): AgentvisorError {
    const reason = reply[2];
    if (reason === 'duplicate-session') return duplicateSessionError(sessionId, 'live');
    if (reason === 'already-settled') return duplicateSessionError(sessionId, 'settled');
    if (reason === 'provider-mismatch') return providerMismatchError(sessionId, providerAt(reply[3]), given!);
    return unknownSessionError(sessionId);
  }

  return {
    async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
      const { provider, sessionId, tokens, leaseMs } = checkReserveRequest(request);
      const { dailyLimit, maxConcurrent } = limits[provider];
      const { reply } = await run('reserve', [PROVIDER_IDS.indexOf(provider) + 1, sessionId, tokens, leaseMs, dailyLimit, maxConcurrent]);
      if (reply[1] === 'invalid') throw invalid(reply, sessionId, null);
      if (reply[1] === 'reserved') return { status: 'reserved', provider, sessionId, tokens, expiresAt: Number(reply[2]) };
      const retryAfterMs = Number(reply[3]);
      return { status: 'refused', provider, code: reply[2] as 'quota-exhausted' | 'concurrency-limit' | 'no-provider', retryAfterMs: retryAfterMs < 0 ? null : retryAfterMs };
    },
    async settle(sessionId: string, usedTokens: number, provider?: ProviderId): Promise<Settlement> {
      const checked = checkSettle(sessionId, usedTokens, provider);
      const given = checked.provider === null ? 0 : PROVIDER_IDS.indexOf(checked.provider) + 1;
      const { reply } = await run('settle', [checked.sessionId, checked.usedTokens, given, ...PROVIDER_IDS.map((p) => limits[p].dailyLimit)]);
      if (reply[1] === 'invalid') throw invalid(reply, checked.sessionId, checked.provider);
      return { sessionId: checked.sessionId, provider: providerAt(reply[2]), usedTokens: Number(reply[3]), returnedTokens: Number(reply[4]) };
    },
    async record(request: RecordRequest): Promise<RecordOutcome> {
      const checked = checkRecordRequest(request);
      const given = checked.provider === null ? 0 : PROVIDER_IDS.indexOf(checked.provider) + 1;
      const { reply } = await run('record', [
        checked.sessionId, checked.usedTokens, checked.addTokens, given,
        ...PROVIDER_IDS.map((p) => limits[p].dailyLimit), ...PROVIDER_IDS.map((p) => limits[p].maxConcurrent),
      ]);
      if (reply[1] === 'invalid') throw invalid(reply, checked.sessionId, checked.provider);
      const base = { sessionId: checked.sessionId, provider: providerAt(reply[2]), usedTokens: Number(reply[3]) };
      if (reply[1] === 'gone') {
        if (checked.addTokens > 0) return { ...base, status: 'refused', code: 'lease-expired', retryAfterMs: null, live: false, tokens: 0 };
        return { ...base, status: 'recorded', live: false, tokens: 0 };
      }
      if (reply[1] === 'recorded') return { ...base, status: 'recorded', live: true, tokens: Number(reply[4]) };
      const retryAfterMs = Number(reply[6]);
      return { ...base, status: 'refused', live: true, tokens: Number(reply[4]), code: reply[5] as 'quota-exhausted' | 'no-provider', retryAfterMs: retryAfterMs < 0 ? null : retryAfterMs };
    },
    async renew(sessionId: string, leaseMs: number): Promise<boolean> {
      const id = checkSessionId(sessionId);
      const lease = checkLeaseMs(leaseMs);
      const { reply } = await run('renew', [id, lease]);
      return Number(reply[2]) === 1;
    },
    async sweep(): Promise<number> {
      const { reply } = await run('sweep', []);
      return Number(reply[2]);
    },
    async snapshot(): Promise<LedgerSnapshot> {
      const { reply, window } = await run('snapshot', []);
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
      closed = true;
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

/** Rejects after `ms` (the command may still run on the server; docs/ledger.md says what that means). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
