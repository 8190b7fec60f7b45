--[[
  The one place a piece changes state. The counts, the holders hash and the holders' held sets
  follow the states string here and nowhere else, so they cannot disagree.
]]
-- @include "pieceTable"

-- Moves piece i from state `from` (its current one) to `to`; `holder` is the claiming worker
-- when `to` is claimed.
local function movePiece(i, from, to, holder)
  redis.call('SETRANGE', K.states, i, string.char(to))
  redis.call('HINCRBY', K.counts, STATE_NAME[from], -1)
  redis.call('HINCRBY', K.counts, STATE_NAME[to], 1)
  if from == STATE.claimed then
    local before = redis.call('HGET', K.holders, i)
    if before then redis.call('SREM', K.held .. before, i) end
    redis.call('HDEL', K.holders, i)
  end
  if to == STATE.claimed then
    redis.call('HSET', K.holders, i, holder)
    redis.call('SADD', K.held .. holder, i)
  end
end
