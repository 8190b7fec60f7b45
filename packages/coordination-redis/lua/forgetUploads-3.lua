--[[
  Upload ledger: drops every record of a torrent.

  KEYS[1] uploads (hash object key -> upload id)   KEYS[2] completed (set of finished object keys)
  KEYS[3] prefix of the per-object parts hashes: KEYS[3] .. objectKey
  ARGV none.
  Returns { CODE.ok }, also when nothing was recorded.
  Events: none.

  A parts hash exists only while its key has an upload in the uploads hash (completeObject and
  forgetObject delete it with the upload), so the uploads hash names every one: no key scan.
]]
for _, key in ipairs(redis.call('HKEYS', KEYS[1])) do redis.call('DEL', KEYS[3] .. key) end
redis.call('DEL', KEYS[1], KEYS[2])
return { CODE.ok }
