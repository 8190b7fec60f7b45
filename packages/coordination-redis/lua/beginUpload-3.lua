--[[
  Upload ledger: a new multipart upload for an object key replaces whatever was recorded for the
  key, its parts and its being finished included.

  KEYS[1] uploads (hash object key -> upload id)   KEYS[2] completed (set of finished object keys)
  KEYS[3] prefix of the per-object parts hashes: KEYS[3] .. objectKey
  ARGV[1] object key   ARGV[2] upload id
  Returns { CODE.ok }.
  Events: none.
]]
redis.call('DEL', KEYS[3] .. ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[1])
return { CODE.ok }
