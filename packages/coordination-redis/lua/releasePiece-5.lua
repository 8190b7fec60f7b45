--[[
  A holder gives its piece back: a worker its claim, a writer a verified piece it held; either
  goes to missing (TRANSITION.release). Only the holder, at the piece's current attempt, may.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  ARGV[1] workerId   ARGV[2] piece   ARGV[3] attempt
  Returns { CODE.ok | stale_attempt | wrong_state | not_holder }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none.
]]
-- @include "applyTransition"
return applyTransition('release', ARGV[2], ARGV[3], ARGV[1])
