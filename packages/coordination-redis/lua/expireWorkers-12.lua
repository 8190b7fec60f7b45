--[[
  Returns every piece held by the workers whose lease on this torrent has ended (including
  workers that claimed or held without ever sending a heartbeat, whose lease is -inf) to
  missing, the way TRANSITION.release does: their claims, and the verified pieces writers held.
  Frees the peers they owned, drops them from the peer workers, drops their availability
  vectors and forgets those leases. Costs the lapsed workers and the pieces and peers they held,
  not the torrent's.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] leases   KEYS[7] banned   KEYS[8] peer owners   KEYS[9] free peers
  KEYS[10] owned-peer-set prefix   KEYS[11] peer workers   KEYS[12] availability
  ARGV[1] now in ms, or '' for the server's clock
  Returns { CODE.ok, pieces moved, piece, attempt, piece, attempt, ... }, or { CODE.UNKNOWN_TORRENT }.
  Events: none; the caller may announce the pieces as missing again (piece_failed).

  A lease that ends exactly now has ended, as in the memory table.
]]
-- @include "movePiece"
-- @include "clock"
-- @include "peerRegistry"
if redis.call('EXISTS', K.counts) == 0 then return { CODE.UNKNOWN_TORRENT } end
P.banned, P.owners, P.free, P.owned = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', nowMs(ARGV[1]))
local reply = { CODE.ok, 0 }
for _, worker in ipairs(lapsed) do
  local held = K.held .. worker
  for _, piece in ipairs(redis.call('SMEMBERS', held)) do
    local i = tonumber(piece)
    -- movePiece keeps held sets and holders in step; checking the holder anyway means a
    -- damaged table is never damaged further by moving a piece this worker does not hold.
    local from = stateOf(i)
    if TRANSITION.release.from[from] and redis.call('HGET', K.holders, i) == worker then
      movePiece(i, from, TRANSITION.release.to)
      reply[2] = reply[2] + 1
      reply[#reply + 1] = i
      reply[#reply + 1] = attemptOf(i)
    end
  end
  redis.call('DEL', held)
  -- The same care for peers: only those the owners hash still gives this worker are freed.
  for _, peer in ipairs(redis.call('SMEMBERS', P.owned .. worker)) do
    if redis.call('HGET', P.owners, peer) == worker then disownPeer(peer, worker, false) end
  end
  redis.call('DEL', P.owned .. worker)
  redis.call('SREM', KEYS[11], worker)
  redis.call('HDEL', KEYS[12], worker)
  redis.call('ZREM', KEYS[6], worker)
end
return reply
