--[[
  A job starts on a torrent: keeps the table the same job started, else builds it from the
  owner's recheck (see ClaimTable.startJob).

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] job
  ARGV[1] the job id
  ARGV[2] the states string: one state code per piece, built by the caller from its stored and
          skipped lists (which it has checked against the piece count)
  Returns { CODE.ok, 0 } when the table was this job's and is kept, { CODE.ok, 1 } when it was
  created, { CODE.ok, 2 } when it was rebuilt.
  Events: none.

  A rebuilt table keeps its attempts (late messages of the earlier job stay stale), strikes and
  bans; claims and held pieces belonged to the earlier job and go. Leases stay: they say which
  workers are alive, and the peer registry frees a worker's peers when its lease lapses. The
  holders name every held set (as in deleteTorrent), so no key scan is needed. The counts are
  tallied from the states string, as in createTorrent.
]]
-- @include "pieceTable"
-- @include "stateTally"
local existed = redis.call('EXISTS', K.counts) == 1
if existed and redis.call('GET', KEYS[6]) == ARGV[1] then return { CODE.ok, 0 } end
if existed then
  local workers = {}
  for _, worker in ipairs(redis.call('HVALS', K.holders)) do workers[worker] = true end
  for worker in pairs(workers) do redis.call('DEL', K.held .. worker) end
  redis.call('DEL', K.holders)
end
local states = ARGV[2]
writeStates(K.states, K.counts, states)
redis.call('SET', KEYS[6], ARGV[1])
if existed then return { CODE.ok, 2 } end
return { CODE.ok, 1 }
