--[[
  Upload ledger: every record of a torrent at one instant, for a store that resumes its uploads.

  KEYS[1] uploads (hash object key -> upload id)   KEYS[2] completed (set of finished object keys)
  KEYS[3] prefix of the per-object parts hashes: KEYS[3] .. objectKey
  ARGV none.
  Returns { CODE.ok, { key, upload id, { part number, record, ... } }, ..., { key } ... }: one
          table per object with an upload (its parts as a flat list of part numbers and the
          records recordPart wrote), then one per finished object holding its key alone.
  Events: none.

  Costs the torrent's records: its objects with uploads and their parts, and its finished
  objects (at most 10,000 parts per object, as S3 allows).
]]
local reply = { CODE.ok }
local uploads = redis.call('HGETALL', KEYS[1])
for j = 1, #uploads, 2 do
  local key = uploads[j]
  reply[#reply + 1] = { key, uploads[j + 1], redis.call('HGETALL', KEYS[3] .. key) }
end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do reply[#reply + 1] = { key } end
return reply
