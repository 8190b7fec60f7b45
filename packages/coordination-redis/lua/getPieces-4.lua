--[[
  Every piece at once, for snapshots, resume and invariant checks: O(pieces) bytes, read as
  two strings and the holders of the claimed pieces.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders
  ARGV none.
  Returns { CODE.ok, states string, attempts string or nil, { piece, holder, piece, holder, ... } },
          or { CODE.UNKNOWN_TORRENT }. The attempts string is shorter than 4 bytes per piece
          (or nil) when the last pieces were never claimed: their attempts are 0.
  Events: none.
]]
-- @include "pieceTable"
if pieceCount() == nil then return { CODE.UNKNOWN_TORRENT } end
return { CODE.ok, redis.call('GET', K.states), redis.call('GET', K.attempts), redis.call('HGETALL', K.holders) }
