import type { Redis } from 'ioredis';
import { AgentvisorError } from '../errors';
import { dailyResetMismatch, sameDailyReset } from './dailyWindow';
import type { DailyReset } from './dailyWindow';
import { closedLedgerError, readClock } from './ledgerInput';
import { redisUnavailable, waitUntilReady, withTimeout } from './redisConnection';
import { REDIS_IDS_TTL_MS, REDIS_LAYOUT, REDIS_USED_TTL_MS, layout1Keys, layoutKeys } from './redisLayout';
import { MIGRATION_ARGS, MIGRATION_SCRIPT } from './redisMigration';
import { LEDGER_SCRIPTS } from './redisScripts';
import type { LedgerScript } from './redisScripts';
import { redisWindow } from './redisWindow';
import type { RedisWindow } from './redisWindow';

export type ScriptReply = ReadonlyArray<string | number>;

export interface ScriptRunnerOptions {
  readonly client: Redis;
  /** True when the ledger opened the connection (ioredis' commandTimeout applies); else each call gets a timer. */
  readonly owned: boolean;
  readonly lastError: () => string | null;
  /** The server as messages name it (no secrets), and what the caller gave, to blank its secrets out of errors. */
  readonly target: string;
  readonly redis: string | Redis;
  readonly keyPrefix: string;
  readonly clock: 'server' | 'caller';
  readonly timeout: number;
  readonly dailyReset: DailyReset;
  readonly now: () => number;
  readonly isClosed: () => boolean;
}

export interface ScriptRunner {
  /** Runs a layout-2 script with these ARGV after the common five, at clock reading `at`. */
  run(
    script: LedgerScript,
    args: ReadonlyArray<string | number>,
    at?: number,
  ): Promise<{ reply: ScriptReply; window: RedisWindow }>;
  /** Stops following the client's connection events (at close). */
  detach(): void;
}

/** Records this ledger's reset in the books when none is there yet, and answers the one they keep. */
const KEEP_DAILY_RESET_LUA =
  "redis.call('HSETNX', KEYS[1], 'dailyReset', ARGV[1]) return redis.call('HGET', KEYS[1], 'dailyReset')";

/**
 * How the Redis ledger gets a script run: on a ready connection that was prepared (every script
 * loaded, the key layout checked and layout 1 migrated, once per connection), in the daily window
 * of the clock that decides, with every failure turned into `ledger-unavailable`.
 *
 * @example
 * const runner = createScriptRunner({
 *   client, owned: true, lastError, target, redis: url,
 *   keyPrefix: 'agentvisor:', clock: 'server', timeout: 2_000, dailyReset, now: Date.now, isClosed: () => false,
 * });
 * const { reply } = await runner.run(LEDGER_SCRIPTS.sweep, []);
 */
