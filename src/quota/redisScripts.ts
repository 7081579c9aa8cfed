import { createHash } from 'node:crypto';
import { PROVIDER_IDS } from '../../machines/providers';

/**
 * The Redis ledger's Lua scripts: one script per operation, so each operation is atomic on the
 * server (no check-then-act across round trips). They keep the same books and rules as
 * ledgerState.ts; docs/ledger.md lists the keys.
 *
 * Every script gets the same KEYS, in this order (P = number of providers, in PROVIDER_IDS order):
 *   KEYS[1..P]       <prefix>leases:<provider>        ZSET sessionId -> lease expiry (epoch ms)
 *   KEYS[P+1..2P]    <prefix>reservations:<provider>  HASH sessionId -> tokens still reserved (granted - recorded usage, >= 0)
 *   KEYS[2P+1]       <prefix><day>:used               HASH provider -> tokens used in the window
 *   KEYS[2P+2]       <prefix><day>:settled            HASH sessionId -> "<provider#>:<used>:<returned>"
 *   KEYS[2P+3]       <prefix><previous day>:settled
 *   KEYS[2P+4]       <prefix><day>:expired            HASH sessionId -> provider# (leases that ran out)
 *   KEYS[2P+5]       <prefix><previous day>:expired
 *   KEYS[2P+6]       <prefix>recorded                  HASH sessionId -> "<used>:<granted>" (usage recorded before settle)
 *   KEYS[2P+7]       <prefix>reserved-totals           HASH provider -> sum of its reservations hash (kept in step, so
 *                                                     admission is O(1) in the number of live leases; rebuilt from the
 *                                                     hash when missing)
 * The used hash also holds "<provider>:overrun" (usage that found no budget left, this window).
 * and the same leading ARGV:
 *   ARGV[1] now in epoch ms, or '' to read the server's clock (TIME)
 *   ARGV[2] start of the window the caller computed, ARGV[3] its end (the next reset)
 *   ARGV[4] TTL (ms) of the settled/expired hashes, ARGV[5] TTL (ms) of the used hash
 * Every reply starts with the `now` the script used; `{now, 'window'}` means `now` lies outside
 * the window the caller computed (its clock and the server's disagree across a reset): the caller
 * recomputes the window from that `now` and runs the script again.
 *
 * Provider numbers (provider#) are 1-based positions in PROVIDER_IDS. Lua numbers are doubles:
 * every count the ledger accepts stays far below 2^53 (see ledgerInput.ts).
 */

export const SCRIPT_ARGS = 5;

