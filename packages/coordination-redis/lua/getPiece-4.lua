--[[
  One piece, for handlers deciding whether a message is still current.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders
  ARGV[1] piece
  Returns { CODE.ok, state code, attempt, holder or nil }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none.
]]
-- @include "pieceTable"
local count = pieceCount()
if count == nil then return { CODE.UNKNOWN_TORRENT } end
local i = pieceIndex(ARGV[1], count)
if i == nil then return { CODE.PIECE_OUT_OF_RANGE, count } end
-- HGET's false (no holder) becomes a nil element of the reply, so the reply keeps four elements.
return { CODE.ok, stateOf(i), attemptOf(i), redis.call('HGET', K.holders, i) }
