-- Cancels a campaign's messages that have not gone: every member still waiting (queued or scheduled,
-- never sent, no terminal state) ends `cancelled` (counted in suppressed and cancelled), and the
-- campaign's flag (KEYS[3]) is set for the outbound workers' check before each send.
-- KEYS: counts hash, states hash, cancelled flag. ARGV: ttl ms. Returns the members cancelled.
local counts, states, flag = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
redis.call('SET', flag, '1', 'PX', ttl)
local all = redis.call('HGETALL', states)
local cancelled = {}
for i = 1, #all, 2 do
  local member, s = all[i], all[i + 1]
  local w, r, t = string.sub(s, 1, 1), string.sub(s, 2, 2), string.sub(s, 3, 3)
  if w ~= '-' and r == '0' and t == '-' then
    if w == 'q' then redis.call('HINCRBY', counts, 'queued', -1) end
    if w == 's' then redis.call('HINCRBY', counts, 'scheduled', -1) end
    redis.call('HINCRBY', counts, 'suppressed', 1)
    redis.call('HINCRBY', counts, 'cancelled', 1)
    redis.call('HSET', states, member, '-0c')
    cancelled[#cancelled + 1] = member
  end
end
redis.call('PEXPIRE', counts, ttl)
redis.call('PEXPIRE', states, ttl)
return cancelled
