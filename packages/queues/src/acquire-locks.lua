-- Takes every lock of KEYS at once, or none: 0 (and nothing written) when any of them is held,
-- else 1 with each key set to the token ARGV[1] for ARGV[2] milliseconds. All or nothing, so two
-- holders wanting overlapping sets never hold part of each and wait for the rest (no deadlock).
for _, key in ipairs(KEYS) do
  if redis.call("EXISTS", key) == 1 then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call("SET", key, ARGV[1], "PX", ARGV[2])
end
return 1
