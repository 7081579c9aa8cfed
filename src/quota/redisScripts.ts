import { PROVIDER_IDS } from '../../machines/providers';
import { EPILOGUE, PRELUDE, ledgerScript } from './redisPrelude';
import type { LedgerScript } from './redisPrelude';

/**
 * The Redis ledger's Lua scripts (key layout 2, redisLayout.ts): one script per operation, so each
 * operation is atomic on the server (no check-then-act across round trips). They keep the same
 * books and rules as ledgerState.ts.
 *
 * Every script gets the KEYS of `layoutKeys` and the same leading ARGV:
 *   ARGV[1] now in epoch ms, or '' to read the server's clock (TIME)
 *   ARGV[2] start of the window the caller computed, ARGV[3] its end (the next reset)
 *   ARGV[4] TTL (ms) of the settled/expired hashes, ARGV[5] TTL (ms) of the used hash
 * Every reply starts with the `now` the script used. `{now, 'window'}`: `now` lies outside the
 * window the caller computed (its clock and the server's disagree across a reset), so the caller
 * recomputes the window from that `now` and runs the script again. `{now, 'layout', marker}`: the
 * books carry no layout-2 marker (`''`: run the migration, then the script again) or another one.
 * Both are answered before anything is read or written.
 *
 * Admission reads the reserved total from the books hash and the slots in use from ZCARD, so its
 * cost does not grow with the number of live leases; expired leases are swept by ZRANGEBYSCORE,
 * which touches only those that ran out. Provider numbers (provider#) are 1-based positions in
 * PROVIDER_IDS. Lua numbers are doubles: every count the ledger accepts stays far below 2^53.
 */

/** The fields SNAPSHOT reads from this window's used hash: each provider's used and overrun. */
const USED_FIELDS = PROVIDER_IDS.map((p) => `'${p}', '${p}:overrun'`).join(', ');

/**
 * ARGV[6..5+2P]: each provider's dailyLimit and maxConcurrent; then 4 per reservation, decided in
 * order as if each were alone: provider#, sessionId, tokens, leaseMs. The reply holds two entries
 * per reservation: 'reserved' and its expiry, or the refusal and its retryAfterMs (-1: none), or
 * 'duplicate-session' / 'already-settled' and 0. Whatever the number of reservations, the script
 * reads the session ids with one HMGET per hash and writes the leases with one HSET and one ZADD
 * per provider, so a reservation costs no Redis call of its own.
 */
const RESERVE = `
local function main()
  sweep()
  local used = redis.call('HMGET', USED, ${PROVIDER_IDS.map((p) => `'${p}'`).join(', ')})
  local ids = {}
  for at = 7 + 2 * P, #ARGV, 4 do ids[#ids + 1] = ARGV[at] end
  local live = redis.call('HMGET', LEASES, unpack(ids))
  local settled = redis.call('HMGET', SETTLED, unpack(ids))
  local settledBefore = redis.call('HMGET', SETTLED_PREV, unpack(ids))
  local taken, leases, expiries, active = {}, {}, {}, {}
  local reply = {now, 'reserved'}
  for k = 1, #ids do
    local at = 2 + 2 * P + 4 * k
    local p, id, tokens, leaseMs = tonumber(ARGV[at]), ids[k], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    local dailyLimit, maxConcurrent = tonumber(ARGV[4 + 2 * p]), tonumber(ARGV[5 + 2 * p])
    local outcome, value = 'reserved', 0
    if live[k] or taken[id] then
      outcome = 'duplicate-session'
    elseif settled[k] or settledBefore[k] then
      outcome = 'already-settled'
    elseif dailyLimit == 0 or maxConcurrent == 0 then
      outcome, value = 'no-provider', -1
    else
      active[p] = active[p] or redis.call('ZCARD', expiry(p))
      if active[p] >= maxConcurrent then
        -- The earliest expiry: in the set, or among this script's own leases (a set written at the end).
        local first = redis.call('ZRANGE', expiry(p), 0, 0, 'WITHSCORES')
        local earliest = tonumber(first[2])
        for e = 1, #(expiries[p] or {}), 2 do earliest = math.min(earliest or expiries[p][e], expiries[p][e]) end
        outcome, value = 'concurrency-limit', math.max(0, earliest - now)
      elseif tonumber(used[p] or '0') + reserved[p] + tokens > dailyLimit then
        outcome, value = 'quota-exhausted', -1
        if tokens <= dailyLimit then value = tonumber(ARGV[3]) - now end
      else
        value = now + leaseMs
        taken[id] = true
        leases[#leases + 1] = id
        leases[#leases + 1] = p .. ':' .. ARGV[at + 2] .. ':0'
        expiries[p] = expiries[p] or {}
        table.insert(expiries[p], value)
        table.insert(expiries[p], id)
        active[p] = active[p] + 1
        addReserved(p, tokens)
      end
    end
    reply[#reply + 1] = outcome
    reply[#reply + 1] = value
  end
  if #leases > 0 then redis.call('HSET', LEASES, unpack(leases)) end
  for p, members in pairs(expiries) do redis.call('ZADD', expiry(p), unpack(members)) end
  return reply
end
`;

