import { LAYOUT_1_FENCE, REDIS_LAYOUT } from './redisLayout';
import { CLOCK_PRELUDE, ledgerScript } from './redisPrelude';

/**
 * The one-time move of a key prefix from layout 1 (agentvisor before decision D36) to layout 2,
 * as one script: atomic, so no operation of either layout runs half-way through it. The ledger
 * runs it when a script finds no layout marker in the books (a new prefix, a flushed or restarted
 * Redis, or a prefix an older agentvisor used) and then runs its own script again.
 *
 * It carries over everything a decision depends on: live leases (provider, granted tokens, usage
 * recorded so far, expiry), this window's used and overrun totals, settled ids of this window and
 * the one before (so a repeated settle is still recognised), and leases that ran out (with the
 * usage counted for them). Then it deletes those layout-1 keys and writes LAYOUT_1_FENCE over
 * `<prefix>recorded` and `<prefix>reserved-totals` (no expiry), so that an older agentvisor still
 * running on the prefix fails on its next budget operation instead of keeping books of its own.
 * Daily totals of earlier windows stay where they are until their TTL ends. The books' reserved
 * totals are summed afresh from the layout-2 leases, so a books hash that was lost is rebuilt.
 *
 * KEYS: layoutKeys, then layout1Keys. ARGV: the common five (redisScripts.ts), then the fence text.
 * Reply: `{now, 'migrated', marker, leasesMoved}`; the marker is the books' layout afterwards (a
 * marker other than '2' was written by another layout and is left alone).
 */
const MIGRATE = `${CLOCK_PRELUDE}
local marker = redis.call('HGET', BOOKS, 'layout')
if marker then return {now, 'migrated', marker, 0} end
local O = P + 7
local function oldLeases(i) return KEYS[O + i] end
local function oldReservations(i) return KEYS[O + P + i] end
local OLD_USED, OLD_SETTLED, OLD_SETTLED_PREV = KEYS[O + 2 * P + 1], KEYS[O + 2 * P + 2], KEYS[O + 2 * P + 3]
local OLD_EXPIRED, OLD_EXPIRED_PREV, OLD_RECORDED, OLD_TOTALS = KEYS[O + 2 * P + 4], KEYS[O + 2 * P + 5], KEYS[O + 2 * P + 6], KEYS[O + 2 * P + 7]

-- Only hashes are read: a fence left by an earlier migration is a string.
local function eachField(key, fn)
  if redis.call('TYPE', key).ok ~= 'hash' then return end
  local flat = redis.call('HGETALL', key)
  for k = 1, #flat, 2 do fn(flat[k], flat[k + 1]) end
end
local recorded = {}
eachField(OLD_RECORDED, function(id, v)
  local used, granted = string.match(v, '^(%d+):(%d+)$')
  recorded[id] = {tonumber(used), tonumber(granted)}
end)

local moved = 0
for i = 1, P do
  local entries = {}
  if redis.call('TYPE', oldLeases(i)).ok == 'zset' then entries = redis.call('ZRANGE', oldLeases(i), 0, -1, 'WITHSCORES') end
  for k = 1, #entries, 2 do
    local id, expiresAt = entries[k], entries[k + 1]
    local r = recorded[id]
    local used, granted = 0, nil
    -- Layout 1 recorded "<used>:<granted>" once usage was recorded; granted 0 belongs to an earlier lease that ran out.
    if r and r[2] > 0 then used, granted = r[1], r[2] end
    granted = granted or tonumber(redis.call('HGET', oldReservations(i), id) or '0')
    redis.call('HSET', LEASES, id, i .. ':' .. int(granted) .. ':' .. int(used))
    redis.call('ZADD', expiry(i), expiresAt, id)
    moved = moved + 1
  end
end
-- The reserved totals are summed from the leases, so books that were lost (a deleted hash) are rebuilt too.
local reserved = {}
for i = 1, P do reserved[i] = 0 end
eachField(LEASES, function(_, v)
  local p, granted, used = string.match(v, '^(%d+):(%d+):(%d+)$')
  p = tonumber(p)
  reserved[p] = reserved[p] + math.max(0, tonumber(granted) - tonumber(used))
end)
local fields = {'layout', '${REDIS_LAYOUT}'}
for i = 1, P do
  table.insert(fields, PROVIDERS[i] .. ':reserved')
  table.insert(fields, int(reserved[i]))
end

local function copy(from, to, ttl, value)
  local any = false
  eachField(from, function(field, v)
    redis.call('HSETNX', to, field, value(field, v))
    any = true
  end)
  if any then redis.call('PEXPIRE', to, ttl) end
end
local function same(_, v) return v end
local function withUsage(id, p)
  local r = recorded[id]
  return p .. ':' .. int(r and r[1] or 0)
end
eachField(OLD_USED, function(field, v) redis.call('HINCRBY', USED, field, v) end)
if redis.call('EXISTS', USED) == 1 then redis.call('PEXPIRE', USED, USED_TTL) end
copy(OLD_SETTLED, SETTLED, IDS_TTL, same)
copy(OLD_SETTLED_PREV, SETTLED_PREV, IDS_TTL, same)
copy(OLD_EXPIRED, EXPIRED, IDS_TTL, withUsage)
copy(OLD_EXPIRED_PREV, EXPIRED_PREV, IDS_TTL, withUsage)

for k = O + 1, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('SET', OLD_RECORDED, ARGV[6])
redis.call('SET', OLD_TOTALS, ARGV[6])
redis.call('HSET', BOOKS, unpack(fields))
return {now, 'migrated', '${REDIS_LAYOUT}', moved}
`;

/**
 * The migration, run by the ledger once per connection before its first script.
 *
 * @example
 * await client.evalsha(MIGRATION_SCRIPT.sha, keys.length, ...keys, ...head, ...MIGRATION_ARGS);
 */
export const MIGRATION_SCRIPT = ledgerScript('migrate from layout 1', MIGRATE);

/** The migration's ARGV after the common five. */
export const MIGRATION_ARGS: readonly string[] = [LAYOUT_1_FENCE];
