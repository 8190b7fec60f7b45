--[[
  Lease time. Production passes no clock and gets the Redis server's own, so every worker's
  lease is measured on one clock whatever the skew between the workers' machines. Tests pass
  their fake clock so leases lapse exactly when a case says, without waiting.
]]

-- Milliseconds: `injected` when it is a number's text, else the server's TIME.
local function nowMs(injected)
  if injected ~= nil and injected ~= '' then return tonumber(injected) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
