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
-- @include "stateTally"
if redis.call('EXISTS', KEYS[1]) == 1 then return { CODE.ok, 0 } end
local states = ARGV[1]
writeStates(KEYS[2], KEYS[1], states)
return { CODE.ok, 1 }
