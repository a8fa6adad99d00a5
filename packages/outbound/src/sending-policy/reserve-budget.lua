-- Reserves a recipient in a business portfolio's messaging budget: at most `limit` unique
-- recipients of business-initiated messages in any moving window of `window` ms.
-- KEYS[1]: sorted set, member = recipient, score = the time (ms) their message goes (or went).
-- ARGV: now, window, limit, member, notBefore, confirm (1: the message goes now), margin.
-- Returns { counted, at, previous }: counted 1 = newly counted at `at`; 0 = already counted (free at `at`);
-- -1 = no slot found within the search (at = where the search stopped). `previous`: the score of the
-- recipient's entry this reservation replaced (-1: none), so that a refused send can put it back.
--
-- A slot at t is granted when fewer than `limit` entries lie in (t - window, t + window): every
-- window holding t then holds fewer than `limit` others (exact for sends in time order; for a slot
-- placed between scheduled ones it can only be earlier than it needs). Otherwise t moves just past
-- the entry whose leaving makes room, and the check repeats. `margin` widens the window on both
-- sides: a message reaches Meta a little after its slot, and Meta's clock is not ours.
--
-- A reservation is made when a send is accepted; `confirm` is the outbound worker's, just before the
-- Graph call: the recipient's entry moves to the moment the message really goes (when there is room
-- then; else a later slot is returned and the send waits again), so the budget counts sends at their
-- real times, and a second message to a recipient counted earlier counts them again from now (as Meta's
-- moving window does). A confirmation checks the window ending now only (what has gone or is due):
-- reservations placed later are checked again when they, in turn, are confirmed.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
local t = tonumber(ARGV[5])
local confirm = ARGV[6] == '1'
local margin = tonumber(ARGV[7] or '0')
if t < now then t = now end
window = window + margin

-- Entries that no window from now on can hold.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)

local existing = redis.call('ZSCORE', key, member)
local previous = -1
if existing then
  existing = tonumber(existing)
  -- Already counted in the windows around its entry: a message at or after it, within the window, is free.
  if existing <= t and t < existing + window and not confirm then return { 0, t } end
  -- Already scheduled later: goes with it.
  if existing > t then return { 0, existing } end
  -- Confirmed now, or counted long enough ago to be counted again: a new entry replaces it.
  previous = existing
  redis.call('ZREM', key, member)
end

for _ = 1, 64 do
  local lo = '(' .. (t - window)
  -- A confirmation looks back only: later reservations are checked again at their own confirmation.
  local hi = confirm and tostring(t) or ('(' .. (t + window))
  local count = redis.call('ZCOUNT', key, lo, hi)
  if count < limit then
    redis.call('ZADD', key, t, member)
    local keep = (t - now) + window + 60000
    if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
    return { 1, t, previous }
  end
  -- The (count - limit)-th entry of the window, found by rank (O(log n): ZRANGEBYSCORE's LIMIT offset
  -- walks the offset, which made a 10,000-recipient campaign's reservations quadratic): the window's
  -- entries start at the rank of the first entry after t - window.
  local first = redis.call('ZCOUNT', key, '-inf', t - window)
  local leaving = redis.call('ZRANGE', key, first + count - limit, first + count - limit, 'WITHSCORES')
  t = tonumber(leaving[2]) + window
end
if previous >= 0 then redis.call('ZADD', key, previous, member) end
return { -1, t, -1 }
