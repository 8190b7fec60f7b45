--[[
  Upload ledger: an object is finished in the bucket (a PUT, or a completed multipart upload).
  Its upload and parts records go; it is remembered as finished.

  KEYS[1] uploads (hash object key -> upload id)   KEYS[2] completed (set of finished object keys)
  KEYS[3] prefix of the per-object parts hashes: KEYS[3] .. objectKey
  ARGV[1] object key
  Returns { CODE.ok }.
  Events: none.
]]
redis.call('DEL', KEYS[3] .. ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return { CODE.ok }