const PRELUDE = `
local PROVIDERS = {${PROVIDER_IDS.map((p) => `'${p}'`).join(', ')}}
local P = #PROVIDERS
local USED, SETTLED, SETTLED_PREV, EXPIRED, EXPIRED_PREV, RECORDED, TOTALS = KEYS[2*P+1], KEYS[2*P+2], KEYS[2*P+3], KEYS[2*P+4], KEYS[2*P+5], KEYS[2*P+6], KEYS[2*P+7]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if now < tonumber(ARGV[2]) or now >= tonumber(ARGV[3]) then return {now, 'window'} end
local IDS_TTL, USED_TTL = ARGV[4], ARGV[5]

local function leases(i) return KEYS[i] end
local function reservations(i) return KEYS[P + i] end
local function int(n) return string.format('%d', n) end

-- The provider's reserved tokens: a running total beside the hash (rebuilt once when missing).
local function reservedOf(i)
  local total = redis.call('HGET', TOTALS, PROVIDERS[i])
  if total then return tonumber(total) end
  local sum = 0
  for _, tokens in ipairs(redis.call('HVALS', reservations(i))) do sum = sum + tonumber(tokens) end
  redis.call('HSET', TOTALS, PROVIDERS[i], int(sum))
  return sum
end

-- Sets (or with nil, removes) a reservation's remaining tokens and moves the total with it.
local function setRemaining(i, id, value)
  reservedOf(i)
  local old = tonumber(redis.call('HGET', reservations(i), id) or '0')
  if value then redis.call('HSET', reservations(i), id, int(value)) else redis.call('HDEL', reservations(i), id) end
  local delta = (value or 0) - old
  if delta ~= 0 then redis.call('HINCRBY', TOTALS, PROVIDERS[i], int(delta)) end
end

-- Leases that ran out (expiry <= now) give back their slot and tokens; the provider is remembered
-- so that a late settle still counts its usage in the right place.
local function sweep()
  local count = 0
  for i = 1, P do
    local due = redis.call('ZRANGEBYSCORE', leases(i), '-inf', now)
    for _, id in ipairs(due) do
      setRemaining(i, id, nil)
      redis.call('HSET', EXPIRED, id, i)
      count = count + 1
    end
    if #due > 0 then redis.call('ZREMRANGEBYSCORE', leases(i), '-inf', now) end
  end
  if count > 0 then redis.call('PEXPIRE', EXPIRED, IDS_TTL) end
  return count
end

local function findLive(id)
  for i = 1, P do
    local expiresAt = redis.call('ZSCORE', leases(i), id)
    if expiresAt then return i, tonumber(expiresAt) end
  end
  return nil, nil
end

local function settledOf(id)
  return redis.call('HGET', SETTLED, id) or redis.call('HGET', SETTLED_PREV, id)
end


local function usedOf(i)
  return tonumber(redis.call('HGET', USED, PROVIDERS[i]) or '0')
end

-- Usage recorded for a reservation before its settle, and the tokens granted to it (nil: never
-- recorded or topped up, so the reservations hash still holds the grant).
local function recordedOf(id)
  local v = redis.call('HGET', RECORDED, id)
  if not v then return 0, nil end
  local u, t = string.match(v, '^(%d+):(%d+)$')
  return tonumber(u), tonumber(t)
end

-- Counts usage after the reservation's own books changed; what lies beyond the limit is overrun.
local function countUsage(i, delta, dailyLimit)
  if delta <= 0 then return end
  local used = redis.call('HINCRBY', USED, PROVIDERS[i], int(delta))
  local overrun = tonumber(redis.call('HGET', USED, PROVIDERS[i] .. ':overrun') or '0')
  local excess = used + reservedOf(i) - dailyLimit - overrun
  if excess > 0 then redis.call('HINCRBY', USED, PROVIDERS[i] .. ':overrun', int(excess)) end
  redis.call('PEXPIRE', USED, USED_TTL)
end

local function expiredOf(id)
  local e = redis.call('HGET', EXPIRED, id) or redis.call('HGET', EXPIRED_PREV, id)
  if e then return tonumber(e) end
  return nil
end

local function expireOne(i, id)
  redis.call('ZREM', leases(i), id)
  setRemaining(i, id, nil)
  redis.call('HSET', EXPIRED, id, i)
  redis.call('PEXPIRE', EXPIRED, IDS_TTL)
end
`;

/** ARGV[6..]: provider#, sessionId, tokens, leaseMs, dailyLimit, maxConcurrent. */
const RESERVE = `
sweep()
local p, id, tokens, leaseMs = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local dailyLimit, maxConcurrent = tonumber(ARGV[10]), tonumber(ARGV[11])
if findLive(id) then return {now, 'invalid', 'duplicate-session'} end
if settledOf(id) then return {now, 'invalid', 'already-settled'} end
if dailyLimit == 0 or maxConcurrent == 0 then return {now, 'refused', 'no-provider', -1} end
if redis.call('ZCARD', leases(p)) >= maxConcurrent then
  local first = redis.call('ZRANGE', leases(p), 0, 0, 'WITHSCORES')
  return {now, 'refused', 'concurrency-limit', math.max(0, tonumber(first[2]) - now)}
end
if usedOf(p) + reservedOf(p) + tokens > dailyLimit then
  local retry = -1
  if tokens <= dailyLimit then retry = tonumber(ARGV[3]) - now end
  return {now, 'refused', 'quota-exhausted', retry}
end
local expiresAt = now + leaseMs
redis.call('ZADD', leases(p), expiresAt, id)
-- A new reservation (not live, checked above): its remaining tokens are all new to the total.
redis.call('HSET', reservations(p), id, ARGV[8])
redis.call('HINCRBY', TOTALS, PROVIDERS[p], ARGV[8])
return {now, 'reserved', expiresAt}
`;

/** ARGV[6..]: sessionId, usedTokens, provider# given by the caller or 0, then each provider's dailyLimit. */
const SETTLE = `
local id, used, given = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local prior = settledOf(id)
if prior then
  local p, u, r = string.match(prior, '^(%d+):(%d+):(%d+)$')
  p = tonumber(p)
  if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  return {now, 'settled', p, tonumber(u), tonumber(r)}
end
local p, expiresAt = findLive(id)
local returned = 0
local counted, granted = recordedOf(id)
if p then
  if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  granted = granted or tonumber(redis.call('HGET', reservations(p), id))
  if expiresAt > now then returned = math.max(0, granted - math.max(used, counted)) end
  redis.call('ZREM', leases(p), id)
  setRemaining(p, id, nil)
else
  p = expiredOf(id)
  if p then
    if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  elseif given ~= 0 then
    p = given
  else
    return {now, 'invalid', 'unknown-session'}
  end
end
local final = math.max(used, counted)
redis.call('HDEL', RECORDED, id)
countUsage(p, final - counted, tonumber(ARGV[8 + p]))
redis.call('HSET', SETTLED, id, p .. ':' .. int(final) .. ':' .. int(returned))
redis.call('PEXPIRE', SETTLED, IDS_TTL)
return {now, 'settled', p, final, returned}
`;

