-- Gives back one reservation of a portfolio's budget whose message did not go (refused before the
-- Graph call: opted out, template no longer usable, campaign cancelled): only when the recipient's
-- entry is still the one this reservation wrote (score ARGV[2]); the entry it replaced (ARGV[3], -1:
-- none) is put back, so an earlier message to the same recipient stays counted.
-- KEYS[1]: the budget's sorted set. ARGV: member, reserved score, previous score. Returns 1 when given back.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[3]) >= 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
