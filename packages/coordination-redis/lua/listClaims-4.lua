--[[
  The claims in a torrent, optionally without one worker's (end-game: a worker asks for the
  pieces others hold). Costs the torrent's claims and held pieces, not its pieces. The holders
  hash also names the writers of held verified pieces; those are not claims and are left out.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders
  ARGV[1] '1' to leave out ARGV[2]'s claims, '0' for every claim   ARGV[2] workerId
  Returns { CODE.ok, piece, attempt, piece, attempt, ... }, or { CODE.UNKNOWN_TORRENT }.
  Events: none.
]]
-- @include "pieceTable"
if pieceCount() == nil then return { CODE.UNKNOWN_TORRENT } end
local exclude = ARGV[1] == '1'
local reply = { CODE.ok }
local holders = redis.call('HGETALL', K.holders)
for j = 1, #holders, 2 do
  local i = tonumber(holders[j])
  if (not exclude or holders[j + 1] ~= ARGV[2]) and stateOf(i) == STATE.claimed then
    reply[#reply + 1] = i
    reply[#reply + 1] = attemptOf(i)
  end
end
return reply