export function createScriptRunner(options: ScriptRunnerOptions): ScriptRunner {
  const { client, owned, lastError, target, keyPrefix, clock, timeout, dailyReset, now } = options;
  let readiness: Promise<void> | null = null;
  let migration: Promise<void> | null = null;
  let preparing: Promise<void> | null = null;
  /** Counts connections: scripts were loaded and the layout checked on connection number `prepared`. */
  let connections = 0;
  let prepared = -1;
  const onClose = (): void => {
    connections += 1;
  };
  client.on('close', onClose);
  /** Server clock minus this process's clock, learnt from every reply (server mode). */
  let offset = 0;
  let cachedKeys: { day: string; keys: string[]; migrationKeys: string[] } | null = null;

  /** The keys of every script in a window (built once per window: they are the same for every call in it). */
  function keysFor(window: RedisWindow): { keys: string[]; migrationKeys: string[] } {
    if (cachedKeys?.day !== window.day) {
      const keys = layoutKeys(keyPrefix, window);
      cachedKeys = { day: window.day, keys, migrationKeys: [...keys, ...layout1Keys(keyPrefix, window)] };
    }
    return cachedKeys;
  }

  async function evaluate(
    script: LedgerScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    try {
      return await client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // The script cache was emptied while connected (SCRIPT FLUSH): EVAL sends the body and caches it again.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
        return client.eval(script.lua, keys.length, ...keys, ...args);
      throw error;
    }
  }

  function layoutError(marker: string): AgentvisorError {
    return new AgentvisorError(
      'ledger-corrupt',
      `The Redis ledger at ${target} under key prefix ${JSON.stringify(keyPrefix)} is marked as key layout ${JSON.stringify(marker)}, ` +
        `which this agentvisor does not know (a newer agentvisor may have written it). ` +
        `Nothing was changed; upgrade this process or use another keyPrefix.`,
      { details: { backend: 'redis', target, reason: 'unknown-layout', layout: marker } },
    );
  }

  /** Moves the prefix to layout 2 (once; every call that found no marker waits for the same run). */
  function migrate(at: number): Promise<void> {
    migration ??= run(MIGRATION_SCRIPT, MIGRATION_ARGS, at, false)
      .then(({ reply }) => {
        if (reply[2] !== String(REDIS_LAYOUT)) throw layoutError(String(reply[2]));
      })
      .finally(() => {
        migration = null;
      });
    return migration;
  }

  /**
   * The books keep the reset their windows follow (set by the first ledger on the prefix); a ledger
   * given another one is refused, once per connection, before it reads or writes anything else.
   */
  async function checkDailyReset(at: number): Promise<void> {
    const books = keysFor(redisWindow(clock === 'caller' ? at : at + offset, dailyReset)).keys[0]!;
    const reply = client.eval(KEEP_DAILY_RESET_LUA, 1, books, `${dailyReset.at} ${dailyReset.timeZone}`);
    const [keptAt = '', keptZone = ''] = String(owned ? await reply : await withTimeout(reply, timeout)).split(' ');
    const kept = { at: keptAt, timeZone: keptZone };
    if (sameDailyReset(kept, dailyReset)) return;
    throw dailyResetMismatch(
      `The Redis ledger at ${target} under key prefix ${JSON.stringify(keyPrefix)}`,
      kept,
      dailyReset,
      'use another keyPrefix',
      { backend: 'redis', target },
    );
  }

  /**
   * Once per connection, before its first script: every script is loaded and the layout checked
   * (migrating layout 1). Calls made meanwhile wait, and afterwards no call needs the EVAL fallback
   * or a migration, either of which would send it again behind calls made after it.
   */
  async function prepare(at: number): Promise<void> {
    const connection = connections;
    const loads = Promise.all(
      [MIGRATION_SCRIPT, ...Object.values(LEDGER_SCRIPTS)].map((s) => client.script('LOAD', s.lua)),
    );
    // Best effort: a server that refuses SCRIPT LOAD (an ACL) still gets each script by the EVAL fallback.
    await (owned ? loads : withTimeout(loads, timeout)).catch(() => undefined);
    await migrate(at);
    await checkDailyReset(at);
    if (connection === connections) prepared = connection;
  }

  async function connected(at: number, gated: boolean): Promise<void> {
    if (client.status !== 'ready') {
      // One wait for readiness shared by every call that arrives while connecting.
      readiness ??= waitUntilReady(client, timeout, lastError).finally(() => {
        readiness = null;
      });
      await readiness;
    }
    if (!gated || prepared === connections) return;
    preparing ??= prepare(at).finally(() => {
      preparing = null;
    });
    await preparing;
  }

  /**
   * Runs one script in the window of the clock that decides: again when a reset falls in between
   * (`window`), or after the migration when the books lost their layout marker (`layout`).
   * `gated`: wait for the connection's preparation first (every script but the migration).
   */
  async function run(
    script: LedgerScript,
    args: ReadonlyArray<string | number>,
    at: number = readClock(now),
    gated = true,
  ): Promise<{ reply: ScriptReply; window: RedisWindow }> {
    if (options.isClosed()) throw closedLedgerError('redis');
    let guess = clock === 'caller' ? at : at + offset;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const window = redisWindow(guess, dailyReset);
      const head = [
        clock === 'caller' ? String(guess) : '',
        window.start,
        window.nextResetAt,
        REDIS_IDS_TTL_MS,
        REDIS_USED_TTL_MS,
      ];
      const { keys, migrationKeys } = keysFor(window);
      let raw: unknown;
      try {
        await connected(at, gated);
        const reply = evaluate(script, script === MIGRATION_SCRIPT ? migrationKeys : keys, [...head, ...args]);
        raw = owned ? await reply : await withTimeout(reply, timeout);
      } catch (error) {
        throw redisUnavailable(target, error, options.redis);
      }
      const reply = raw as ScriptReply;
      const serverNow = Number(reply[0]);
      if (clock === 'server') offset = serverNow - readClock(now);
      if (reply[1] === 'layout') {
        if (reply[2] !== '') throw layoutError(String(reply[2]));
        await migrate(at);
        continue;
      }
      if (reply[1] !== 'window') return { reply, window };
      guess = serverNow;
    }
    throw new AgentvisorError(
      'ledger-unavailable',
      `The Redis ledger at ${target} could not agree on the daily window with the server's clock; try again.`,
      {
        details: { backend: 'redis', reason: 'window' },
      },
    );
  }

  return {
    run: (script, args, at) => run(script, args, at),
    detach: () => {
      client.off('close', onClose);
    },
  };
}
