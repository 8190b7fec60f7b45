--[[
  Upload ledger: drops everything recorded for one object key: its upload, its parts, its being
  finished.

  KEYS[1] uploads (hash object key -> upload id)   KEYS[2] completed (set of finished object keys)
  KEYS[3] prefix of the per-object parts hashes: KEYS[3] .. objectKey
  ARGV[1] object key
  Returns { CODE.ok }, also when nothing was recorded.
  Events: none.
]]
redis.call('DEL', KEYS[3] .. ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
return { CODE.ok }
