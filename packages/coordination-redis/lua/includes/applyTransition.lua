--[[
  A transition of one piece at one attempt (everything but claim, which takes candidates),
  checked as the memory table checks it: the torrent must exist, the index must be in range,
  the attempt must be the piece's current one, TRANSITION[name].from must allow the piece's state,
  and for a release the caller must hold the claim. `newHolder`, when given, holds the piece
  after the move (a stage: the staging worker).
]]
-- @include "movePiece"

-- Returns a reply table: { CODE } on success or refusal, { UNKNOWN_TORRENT },
-- or { PIECE_OUT_OF_RANGE, pieceCount }.
local function applyTransition(name, pieceText, attemptText, requiredHolder, newHolder)
  local count = pieceCount()
  if count == nil then return { CODE.UNKNOWN_TORRENT } end
  local i = pieceIndex(pieceText, count)
  if i == nil then return { CODE.PIECE_OUT_OF_RANGE, count } end
  if attemptOf(i) ~= tonumber(attemptText) then return { CODE.stale_attempt } end
  local from = stateOf(i)
  if not TRANSITION[name].from[from] then return { CODE.wrong_state } end
  if requiredHolder ~= nil and redis.call('HGET', K.holders, i) ~= requiredHolder then
    return { CODE.not_holder }
  end
  movePiece(i, from, TRANSITION[name].to, newHolder)
  return { CODE.ok }
end
