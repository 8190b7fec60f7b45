--[[
  Upload ledger: a part uploaded into a multipart upload, recorded only while that upload is the
  key's current one (a late record of an upload that was replaced or forgotten is ignored).
  Recording a part number again replaces its record, as S3 keeps the last upload of a number.

  KEYS[1] uploads (hash object key -> upload id)
  KEYS[2] prefix of the per-object parts hashes: KEYS[2] .. objectKey
  ARGV[1] object key   ARGV[2] upload id   ARGV[3] part number   ARGV[4] the part's record
          (JSON of its ETag and size, written and read by the adapter only)
  Returns { CODE.ok, 1 } when recorded, { CODE.ok, 0 } when the upload is not the key's current one.
  Events: none.
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return { CODE.ok, 0 } end
redis.call('HSET', KEYS[2] .. ARGV[1], ARGV[3], ARGV[4])
return { CODE.ok, 1 }
