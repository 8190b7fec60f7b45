--[[
  The staged bytes failed their hash: staged -> missing (TRANSITION.reject), and every blamed
  peer gets one strike (a peer named twice gets one). A peer whose strikes reach BAN_STRIKES is
  banned for the whole cluster and reported once, when it is banned. A refused rejection
  strikes nobody.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] strikes  KEYS[7] banned
  ARGV[1] piece   ARGV[2] attempt   ARGV[3..] blamed peers (ip:port)
  Returns { CODE.ok, newly banned peer, ... }, { CODE.stale_attempt | wrong_state },
          { CODE.UNKNOWN_TORRENT }, or { CODE.PIECE_OUT_OF_RANGE, pieceCount }.
  Events: none; the caller publishes piece_failed and peer_banned.
]]
-- @include "applyTransition"
local reply = applyTransition('reject', ARGV[1], ARGV[2])
if reply[1] ~= CODE.ok then return reply end
local seen = {}
for j = 3, #ARGV do
  local peer = ARGV[j]
  if not seen[peer] then
    seen[peer] = true
    local strikes = redis.call('HINCRBY', KEYS[6], peer, 1)
    if strikes >= BAN_STRIKES and redis.call('SADD', KEYS[7], peer) == 1 then reply[#reply + 1] = peer end
  end
end
return reply
