--[[
  A worker gives up peers it owns: each becomes free for any worker, or is forgotten when the
  caller asks (a failed dial, an incoming connection's address) or the peer is banned. Peers it
  does not own are left alone.

  KEYS[1] counts   KEYS[2] banned   KEYS[3] peer owners   KEYS[4] free peers
  KEYS[5] owned-peer-set prefix
  ARGV[1] workerId   ARGV[2] '1' to forget the peers, '0' to free them   ARGV[3..] peers
  Returns { CODE.ok, peers released }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
-- @include "peerRegistry"
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
P.banned, P.owners, P.free, P.owned = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local worker, forget = ARGV[1], ARGV[2] == '1'
local released = 0
for j = 3, #ARGV do
  if redis.call('HGET', P.owners, ARGV[j]) == worker then
    disownPeer(ARGV[j], worker, forget)
    released = released + 1
  end
end
return { CODE.ok, released }
