--[[
  The staged or verified bytes were lost before they were stored: back to missing
  (TRANSITION.unstage), to be downloaded again at a new attempt.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  ARGV[1] piece   ARGV[2] attempt
  Returns { CODE.ok | stale_attempt | wrong_state }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none; the caller publishes piece_failed when this returns ok.
]]
-- @include "applyTransition"
return applyTransition('unstage', ARGV[1], ARGV[2])
