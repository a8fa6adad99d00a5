-- Takes each lock of KEYS that is free, with the token ARGV[1] for ARGV[2] milliseconds, and returns
-- the keys taken (those held by another holder are left alone). One holder never waits for a lock
-- while holding others (it writes what it took, releases, then asks for the rest): no deadlock, and
-- two holders of overlapping sets both make progress on the parts that do not overlap.
local taken = {}
for _, key in ipairs(KEYS) do
  if redis.call("SET", key, ARGV[1], "NX", "PX", ARGV[2]) then
    taken[#taken + 1] = key
  end
end
return taken
