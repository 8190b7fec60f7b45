--[[
  Registers peers of a torrent as known and grants a worker the free ones among them, in the
  given order, then free known peers it did not name, until it has `max` new peers or owns its
  fair share. Peers it already owns are answered too and do not count against `max`; peers of
  other workers are never granted, banned peers are neither registered nor granted.

  KEYS[1] counts   KEYS[2] leases   KEYS[3] banned   KEYS[4] peer owners   KEYS[5] free peers
  KEYS[6] owned-peer-set prefix   KEYS[7] peer workers
  ARGV[1] workerId   ARGV[2] max new peers (an integer >= 0)   ARGV[3] now in ms, or '' for the
  server's clock   ARGV[4..] peers (ip:port)
  Returns { CODE.ok, share, live, peer, peer, ... } (live: the live peer workers the share is
          computed over, the caller included; then the peers the worker owns among those named,
          then the ones granted without being named), or { CODE.UNKNOWN_TORRENT }.
  Events: none.

  share = even + floor(even / PEER_SHARE_SLACK_DIVISOR), even = ceil(known / live), as
  fairPeerShare computes it: known counts owned and free peers after the call's peers were
  registered, plus those of them the full free set could not remember; live counts the peer
  workers (those that ever called this; the caller joins them here) whose lease ends after now,
  plus the caller when its own has ended or it has none. A claim also leaves free what the other
  live peer workers lack to reach floor(known / live), so the first to ask cannot take what
  rounding up would let it; when the free peers cannot cover what they lack, the answered share
  is lowered to owned - (lacking - free), not below floor(known / live), as fairPeerShare's TSDoc
  says. Other holders of leases on the torrent
  (storage-writers holding pieces) take no peers and do not count. A peer worker without a lease
  gets one that has already ended (-inf), so the next expireWorkers frees its peers and drops it
  from the peer workers. Costs the peers named and granted (SRANDMEMBER picks the unnamed ones)
  and the peer workers (a handful), never the registry.
]]
-- @include "clock"
-- @include "peerRegistry"
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNKNOWN_TORRENT } end
P.banned, P.owners, P.free, P.owned = KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local worker, limit, now = ARGV[1], tonumber(ARGV[2]), nowMs(ARGV[3])
local mine = P.owned .. worker

local seen, wanted, unremembered = {}, {}, 0
for j = 4, #ARGV do
  local peer = ARGV[j]
  if not seen[peer] then
    seen[peer] = true
    if redis.call('SISMEMBER', P.banned, peer) == 1 then
      redis.call('SREM', P.free, peer)
    else
      wanted[#wanted + 1] = peer
      if redis.call('HEXISTS', P.owners, peer) == 0 and redis.call('SISMEMBER', P.free, peer) == 0 then
        if redis.call('SCARD', P.free) < MAX_FREE_PEERS then
          redis.call('SADD', P.free, peer)
        else
          unremembered = unremembered + 1
        end
      end
    end
  end
end

local available = redis.call('SCARD', P.free) + unremembered
local known = redis.call('HLEN', P.owners) + available
redis.call('SADD', KEYS[7], worker)
redis.call('ZADD', KEYS[2], 'NX', '-inf', worker)
-- ZSCORE answers '-inf' as text for a worker without a lease, which tonumber may not read.
local function isLive(w)
  local lease = redis.call('ZSCORE', KEYS[2], w)
  return lease and lease ~= '-inf' and tonumber(lease) > now
end
local others = {}
for _, w in ipairs(redis.call('SMEMBERS', KEYS[7])) do
  if w ~= worker and isLive(w) then others[#others + 1] = w end
end
local live = #others + 1
local even = math.ceil(known / live)
local share = even + math.floor(even / PEER_SHARE_SLACK_DIVISOR)
-- What the other live peer workers lack to reach the even split rounded down stays free for them;
-- when the free peers cannot cover it, the caller's share drops towards that split, so it hands
-- peers over to them.
local floorEven = math.floor(known / live)
local lacking = 0
for _, w in ipairs(others) do
  lacking = lacking + math.max(0, floorEven - redis.call('SCARD', P.owned .. w))
end
local owned = redis.call('SCARD', mine)
if lacking > available then share = math.min(share, math.max(floorEven, owned - (lacking - available))) end
local room = math.min(limit, share - owned, available - lacking)
if room < 0 then room = 0 end

local reply = { CODE.ok, share, live }
local function grant(peer)
  redis.call('SREM', P.free, peer)
  redis.call('HSET', P.owners, peer, worker)
  redis.call('SADD', mine, peer)
  reply[#reply + 1] = peer
end
for _, peer in ipairs(wanted) do
  local owner = redis.call('HGET', P.owners, peer)
  if owner == worker then
    reply[#reply + 1] = peer
  elseif not owner and room > 0 then
    grant(peer)
    room = room - 1
  end
end
-- Each round takes at least one peer out of the free set, so the loop ends.
while room > 0 do
  local picks = redis.call('SRANDMEMBER', P.free, room)
  if #picks == 0 then break end
  for _, peer in ipairs(picks) do
    if redis.call('SISMEMBER', P.banned, peer) == 1 then
      redis.call('SREM', P.free, peer)
    else
      grant(peer)
      room = room - 1
    end
  end
end
return reply
