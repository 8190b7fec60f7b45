--[[
  Creates a torrent's piece table, unless it exists (a second call keeps the first table).

  KEYS[1] counts   KEYS[2] states
  ARGV[1] the states string: one state code per piece, built by the caller from its stored and
          skipped lists (which it has checked against the piece count)
  Returns { CODE.ok, 1 } when created, { CODE.ok, 0 } when the torrent already existed.
  Events: none.

  The counts are tallied here from the string rather than taken from the caller, so the states
  string is the only input and the counts cannot disagree with it.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return { CODE.ok, 0 } end
local states = ARGV[1]
local tally = {}
for code in pairs(STATE_NAME) do tally[code] = 0 end
-- string.byte returns one value per byte on Lua's stack, which holds some thousands: read in chunks.
local CHUNK = 4096
for first = 1, #states, CHUNK do
  for _, code in ipairs({ string.byte(states, first, math.min(first + CHUNK - 1, #states)) }) do
    if tally[code] == nil then error('byte ' .. code .. ' of the states string is no piece state') end
    tally[code] = tally[code] + 1
  end
end
local fields = {}
for code, name in pairs(STATE_NAME) do
  fields[#fields + 1] = name
  fields[#fields + 1] = tally[code]
end
redis.call('SET', KEYS[2], states)
redis.call('HSET', KEYS[1], unpack(fields))
return { CODE.ok, 1 }
