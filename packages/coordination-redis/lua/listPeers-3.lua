--[[
  Every peer a torrent's registry knows: the owned ones with their owners, then the free ones.
  Costs the registry's size: for snapshots and checks, not for the download path.

  KEYS[1] counts   KEYS[2] peer owners   KEYS[3] free peers
  ARGV none.
  Returns { CODE.ok, { peer, owner, peer, owner, ... }, { free peer, ... } }, or
          { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
return { CODE.ok, redis.call('HGETALL', KEYS[2]), redis.call('SMEMBERS', KEYS[3]) }
