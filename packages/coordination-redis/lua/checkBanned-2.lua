--[[
  Whether a peer is banned in this torrent.

  KEYS[1] counts   KEYS[2] banned
  ARGV[1] peer (ip:port)
  Returns { CODE.ok, 1 if banned else 0 }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
return { CODE.ok, redis.call('SISMEMBER', KEYS[2], ARGV[1]) }
