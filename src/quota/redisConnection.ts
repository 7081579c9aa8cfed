import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { AgentvisorError } from '../errors';
import { isRedisUrl } from './ledgerConfigSchema';

/**
 * How the Redis ledger talks about its server and fails when it cannot reach it. Messages name
 * the server as `redis://host:port/db` and never carry a user name or password, whatever the URL
 * or the underlying error said.
 */

/**
 * `redis://host:port/db` for a URL or a client; throws `invalid-option` for a URL that is not one.
 *
 * @example
 * describeRedisTarget('redis://user:secret@10.0.0.5:6379/2'); // 'redis://10.0.0.5:6379/2'
 */
export function describeRedisTarget(redis: string | Redis): string {
  if (typeof redis !== 'string') {
    const { host, port, db, path } = redis.options ?? {};
    return path ? `redis+unix://${path}` : `redis://${host ?? '127.0.0.1'}:${port ?? 6379}/${db ?? 0}`;
  }
  if (!isRedisUrl(redis)) {
    throw new AgentvisorError(
      'invalid-option',
      'redis must be a URL such as redis://127.0.0.1:6379/0 (or rediss:// for TLS), or an ioredis client.',
      {
        details: { field: 'redis' },
      },
    );
  }
  const url = new URL(redis);
  const db = url.pathname.replace(/^\//, '') || '0';
  return `${url.protocol}//${url.hostname}:${url.port || '6379'}/${db}`;
}

/** Secrets a URL carries (user name and password), to be blanked out of any message. */
function secretsOf(redis: string | Redis): string[] {
  if (typeof redis !== 'string')
    return typeof redis.options?.password === 'string' && redis.options.password !== '' ? [redis.options.password] : [];
  try {
    const url = new URL(redis);
    return [url.password, url.username, decodeURIComponent(url.password), decodeURIComponent(url.username)].filter(
      (s) => s.length >= 3,
    );
  } catch {
    return [];
  }
}

function reasonOf(error: unknown): { reason: 'timeout' | 'unreachable' | 'redis-error'; text: string } {
  const text = error instanceof Error ? error.message : String(error);
  if (/timed out|no reply within|not connected within/i.test(text)) return { reason: 'timeout', text };
  if (error instanceof Error && error.name === 'ReplyError') return { reason: 'redis-error', text };
  return { reason: 'unreachable', text };
}

/**
 * The `ledger-unavailable` error for a failed Redis call: what happened, where, and what to do.
 *
 * @example
 * try { await client.evalsha(sha, 0); } catch (error) { throw redisUnavailable(target, error, url); }
 */
export function redisUnavailable(target: string, error: unknown, redis: string | Redis): AgentvisorError {
  if (error instanceof AgentvisorError) return error;
  const { reason, text } = reasonOf(error);
  let said = text.split('\n')[0]!.slice(0, 200);
  for (const secret of secretsOf(redis)) said = said.split(secret).join('***');
  const advice =
    reason === 'redis-error'
      ? "Check the Redis URL, its credentials and the server's logs."
      : 'Check that Redis is running and reachable there; the connection is re-established by itself once it answers.';
  return new AgentvisorError(
    'ledger-unavailable',
    `The Redis ledger at ${target} is unavailable (${said}). ${advice} ` +
      `This call may not have taken effect: settle is idempotent, so retry it; ` +
      `a reservation made by a call that timed out is freed when its lease runs out.`,
    { retryAfterMs: 1_000, details: { backend: 'redis', target, reason } },
  );
}

/**
 * Resolves when the client can take a command now. It waits (up to `timeout`) only while a
 * connection attempt is under way; a client between reconnection attempts fails at once, so that
 * callers learn quickly that Redis is down.
 *
 * @example
 * if (client.status !== 'ready') await waitUntilReady(client, 2_000, () => null);
 */
export async function waitUntilReady(client: Redis, timeout: number, lastError: () => string | null): Promise<void> {
  const status = client.status;
  if (status === 'ready') return;
  if (status === 'end' || status === 'close') throw new Error('the connection was closed');
  if (status === 'reconnecting') throw new Error(lastError() ?? 'not connected, reconnecting');
  if (status === 'wait') client.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => finish();
    const onError = (error: Error) => finish(error);
    const onClose = () => finish(new Error(lastError() ?? 'Connection is closed.'));
    const timer = setTimeout(() => finish(new Error(`not connected within ${timeout} ms`)), timeout);
    client.once('ready', onReady);
    client.once('error', onError);
    client.once('close', onClose);
  });
}

/**
 * The ioredis options of a connection the ledger opens from a URL: fail fast instead of queueing
 * while Redis is unreachable (a queued reserve could run long after its caller gave up), and
 * reconnect in the background, at most a second apart. Exported so that a benchmark can give a
 * competitor's client exactly the same settings.
 *
 * @example
 * const client = new Redis('redis://127.0.0.1:6379', ledgerConnectionOptions(2_000));
 */
export function ledgerConnectionOptions(timeout: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeout,
    connectTimeout: timeout,
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
    connectionName: 'agentvisor-ledger',
  };
}

export interface LedgerConnection {
  readonly client: Redis;
  /** True when the ledger opened the connection (and so quits it at close). */
  readonly owned: boolean;
  /** The last connection error's message, for owned connections. */
  readonly lastError: () => string | null;
}

/**
 * The ledger's connection: its own from a URL (ledgerConnectionOptions), or the injected client as
 * it is (createRedisLedger checked its options: ledgerConfigSchema.ts).
 *
 * @example
 * const { client, owned } = openLedgerConnection('redis://127.0.0.1:6379/0', 2_000);
 */
export function openLedgerConnection(redis: string | Redis, timeout: number): LedgerConnection {
  if (typeof redis !== 'string') return { client: redis, owned: false, lastError: () => null };
  describeRedisTarget(redis); // validates the URL (throws invalid-option) before any connection
  const client = new Redis(redis, ledgerConnectionOptions(timeout));
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
 * Rejects after `ms` (the command may still run on the server; docs/ledger.md says what that means).
 *
 * @example
 * await withTimeout(client.quit(), 2_000);
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
