--[[
  Cancels a job of the `torrents` queue, in one step so no worker can take it half-way.

  A job that no live worker holds (waiting, paused, prioritized, delayed for a retry, or active
  with its lock lapsed after a crash) is put into the active list under a lock with the caller's
  token; the caller then fails it through BullMQ's own moveToFailed, so it ends like any failed
  job (failed set, failedReason, `failed` event). A job a live worker holds is told on the
  cancel channel to abort. Either way the job gets BullMQ's deferred-failure field (`defa`), so
  it can never run again: a worker that takes a job with it fails the job with its text.

  KEYS[1] job hash          <prefix>:torrents:<jobId>
  KEYS[2] wait list
  KEYS[3] paused list
  KEYS[4] prioritized zset
  KEYS[5] delayed zset
  KEYS[6] active list
  KEYS[7] completed zset
  KEYS[8] failed zset

  ARGV[1] job id
  ARGV[2] lock token for a job taken here
  ARGV[3] lock duration in milliseconds
  ARGV[4] deferred failure text (the cancel message)
  ARGV[5] cancel channel

  Returns:
    0  no such job
    1  taken: the job is active under ARGV[2]; the caller must fail it
    2  held by a live worker: marked, and ARGV[1] published on ARGV[5]
    3  already completed or failed, or in a state cancel does not touch (waiting for children)

  Events: none here; the caller's moveToFailed emits `failed`.
]]
local rcall = redis.call
local jobKey = KEYS[1]
local jobId = ARGV[1]

if rcall("EXISTS", jobKey) == 0 then
  return 0
end

if rcall("ZSCORE", KEYS[7], jobId) or rcall("ZSCORE", KEYS[8], jobId) then
  return 3
end

-- The cancel mark goes on in both cases: if the caller dies before it fails a taken job, the
-- job is requeued as stalled and the worker that takes it fails it with this text.
local function take()
  rcall("HSET", jobKey, "defa", ARGV[4])
  rcall("LPUSH", KEYS[6], jobId)
  rcall("SET", jobKey .. ":lock", ARGV[2], "PX", tonumber(ARGV[3]))
  return 1
end

if rcall("LREM", KEYS[2], 1, jobId) > 0 or rcall("LREM", KEYS[3], 1, jobId) > 0
    or rcall("ZREM", KEYS[4], jobId) > 0 or rcall("ZREM", KEYS[5], jobId) > 0 then
  return take()
end

if rcall("LREM", KEYS[6], 1, jobId) > 0 then
  if rcall("EXISTS", jobKey .. ":lock") == 0 then
    -- Active without a lock: its worker died and the stalled check has not requeued it yet.
    return take()
  end
  rcall("LPUSH", KEYS[6], jobId)
  rcall("HSET", jobKey, "defa", ARGV[4])
  rcall("PUBLISH", ARGV[5], jobId)
  return 2
end

return 3
