--[[
  The availability vectors of the workers whose lease on the torrent is current, but one's: the
  caller sums them (saturating), so Lua never loops over pieces.

  KEYS[1] counts   KEYS[2] states   KEYS[3] leases   KEYS[4] availability (hash workerId -> vector)
  ARGV[1] now in ms, or '' for the server's clock   ARGV[2] '1' to leave a worker out, else '0'
  ARGV[3] the worker to leave out
  Returns { CODE.ok, pieceCount, vector, vector, ... } (vectors in no particular order), or
          { CODE.UNKNOWN_TORRENT }.
  Events: none.

  A lease that ends exactly now has ended, as in the memory table. Costs the live leases (a
  handful of workers and writers) plus the bytes of their vectors; writers' leases have no
  vector and are skipped by HMGET's nil.
]]
-- @include "clock"
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
local reply = { CODE.ok, redis.call('STRLEN', KEYS[2]) }
local live = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. nowMs(ARGV[1]), '+inf')
local wanted = {}
for _, worker in ipairs(live) do
  if not (ARGV[2] == '1' and worker == ARGV[3]) then wanted[#wanted + 1] = worker end
end
if #wanted == 0 then return reply end
for _, vector in ipairs(redis.call('HMGET', KEYS[4], unpack(wanted))) do
  if vector then reply[#reply + 1] = vector end
end
return reply
