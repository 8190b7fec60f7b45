--[[
  A storage-writer takes verified pieces under its lease (TRANSITION.hold): their bytes wait in
  its memory for the rest of their part, so if its lease lapses they go back to missing as
  claims do. Each piece must be verified at the given attempt; it keeps its state and count,
  and its holder becomes the writer (taken over from another holder, if any). Every piece is
  checked before any is held, so an error leaves nothing held.

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] leases
  ARGV[1] workerId   ARGV[2..] piece, attempt, piece, attempt, ...
  Returns { CODE.ok, result, result, ... } with one CODE.ok | stale_attempt | wrong_state per
          piece in order, { CODE.UNKNOWN_TORRENT }, or
          { CODE.PIECE_OUT_OF_RANGE, pieceCount, position of the first bad piece (0-based) }.
  Events: none.

  A writer that holds without a lease gets one that has already ended (-inf), as with
  claimPieces, so the next expireWorkers frees what it holds; a heartbeat replaces it.
]]
-- @include "movePiece"
local worker = ARGV[1]
local count = pieceCount()
if count == nil then return { CODE.UNKNOWN_TORRENT } end
for j = 2, #ARGV, 2 do
  if pieceIndex(ARGV[j], count) == nil then return { CODE.PIECE_OUT_OF_RANGE, count, (j - 2) / 2 } end
end
local reply = { CODE.ok }
local held = 0
for j = 2, #ARGV, 2 do
  local i = pieceIndex(ARGV[j], count)
  local from = stateOf(i)
  if attemptOf(i) ~= tonumber(ARGV[j + 1]) then
    reply[#reply + 1] = CODE.stale_attempt
  elseif not TRANSITION.hold.from[from] then
    reply[#reply + 1] = CODE.wrong_state
  else
    movePiece(i, from, TRANSITION.hold.to, worker)
    reply[#reply + 1] = CODE.ok
    held = held + 1
  end
end
if held > 0 then redis.call('ZADD', KEYS[6], 'NX', '-inf', worker) end
return reply
