export { RedisClaimTable } from "./redis-claim-table.js";
export type { RedisClaimTableOptions } from "./redis-claim-table.js";
export { RedisCatalog } from "./redis-catalog.js";
export { redisConfigSchema } from "./config.js";
export type { RedisConfig, RedisConfigInput } from "./config.js";
export { SCRIPT_CODES } from "./script-codes.js";
export type { ScriptErrorCode } from "./script-codes.js";
export { SCRIPT_NAMES, luaPrelude, loadLuaScripts } from "./lua-scripts.js";
export type { LuaScript, ScriptName } from "./lua-scripts.js";
