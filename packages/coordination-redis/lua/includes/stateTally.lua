--[[
  Writes a whole states string (one byte per piece, its STATE code) and the counts hash tallied
  from it, so the counts cannot disagree with the states: the piece table's two keys as
  createTorrent and startJob make them.
]]
local function writeStates(statesKey, countsKey, states)
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
  redis.call('SET', statesKey, states)
  redis.call('HSET', countsKey, unpack(fields))
end
