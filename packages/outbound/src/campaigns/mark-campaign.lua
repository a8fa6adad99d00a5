-- Counts what happened to a campaign's messages, exactly under Meta's at-least-once, unordered status
-- webhooks: each message keeps one state in a hash (KEYS[2]), and a counter (KEYS[1]) moves only
-- when that state moves forward, so a repeated or late report changes nothing.
-- State of a member (a message id, or `r<index>` for a recipient refused at acceptance): three
-- characters: waiting (q queued, s scheduled, - not waiting), rank (0; 1 sent, 2 delivered, 3 read,
-- 4 replied), terminal (- none, f failed, x suppressed, c cancelled).
-- Counts are cumulative: a rank counts in every rank below it (read counts in sent and delivered).
-- A message reported sent after a cancel counted it (the cancel raced its Graph call) went after all:
-- its cancel is undone.
-- A move also marks the campaign unannounced (KEYS[3], a sorted set: `<clientId>:<campaignId>` scored
-- by the time of its latest change) until a `campaign:progress` carries it: a process that dies
-- between counting and announcing leaves the mark, and a sweep announces it (campaign-progress.ts).
-- KEYS: counts hash, states hash, unannounced set. ARGV: ttl ms, now (ms), the unannounced member,
-- then pairs of (member, event); event: queued, scheduled, sent, delivered, read, replied, failed,
-- suppressed, cancelled. Returns how many moved.
local counts, states, unannounced = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
local levels = { sent = 1, delivered = 2, read = 3, replied = 4 }
local names = { 'sent', 'delivered', 'read', 'replied' }
local moved = 0
for i = 4, #ARGV, 2 do
  local member, ev = ARGV[i], ARGV[i + 1]
  local s = redis.call('HGET', states, member)
  local w, r, t = '-', 0, '-'
  if s then w = string.sub(s, 1, 1); r = tonumber(string.sub(s, 2, 2)); t = string.sub(s, 3, 3) end
  local changed = false
  local function leaveWaiting()
    if w == 'q' then redis.call('HINCRBY', counts, 'queued', -1) end
    if w == 's' then redis.call('HINCRBY', counts, 'scheduled', -1) end
    w = '-'
  end
  if ev == 'queued' or ev == 'scheduled' then
    local nw = ev == 'queued' and 'q' or 's'
    if not s then
      w = nw; redis.call('HINCRBY', counts, ev, 1); changed = true
    elseif w ~= '-' and w ~= nw then
      leaveWaiting(); w = nw; redis.call('HINCRBY', counts, ev, 1); changed = true
    end
  elseif ev == 'failed' then
    if t == '-' then
      leaveWaiting(); t = 'f'; redis.call('HINCRBY', counts, 'failed', 1); changed = true
    end
  elseif ev == 'suppressed' or ev == 'cancelled' then
    if t == '-' and r == 0 then
      leaveWaiting()
      t = ev == 'cancelled' and 'c' or 'x'
      redis.call('HINCRBY', counts, 'suppressed', 1)
      if t == 'c' then redis.call('HINCRBY', counts, 'cancelled', 1) end
      changed = true
    end
  elseif levels[ev] then
    local l = levels[ev]
    if l > r then
      if t == 'c' or t == 'x' then
        redis.call('HINCRBY', counts, 'suppressed', -1)
        if t == 'c' then redis.call('HINCRBY', counts, 'cancelled', -1) end
        t = '-'
      end
      leaveWaiting()
      for k = r + 1, l do redis.call('HINCRBY', counts, names[k], 1) end
      r = l
      changed = true
    end
  end
  if changed then
    redis.call('HSET', states, member, w .. r .. t)
    moved = moved + 1
  end
end
redis.call('PEXPIRE', counts, ttl)
redis.call('PEXPIRE', states, ttl)
if moved > 0 then redis.call('ZADD', unannounced, 'GT', ARGV[2], ARGV[3]) end
return moved