/** ARGV[6..]: sessionId, usedTokens, provider# given by the caller or 0, then each provider's dailyLimit. */
const SETTLE = `
local function main()
  local id, used, given = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
  local prior = settledOf(id)
  if prior then
    local p, u, r = string.match(prior, '^(%d+):(%d+):(%d+)$')
    p = tonumber(p)
    if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
    return {now, 'settled', p, tonumber(u), tonumber(r)}
  end
  local p, granted, counted = leaseOf(id)
  local returned = 0
  if p then
    if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
    if tonumber(redis.call('ZSCORE', expiry(p), id) or '0') > now then returned = remaining(granted, math.max(used, counted)) end
    redis.call('HDEL', LEASES, id)
    redis.call('ZREM', expiry(p), id)
    addReserved(p, -remaining(granted, counted))
  else
    p, counted = expiredOf(id)
    if p then
      if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
    elseif given ~= 0 then
      p, counted = given, 0
    else
      return {now, 'invalid', 'unknown-session'}
    end
  end
  local final = math.max(used, counted)
  countUsage(p, final - counted, tonumber(ARGV[8 + p]))
  redis.call('HSET', SETTLED, id, p .. ':' .. int(final) .. ':' .. int(returned))
  redis.call('PEXPIRE', SETTLED, IDS_TTL)
  return {now, 'settled', p, final, returned}
end
`;

/**
 * ARGV[6..]: sessionId, usedTokens (so far), addTokens, provider# given by the caller or 0, then
 * each provider's dailyLimit, then each provider's maxConcurrent.
 */
const RECORD = `
local function main()
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
  local p, granted, u = leaseOf(id)
  if not p then
    local where
    p, u, where = expiredOf(id)
    if p then
      if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
    elseif given ~= 0 then
      p, u, where = given, 0, EXPIRED
      redis.call('HSET', EXPIRED, id, p .. ':0')
      redis.call('PEXPIRE', EXPIRED, IDS_TTL)
    else
      return {now, 'invalid', 'unknown-session'}
    end
    if usedNow > u then
      redis.call('HSET', where, id, p .. ':' .. int(usedNow))
      redis.call('PEXPIRE', where, IDS_TTL)
      countUsage(p, usedNow - u, limitOf(p))
      u = usedNow
    end
    return {now, 'gone', p, u}
  end
  if given ~= 0 and given ~= p then return {now, 'invalid', 'provider-mismatch', p} end
  if usedNow > u then
    local delta = usedNow - u
    addReserved(p, remaining(granted, usedNow) - remaining(granted, u))
    u = usedNow
    writeLease(p, id, granted, u)
    countUsage(p, delta, limitOf(p))
  end
  if add > 0 then
    if limitOf(p) == 0 or slotsOf(p) == 0 then return {now, 'refused', p, u, granted, 'no-provider', -1} end
    local grows = remaining(granted + add, u) - remaining(granted, u)
    if usedOf(p) + reserved[p] + grows > limitOf(p) then
      local retry = -1
      if add <= limitOf(p) then retry = tonumber(ARGV[3]) - now end
      return {now, 'refused', p, u, granted, 'quota-exhausted', retry}
    end
    granted = granted + add
    addReserved(p, grows)
    writeLease(p, id, granted, u)
  end
  return {now, 'recorded', p, u, granted}
end
`;

/** ARGV[6..]: sessionId, leaseMs. A lease that already ran out is expired, not renewed. */
const RENEW = `
local function main()
  local id, leaseMs = ARGV[6], tonumber(ARGV[7])
  local p, granted, used = leaseOf(id)
  if not p then return {now, 'renewed', 0} end
  if tonumber(redis.call('ZSCORE', expiry(p), id) or '0') <= now then
    forget(p, id, granted, used)
    redis.call('ZREM', expiry(p), id)
    redis.call('PEXPIRE', EXPIRED, IDS_TTL)
    return {now, 'renewed', 0}
  end
  redis.call('ZADD', expiry(p), 'XX', now + leaseMs, id)
  return {now, 'renewed', 1}
end
`;

const SWEEP = `
local function main() return {now, 'swept', sweep()} end
`;

/** Per provider: used, reserved, active, overrun. */
const SNAPSHOT = `
local function main()
  sweep()
  local used = redis.call('HMGET', USED, ${USED_FIELDS})
  local reply = {now, 'snapshot'}
  for i = 1, P do
    table.insert(reply, tonumber(used[2 * i - 1] or '0'))
    table.insert(reply, reserved[i])
    table.insert(reply, redis.call('ZCARD', expiry(i)))
    table.insert(reply, tonumber(used[2 * i] or '0'))
  end
  return reply
end
`;

const operation = (name: string, body: string): LedgerScript => ledgerScript(name, `${PRELUDE}${body}${EPILOGUE}`);

/**
 * One script per ledger operation.
 *
 * @example
 * await client.evalsha(LEDGER_SCRIPTS.sweep.sha, keys.length, ...keys, '', window.start, window.nextResetAt, idsTtl, usedTtl);
 */
export const LEDGER_SCRIPTS = {
  reserve: operation('reserve', RESERVE),
  settle: operation('settle', SETTLE),
  record: operation('record', RECORD),
  renew: operation('renew', RENEW),
  sweep: operation('sweep', SWEEP),
  snapshot: operation('snapshot', SNAPSHOT),
} as const;

export type { LedgerScript };
export type LedgerScriptName = keyof typeof LEDGER_SCRIPTS;
