--[[
  A worker's heartbeat on one torrent: its lease, and so its claims there, last until now + ttl.

  KEYS[1] counts   KEYS[2] leases
  ARGV[1] workerId   ARGV[2] ttl in ms   ARGV[3] now in ms, or '' for the server's clock
  Returns { CODE.ok }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
-- @include "clock"
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
redis.call('ZADD', KEYS[2], nowMs(ARGV[3]) + tonumber(ARGV[2]), ARGV[1])
return { CODE.ok }
