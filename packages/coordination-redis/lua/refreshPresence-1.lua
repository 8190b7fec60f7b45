--[[
  A peer worker's presence in the cluster, whatever torrents it is in: it counts as live until
  now + ttl, or leaves at once with a ttl of 0. Entries that have lapsed are removed here, so the
  answer is the live peer workers after the call. The key is cluster-wide (no torrent's hash
  tag), and it is the only key this script touches.

  KEYS[1] presence   sorted set workerId -> when its presence ends (ms)
  ARGV[1] workerId   ARGV[2] ttl in ms (0 removes the worker)   ARGV[3] now in ms, or '' for the
  server's clock
  Returns { CODE.ok, live } (live: the peer workers whose presence ends after now).
  Events: none.
]]
-- @include "clock"
local now, ttl = nowMs(ARGV[3]), tonumber(ARGV[2])
if ttl > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
-- A presence that ends at now has ended, as a lease does.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return { CODE.ok, redis.call('ZCARD', KEYS[1]) }
