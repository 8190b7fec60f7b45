--[[
  Removes every key of a torrent's piece table (the id of the job that started it among them),
  peer registry and availability vectors (not its catalog record, which the catalog owns).

  KEYS[1] counts   KEYS[2] states   KEYS[3] attempts   KEYS[4] holders   KEYS[5] held-set prefix
  KEYS[6] leases   KEYS[7] strikes  KEYS[8] banned   KEYS[9] peer owners   KEYS[10] free peers
  KEYS[11] owned-peer-set prefix   KEYS[12] peer workers   KEYS[13] job   KEYS[14] availability
  ARGV none.
  Returns { CODE.ok }, also for a torrent that does not exist.
  Events: none.

  A worker has a held set exactly while it holds a piece (a claim, or a verified piece it holds),
  and every held piece is in the holders hash, so the holders name every held set: no key scan
  is needed. The peer owners hash names every owned-peer set the same way.
]]
local workers = {}
for _, worker in ipairs(redis.call('HVALS', KEYS[4])) do workers[worker] = true end
for worker in pairs(workers) do redis.call('DEL', KEYS[5] .. worker) end
local owners = {}
for _, worker in ipairs(redis.call('HVALS', KEYS[9])) do owners[worker] = true end
for worker in pairs(owners) do redis.call('DEL', KEYS[11] .. worker) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[12], KEYS[13], KEYS[14])
return { CODE.ok }
