-- Reserves a recipient in a business portfolio's messaging budget: at most `limit` unique
-- recipients of business-initiated messages in any moving window of `window` ms.
-- KEYS[1]: sorted set, member = recipient, score = the time (ms) their message goes (or went).
-- ARGV: now, window, limit, member, notBefore.
-- Returns { counted, at }: counted 1 = newly counted at `at`; 0 = already counted (free at `at`);
-- -1 = no slot found within the search (at = where the search stopped).
--
-- A slot at t is granted when fewer than `limit` entries lie in (t - window, t + window): every
-- window holding t then holds fewer than `limit` others (exact for sends in time order; for a slot
-- placed between scheduled ones it can only be earlier than it needs). Otherwise t moves just past
-- the entry whose leaving makes room, and the check repeats.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
local t = tonumber(ARGV[5])
if t < now then t = now end

-- Entries that no window from now on can hold.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)

local existing = redis.call('ZSCORE', key, member)
if existing then
  existing = tonumber(existing)
  -- Already counted in the windows around its entry: a message at or after it, within the window, is free.
  if existing <= t and t < existing + window then return { 0, t } end
  -- Already scheduled later: goes with it.
  if existing > t then return { 0, existing } end
  -- Counted long enough ago to be counted again: a new entry replaces it.
  redis.call('ZREM', key, member)
end

for _ = 1, 64 do
  local lo = '(' .. (t - window)
  local hi = '(' .. (t + window)
  local count = redis.call('ZCOUNT', key, lo, hi)
  if count < limit then
    redis.call('ZADD', key, t, member)
    local keep = (t - now) + window + 60000
    if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
    return { 1, t }
  end
  local leaving = redis.call('ZRANGEBYSCORE', key, lo, hi, 'WITHSCORES', 'LIMIT', count - limit, 1)
  t = tonumber(leaving[2]) + window
end
return { -1, t }
