-- A `campaign:progress` was emitted with the counts read at ARGV[1] (ms): the campaign's unannounced
-- mark (KEYS[1], member ARGV[2]) goes, unless a change after that read moved it on (it stays for
-- the next announcement). Returns 1 when removed.
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) <= tonumber(ARGV[1]) then
  return redis.call('ZREM', KEYS[1], ARGV[2])
end
return 0
