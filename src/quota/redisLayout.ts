import { PROVIDER_IDS } from '../../machines/providers';
import type { RedisWindow } from './redisWindow';

/**
 * Where the Redis ledger keeps its books: key layout 2 (decision D36), and the layout-1 keys that
 * the one-time migration reads and then fences off. docs/ledger.md has the table.
 *
 * Layout 2 keys live under `<prefix>v2:`, so they never collide with layout 1. The books hash
 * carries `layout = 2` once the prefix was checked for layout-1 data; every script refuses to run
 * without that marker (the caller then migrates and runs it again), so a flushed or restarted
 * Redis and a prefix last used by an older agentvisor are both noticed at their first call.
 */

/** Settled and expired session ids live this long after their last write: the window and the one before are covered. */
export const REDIS_IDS_TTL_MS = 3 * 24 * 3_600_000;
/** Daily `used` totals live this long after their last write (as the file ledger's seven windows). */
export const REDIS_USED_TTL_MS = 8 * 24 * 3_600_000;

/**
 * The layout the scripts read and write.
 *
 * @example
 * if (books.layout !== String(REDIS_LAYOUT)) migrate();
 */
export const REDIS_LAYOUT = 2;

/**
 * Written (as plain strings) over two layout-1 keys when the prefix moves to layout 2: every
 * budget operation of an older agentvisor reads one of them first and fails with WRONGTYPE, so it
 * can neither grant from nor count into books nobody reads any more.
 *
 * @example
 * await client.get('agentvisor:reserved-totals'); // LAYOUT_1_FENCE once the prefix moved to layout 2
 */
export const LAYOUT_1_FENCE =
  'agentvisor: this ledger moved to key layout 2 (keys under <prefix>v2:); upgrade every agentvisor process that uses this key prefix';

/**
 * The KEYS of every layout-2 script, in this order (P providers, in PROVIDER_IDS order):
 *   1        <prefix>v2:books               HASH layout -> 2; <provider>:reserved -> tokens held by its live leases
 *   2        <prefix>v2:leases              HASH sessionId -> "<provider#>:<granted>:<used>" of every live lease
 *   3..2+P   <prefix>v2:expiry:<provider>   ZSET sessionId -> lease expiry (epoch ms)
 *   P+3      <prefix>v2:<day>:used          HASH <provider> -> tokens used in the window; <provider>:overrun
 *   P+4      <prefix>v2:<day>:settled       HASH sessionId -> "<provider#>:<usedTokens>:<returnedTokens>"
 *   P+5      <prefix>v2:<previous day>:settled
 *   P+6      <prefix>v2:<day>:expired       HASH sessionId -> "<provider#>:<used counted so far>" of leases that ran out
 *   P+7      <prefix>v2:<previous day>:expired
 *
 * @example
 * layoutKeys('agentvisor:', redisWindow(Date.now(), DEFAULT_DAILY_RESET))[0]; // 'agentvisor:v2:books'
 */
export function layoutKeys(prefix: string, window: RedisWindow): string[] {
  const k = `${prefix}v2:`;
  return [
    `${k}books`,
    `${k}leases`,
    ...PROVIDER_IDS.map((p) => `${k}expiry:${p}`),
    `${k}${window.day}:used`,
    `${k}${window.day}:settled`,
    `${k}${window.previousDay}:settled`,
    `${k}${window.day}:expired`,
    `${k}${window.previousDay}:expired`,
  ];
}

/**
 * The layout-1 keys the migration reads after the layout-2 keys, in this order:
 *   <prefix>leases:<provider> (P), <prefix>reservations:<provider> (P), <prefix><day>:used,
 *   <prefix><day>:settled, <prefix><previous day>:settled, <prefix><day>:expired,
 *   <prefix><previous day>:expired, <prefix>recorded, <prefix>reserved-totals.
 * Daily totals of earlier windows are not read: nothing decides by them, and they expire by themselves.
 *
 * @example
 * layout1Keys('agentvisor:', window)[0]; // 'agentvisor:leases:claude'
 */
export function layout1Keys(prefix: string, window: RedisWindow): string[] {
  return [
    ...PROVIDER_IDS.map((p) => `${prefix}leases:${p}`),
    ...PROVIDER_IDS.map((p) => `${prefix}reservations:${p}`),
    `${prefix}${window.day}:used`,
    `${prefix}${window.day}:settled`,
    `${prefix}${window.previousDay}:settled`,
    `${prefix}${window.day}:expired`,
    `${prefix}${window.previousDay}:expired`,
    `${prefix}recorded`,
    `${prefix}reserved-totals`,
  ];
}
