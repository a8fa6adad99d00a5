-- GCRA slot reservation over every key given (a business number, a recipient), with Redis's clock.
-- KEYS[i] = a key's theoretical arrival time; ARGV[2i-1] = its interval (ms), ARGV[2i] = its burst
-- tolerance (ms). Returns {wait in ms, slot time in ms since epoch}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = now
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tau = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  if tat - tau > slot then slot = tat - tau end
end
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < slot then tat = slot end
  tat = tat + interval
  redis.call('SET', KEYS[i], tostring(tat), 'PX', math.ceil(tat - now) + 60000)
end
return {slot - now, slot}
