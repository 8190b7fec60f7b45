--[[
  Claims up to `max` of the candidates for a worker, in the given order, skipping pieces that
  TRANSITION.claim does not allow (not missing). Each claim raises the piece's attempt. Every
  candidate is checked before any is taken, so an error leaves no claim behind.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] leases
  ARGV[1] workerId   ARGV[2] max (an integer >= 0)   ARGV[3..] candidate piece indices
  Returns { CODE.ok, piece, attempt, piece, attempt, ... }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount, position of the first bad candidate (0-based) }.
  Events: none.

  A worker that claims without a lease gets one that has already ended (-inf), so the next
  expireWorkers returns its claims, as the contract asks; a heartbeat replaces it. An existing
  lease is kept as it is.
]]
-- @include "movePiece"
local worker, max = ARGV[1], tonumber(ARGV[2])
local count = pieceCount()
if count == nil then return { CODE.UNKNOWN_TORRENT } end
for j = 3, #ARGV do
  if pieceIndex(ARGV[j], count) == nil then return { CODE.PIECE_OUT_OF_RANGE, count, j - 3 } end
end
local reply = { CODE.ok }
local taken = 0
for j = 3, #ARGV do
  if taken >= max then break end
  local i = pieceIndex(ARGV[j], count)
  local from = stateOf(i)
  if TRANSITION.claim.from[from] then
    local attempt = redis.call('BITFIELD', K.attempts, 'INCRBY', 'u32', '#' .. i, 1)[1]
    movePiece(i, from, TRANSITION.claim.to, worker)
    reply[#reply + 1] = i
    reply[#reply + 1] = attempt
    taken = taken + 1
  end
end
if taken > 0 then redis.call('ZADD', KEYS[6], 'NX', '-inf', worker) end
return reply
