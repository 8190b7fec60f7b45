--[[
  The one place a piece changes state. The counts, the holders hash and the holders' held sets
  follow the states string here and nowhere else, so they cannot disagree.
]]
-- @include "pieceTable"

-- Moves piece i from state `from` (its current one) to `to`. A piece keeps no holder across a
-- move unless the move names one: `holder` is the claiming worker for a claim, or the writer for
-- a hold (which keeps the state verified). Only claimed and verified pieces can have a holder.
local function movePiece(i, from, to, holder)
  if from ~= to then
    redis.call('SETRANGE', K.states, i, string.char(to))
    redis.call('HINCRBY', K.counts, STATE_NAME[from], -1)
    redis.call('HINCRBY', K.counts, STATE_NAME[to], 1)
  end
  if from == STATE.claimed or from == STATE.verified then
    local before = redis.call('HGET', K.holders, i)
    if before then
      redis.call('SREM', K.held .. before, i)
      redis.call('HDEL', K.holders, i)
    end
  end
  if holder ~= nil then
    redis.call('HSET', K.holders, i, holder)
    redis.call('SADD', K.held .. holder, i)
  end
end
