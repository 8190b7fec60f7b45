--[[
  The peer registry's keys, in the order every peer script passes them after its own first keys,
  and the one place a peer loses its owner (built by torrentKeys in @shoal/coordination).

  banned       set of banned peers: never granted, never kept free
  peerOwners   hash peer -> the worker that owns it
  freePeers    set of known peers nobody owns, at most MAX_FREE_PEERS
  ownedPeers   prefix of the per-worker sets of owned peers: ownedPeers .. workerId

  Scripts set P (below) from their KEYS before calling these functions.
]]
local P = { banned = nil, owners = nil, free = nil, owned = nil }

-- Makes a known peer free, unless it is banned or the free set is full (then it is forgotten).
local function freePeer(peer)
  if redis.call('SISMEMBER', P.banned, peer) == 1 then return end
  if redis.call('SCARD', P.free) < MAX_FREE_PEERS then redis.call('SADD', P.free, peer) end
end

-- Takes `peer` from its owner `owner`: free again, or forgotten when `forget` is true.
local function disownPeer(peer, owner, forget)
  redis.call('HDEL', P.owners, peer)
  redis.call('SREM', P.owned .. owner, peer)
  if not forget then freePeer(peer) end
end
