--[[
  The keys every piece script takes first, in this order (built by torrentKeys in
  @shoal/coordination), and reads of one piece.

  KEYS[1] counts   hash state name -> pieces in that state; exists exactly while the torrent does
  KEYS[2] states   string, one byte per piece: its state code (STATE)
  KEYS[3] attempts string, one unsigned 32-bit big-endian attempt number per piece (BITFIELD u32)
  KEYS[4] holders  hash piece -> workerId, while claimed or held (a verified piece a writer holds)
  KEYS[5] held     prefix of the per-worker sets of held pieces: K.held .. workerId

  Scripts that need fewer keys pass the first ones only.
]]
local K = { counts = KEYS[1], states = KEYS[2], attempts = KEYS[3], holders = KEYS[4], held = KEYS[5] }

-- The torrent's piece count, or nil when the torrent was never created (or was deleted).
local function pieceCount()
  if redis.call('EXISTS', K.counts) == 0 then return nil end
  return redis.call('STRLEN', K.states)
end

-- A piece index sent as text, or nil unless it is an integer in 0..count-1. `i ~= i` catches NaN,
-- which Lua's tonumber accepts.
local function pieceIndex(text, count)
  local i = tonumber(text)
  if i == nil or i ~= i or i < 0 or i >= count or i % 1 ~= 0 then return nil end
  return i
end

local function stateOf(i)
  return string.byte(redis.call('GETRANGE', K.states, i, i))
end

local function attemptOf(i)
  return redis.call('BITFIELD', K.attempts, 'GET', 'u32', '#' .. i)[1]
end
