-- Gives back a recipient's place in a portfolio's budget when the message it was counted for did not
-- go (Meta refused it for that recipient): only an entry at or before ARGV[2] (a later one is another
-- message's reservation). KEYS[1]: the budget's sorted set. ARGV: member, latest score. Returns 1 when removed.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
