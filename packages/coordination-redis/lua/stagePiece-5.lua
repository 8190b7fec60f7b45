--[[
  Every block of the piece's current attempt is in staging: claimed -> staged (TRANSITION.stage).
  Any worker may stage the current attempt (end-game duplicates race; the first one wins, the
  others get wrong_state), so the worker is not checked.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  ARGV[1] piece   ARGV[2] attempt
  Returns { CODE.ok | stale_attempt | wrong_state }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none; the caller publishes piece_staged when this returns ok.
]]
-- @include "applyTransition"
return applyTransition('stage', ARGV[1], ARGV[2])