/**
 * ARGV[6..]: sessionId, usedTokens (so far), addTokens, provider# given by the caller or 0, then
 * each provider's dailyLimit, then each provider's maxConcurrent.
 */
const RECORD = `
sweep()
local id, usedNow, add, given = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local function limitOf(i) return tonumber(ARGV[9 + i]) end
local function slotsOf(i) return tonumber(ARGV[9 + P + i]) end
local prior = settledOf(id)
if prior then
  local p, u = string.match(prior, '^(%d+):(%d+):')
  p = tonumber(p)
  if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  return {now, 'gone', p, tonumber(u)}
end
local p = findLive(id)
local u, t = recordedOf(id)
if not p then
  p = expiredOf(id)
  if p then
    if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  elseif given ~= 0 then
    p = given
    redis.call('HSET', EXPIRED, id, p)
    redis.call('PEXPIRE', EXPIRED, IDS_TTL)
  else
    return {now, 'invalid', 'unknown-session'}
  end
  if usedNow > u then
    redis.call('HSET', RECORDED, id, int(usedNow) .. ':0')
    redis.call('PEXPIRE', RECORDED, IDS_TTL)
    countUsage(p, usedNow - u, limitOf(p))
    u = usedNow
  end
  return {now, 'gone', p, u}
end
if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
t = t or tonumber(redis.call('HGET', reservations(p), id))
if usedNow > u then
  local delta = usedNow - u
  u = usedNow
  setRemaining(p, id, math.max(0, t - u))
  redis.call('HSET', RECORDED, id, int(u) .. ':' .. int(t))
  redis.call('PEXPIRE', RECORDED, IDS_TTL)
  countUsage(p, delta, limitOf(p))
end
if add > 0 then
  if limitOf(p) == 0 or slotsOf(p) == 0 then return {now, 'refused', p, u, t, 'no-provider', -1} end
  local grows = math.max(0, t + add - u) - math.max(0, t - u)
  if usedOf(p) + reservedOf(p) + grows > limitOf(p) then
    local retry = -1
    if add <= limitOf(p) then retry = tonumber(ARGV[3]) - now end
    return {now, 'refused', p, u, t, 'quota-exhausted', retry}
  end
  t = t + add
  setRemaining(p, id, math.max(0, t - u))
  redis.call('HSET', RECORDED, id, int(u) .. ':' .. int(t))
  redis.call('PEXPIRE', RECORDED, IDS_TTL)
end
return {now, 'recorded', p, u, t}
`;

/** ARGV[6..]: sessionId, leaseMs. A lease that already ran out is expired, not renewed. */
const RENEW = `
local id, leaseMs = ARGV[6], tonumber(ARGV[7])
local p, expiresAt = findLive(id)
if not p then return {now, 'renewed', 0} end
if expiresAt <= now then
  expireOne(p, id)
  return {now, 'renewed', 0}
end
redis.call('ZADD', leases(p), 'XX', now + leaseMs, id)
return {now, 'renewed', 1}
`;

const SWEEP = `
return {now, 'swept', sweep()}
`;

const SNAPSHOT = `
sweep()
local reply = {now, 'snapshot'}
for i = 1, P do
  table.insert(reply, usedOf(i))
  table.insert(reply, reservedOf(i))
  table.insert(reply, redis.call('ZCARD', leases(i)))
  table.insert(reply, tonumber(redis.call('HGET', USED, PROVIDERS[i] .. ':overrun') or '0'))
end
return reply
`;

export interface LedgerScript {
  readonly name: string;
  readonly lua: string;
  /** SHA1 of `lua`, for EVALSHA. */
  readonly sha: string;
}

function script(name: string, body: string): LedgerScript {
  const lua = `-- agentvisor quota ledger: ${name}\n${PRELUDE}${body}`;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const LEDGER_SCRIPTS = {
  reserve: script('reserve', RESERVE),
  settle: script('settle', SETTLE),
  record: script('record', RECORD),
  renew: script('renew', RENEW),
  sweep: script('sweep', SWEEP),
  snapshot: script('snapshot', SNAPSHOT),
} as const;

export type LedgerScriptName = keyof typeof LEDGER_SCRIPTS;
