--[[
  The verifier hashed the staged bytes and they match: staged -> verified (TRANSITION.verify).

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  ARGV[1] piece   ARGV[2] attempt
  Returns { CODE.ok | stale_attempt | wrong_state }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none; the caller publishes piece_verified when this returns ok.

  The holder keys are passed although a staged piece has no holder: which moves are legal comes
  from TRANSITION, and the shared move keeps holders in step whatever that table says.
]]
-- @include "applyTransition"
return applyTransition('verify', ARGV[1], ARGV[2])
