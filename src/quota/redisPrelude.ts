import { createHash } from 'node:crypto';
import { PROVIDER_IDS } from '../../machines/providers';
import { REDIS_LAYOUT } from './redisLayout';

/**
 * What every Redis ledger script (key layout 2) starts and ends with: the clock and window check,
 * the layout check, the books read once and written back once, and the helpers the operations
 * share (leases, sweeping, settled and expired ids, counting usage). redisScripts.ts has the
 * operations and the KEYS / ARGV they all get.
 */

const lua = {
  providers: PROVIDER_IDS.map((p) => `'${p}'`).join(', '),
  reservedFields: PROVIDER_IDS.map((p) => `'${p}:reserved'`).join(', '),
  reservedValues: PROVIDER_IDS.map((p, i) => `'${p}:reserved', int(reserved[${i + 1}])`).join(', '),
};

/** The clock and the window check, shared with the migration script. */
export const CLOCK_PRELUDE = `
local PROVIDERS = {${lua.providers}}
local P = #PROVIDERS
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if now < tonumber(ARGV[2]) or now >= tonumber(ARGV[3]) then return {now, 'window'} end
local IDS_TTL, USED_TTL = ARGV[4], ARGV[5]
local BOOKS, LEASES = KEYS[1], KEYS[2]
local USED, SETTLED, SETTLED_PREV, EXPIRED, EXPIRED_PREV = KEYS[P+3], KEYS[P+4], KEYS[P+5], KEYS[P+6], KEYS[P+7]
local function expiry(i) return KEYS[2 + i] end
local function int(n) return string.format('%d', n) end
`;

export const PRELUDE = `${CLOCK_PRELUDE}
local books = redis.call('HMGET', BOOKS, 'layout', ${lua.reservedFields})
if books[1] ~= '${REDIS_LAYOUT}' then return {now, 'layout', books[1] or ''} end
-- Each provider's reserved tokens change in memory and are written back once, at the end.
local reserved, booksChanged = {}, false
for i = 1, P do reserved[i] = tonumber(books[i + 1] or '0') end
local function addReserved(i, delta)
  if delta ~= 0 then
    reserved[i] = reserved[i] + delta
    booksChanged = true
  end
end
local function remaining(granted, used) return math.max(0, granted - used) end

local function leaseOf(id)
  local v = redis.call('HGET', LEASES, id)
  if not v then return nil end
  local p, granted, used = string.match(v, '^(%d+):(%d+):(%d+)$')
  return tonumber(p), tonumber(granted), tonumber(used)
end
local function writeLease(i, id, granted, used) redis.call('HSET', LEASES, id, i .. ':' .. int(granted) .. ':' .. int(used)) end

-- A lease that ran out gives back its slot and tokens; its provider and counted usage are kept so
-- that a late settle or record counts only the rest, in the right place. The caller removes it
-- from the expiry set.
local function forget(i, id, granted, used)
  redis.call('HDEL', LEASES, id)
  addReserved(i, -remaining(granted, used))
  redis.call('HSET', EXPIRED, id, i .. ':' .. int(used))
end

local function sweep()
  local count = 0
  for i = 1, P do
    local due = redis.call('ZRANGEBYSCORE', expiry(i), '-inf', now)
    if #due > 0 then
      for _, id in ipairs(due) do
        local _, granted, used = leaseOf(id)
        forget(i, id, granted or 0, used or 0)
      end
      redis.call('ZREMRANGEBYSCORE', expiry(i), '-inf', now)
      count = count + #due
    end
  end
  if count > 0 then redis.call('PEXPIRE', EXPIRED, IDS_TTL) end
  return count
end

local function settledOf(id) return redis.call('HGET', SETTLED, id) or redis.call('HGET', SETTLED_PREV, id) end

-- A lease that ran out in this window or the one before: provider#, usage counted, and its hash.
local function expiredOf(id)
  local where, v = EXPIRED, redis.call('HGET', EXPIRED, id)
  if not v then where, v = EXPIRED_PREV, redis.call('HGET', EXPIRED_PREV, id) end
  if not v then return nil end
  local p, used = string.match(v, '^(%d+):(%d+)$')
  return tonumber(p), tonumber(used), where
end

local function usedOf(i) return tonumber(redis.call('HGET', USED, PROVIDERS[i]) or '0') end

-- Counts usage after the lease's own books changed; what lies beyond the limit is overrun.
local function countUsage(i, delta, dailyLimit)
  if delta <= 0 then return end
  local used = redis.call('HINCRBY', USED, PROVIDERS[i], int(delta))
  local overrun = tonumber(redis.call('HGET', USED, PROVIDERS[i] .. ':overrun') or '0')
  local excess = used + reserved[i] - dailyLimit - overrun
  if excess > 0 then redis.call('HINCRBY', USED, PROVIDERS[i] .. ':overrun', int(excess)) end
  redis.call('PEXPIRE', USED, USED_TTL)
end
`;

export const EPILOGUE = `
local reply = main()
if booksChanged then redis.call('HSET', BOOKS, ${lua.reservedValues}) end
return reply
`;

export interface LedgerScript {
  readonly name: string;
  readonly lua: string;
  /** SHA1 of `lua`, for EVALSHA. */
  readonly sha: string;
}

/**
 * A script from its full Lua text, with the SHA1 that EVALSHA names it by.
 *
 * @example
 * const sweep = ledgerScript('sweep', `${PRELUDE}local function main() return {now, 'swept', sweep()} end${EPILOGUE}`);
 */
export function ledgerScript(name: string, text: string): LedgerScript {
  const full = `-- agentvisor quota ledger (key layout 2): ${name}\n${text}`;
  return { name, lua: full, sha: createHash('sha1').update(full).digest('hex') };
}
