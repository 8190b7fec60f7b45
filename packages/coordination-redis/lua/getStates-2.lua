--[[
  The states string alone, for finding the pieces in one state without moving the attempts.

  KEYS[1] counts   KEYS[2] states
  ARGV none.
  Returns { CODE.ok, states string }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
-- @include "pieceTable"
if pieceCount() == nil then return { CODE.UNKNOWN_TORRENT } end
return { CODE.ok, redis.call('GET', K.states) }
