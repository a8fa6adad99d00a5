-- Deletes each lock of KEYS that still holds the token ARGV[1] (one that expired and was taken by
-- another holder is left alone). Returns how many were deleted.
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call("GET", key) == ARGV[1] then
    released = released + redis.call("DEL", key)
  end
end
return released
