--[[
  Every banned peer of this torrent.

  KEYS[1] counts   KEYS[2] banned
  ARGV none.
  Returns { CODE.ok, peer, peer, ... }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
local reply = { CODE.ok }
for _, peer in ipairs(redis.call('SMEMBERS', KEYS[2])) do reply[#reply + 1] = peer end
return reply
