--[[
  Every block of the piece's current attempt is in staging: claimed -> staged (TRANSITION.stage).
  Any worker may stage the current attempt (end-game duplicates race; the first one wins, the
  others get wrong_state), so the worker is not checked. The staging worker holds the piece
  under its lease until the verifier moves it on: if it dies before its piece_staged message
  leaves, its lapsed lease brings the piece back to missing.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] leases
  ARGV[1] workerId   ARGV[2] piece   ARGV[3] attempt
  Returns { CODE.ok | stale_attempt | wrong_state }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none; the caller publishes piece_staged when this returns ok.

  A worker that stages without a lease gets one that has already ended (-inf), as with
  claimPieces, so the next expireWorkers frees the piece; a heartbeat replaces it.
]]
-- @include "applyTransition"
local reply = applyTransition('stage', ARGV[2], ARGV[3], nil, ARGV[1])
if reply[1] == CODE.ok then redis.call('ZADD', KEYS[6], 'NX', '-inf', ARGV[1]) end
return reply
