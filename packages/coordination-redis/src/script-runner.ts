import type { Redis } from "ioredis";
import { CoordinationError } from "@shoal/coordination";
import { loadLuaScripts, type LuaScript, type ScriptName } from "./lua-scripts.js";

/** What a script takes as ARGV: text, or bytes (the states string). */
export type ScriptArg = string | Buffer;

type ScriptMethod = (...args: (string | Buffer)[]) => Promise<unknown>;

/**
 * Registers every script on the client with `defineCommand`: ioredis then calls each by its
 * SHA-1 (EVALSHA) and sends the text again (EVAL) when Redis answers NOSCRIPT, as after a
 * restart, so scripts never have to be reloaded by hand.
 */
export function defineScripts(client: Redis): ReadonlyMap<ScriptName, LuaScript> {
  const scripts = new Map<ScriptName, LuaScript>();
  for (const script of loadLuaScripts()) {
    client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    scripts.set(script.name, script);
  }
  return scripts;
}

/**
 * Runs one script and returns its reply, which every script makes a table whose first element is
 * a SCRIPT_CODES code. With `buffers` bulk strings come back as Buffers (the states and attempts
 * strings are bytes, not text).
 */
export async function runScript(
  client: Redis,
  scripts: ReadonlyMap<ScriptName, LuaScript>,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
  buffers = false,
): Promise<unknown[]> {
  const script = scripts.get(name);
  if (script === undefined || keys.length !== script.numberOfKeys) {
    throw new CoordinationError("INVARIANT_BROKEN", `script ${name} called with ${keys.length} keys, but it takes ${script?.numberOfKeys}`, {
      context: { op: `redis.${name}` },
    });
  }
  const method = (client as unknown as Record<string, ScriptMethod>)[buffers ? `${name}Buffer` : name]!;
  const reply = await method.call(client, ...keys, ...args);
  if (!Array.isArray(reply) || reply.length === 0) {
    throw new CoordinationError("INVARIANT_BROKEN", `script ${name} answered ${JSON.stringify(reply)}, not a reply table`, {
      context: { op: `redis.${name}` },
    });
  }
  return reply;
}
