--[[
  Replaces a worker's availability vector: per piece, how many of its connected peers have the
  piece, as unsigned 16-bit little-endian integers (two bytes per piece). It counts for
  listAvailability while the worker's lease is current.

  KEYS[1] counts   KEYS[2] states   KEYS[3] leases   KEYS[4] availability (hash workerId -> vector)
  ARGV[1] workerId   ARGV[2] the vector's bytes
  Returns { CODE.ok }, { CODE.UNKNOWN_TORRENT }, or
          { CODE.LENGTH_MISMATCH, pieceCount, counts in the vector (its bytes / 2, rounded down) }.
  Events: none.

  One script rather than a plain HSET: the torrent must exist and the length must match its
  piece count at the moment of the write, or a vector could outlive deleteTorrent (a stray
  key nobody deletes) or be summed against the wrong piece count. A worker that publishes
  without a lease gets one that has already ended (-inf), as claimPieces does, so the next
  expireWorkers drops the vector; a heartbeat replaces it. Costs the vector's length in bytes,
  copied once: no loop over pieces runs in Lua.
]]
local worker, vector = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
local count = redis.call('STRLEN', KEYS[2])
if #vector ~= 2 * count then return { CODE.LENGTH_MISMATCH, count, math.floor(#vector / 2) } end
redis.call('ZADD', KEYS[3], 'NX', '-inf', worker)
redis.call('HSET', KEYS[4], worker, vector)
return { CODE.ok }
