import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BAN_STRIKES,
  MAX_FREE_PEERS,
  PEER_SHARE_SLACK_DIVISOR,
  PIECE_STATES,
  PIECE_STATE_CODE,
  TRANSITIONS,
  TRANSITION_RESULTS,
  type Transition,
} from "@shoal/coordination";
import { SCRIPT_CODES, SCRIPT_NAMES, loadLuaScripts, luaPrelude } from "@shoal/coordination-redis";
import { respCommand } from "@shoal/testkit";
import { redisPerFile } from "./redis-per-file.js";

const redis = redisPerFile();
const luaDir = new URL("../lua/", import.meta.url);

describe("Lua scripts", () => {
  it("exist once per script name, named <verbObject>-<numKeys>.lua, each with a header of KEYS, ARGV, returns and events", () => {
    const files = readdirSync(luaDir).filter((f) => f.endsWith(".lua"));
    expect(files.map((f) => f.replace(/-\d+\.lua$/, "")).sort()).toEqual([...SCRIPT_NAMES].sort());
    for (const file of files) {
      const text = readFileSync(new URL(file, luaDir), "utf8");
      const header = text.slice(0, text.indexOf("]]"));
      expect(text.startsWith("--[["), file).toBe(true);
      for (const part of ["KEYS[1]", "ARGV", "Returns", "Events"]) expect(header, `${file} documents ${part}`).toContain(part);
      const numKeys = Number(/-(\d+)\.lua$/.exec(file)![1]);
      expect(header, `${file} documents its last key`).toContain(`KEYS[${numKeys}]`);
      expect(header, `${file} documents no key beyond ${numKeys}`).not.toContain(`KEYS[${numKeys + 1}]`);
    }
  });

  it("load with their includes inlined once and no include line left", () => {
    for (const script of loadLuaScripts()) {
      expect(script.lua, script.name).not.toMatch(/^-- @include/m);
      expect(script.lua.match(/^local function movePiece\(/gm)?.length ?? 0, script.name).toBeLessThanOrEqual(1);
    }
  });

  it("give every TransitionResult and script error its own code", () => {
    const codes = Object.values(SCRIPT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const result of TRANSITION_RESULTS) expect(SCRIPT_CODES[result], result).toBeGreaterThanOrEqual(0);
    expect(SCRIPT_CODES.UNKNOWN_TORRENT).toBeLessThan(0);
    expect(SCRIPT_CODES.PIECE_OUT_OF_RANGE).toBeLessThan(0);
  });

  it("see the same states, transitions, codes, ban threshold and peer limits as the memory table, read back from Redis", async () => {
    // The prelude is run by Redis itself and its tables are listed back, so what the scripts
    // see is compared with the TypeScript definitions, not the generated text.
    const dump = `
      local out = {}
      for name, code in pairs(STATE) do out[#out + 1] = 'state ' .. name .. '=' .. code .. ' ' .. STATE_NAME[code] end
      for name, t in pairs(TRANSITION) do
        for from in pairs(t.from) do out[#out + 1] = 'move ' .. name .. ' ' .. from .. '>' .. t.to end
      end
      for name, code in pairs(CODE) do out[#out + 1] = 'code ' .. name .. '=' .. code end
      out[#out + 1] = 'ban ' .. BAN_STRIKES
      out[#out + 1] = 'free peers ' .. MAX_FREE_PEERS
      out[#out + 1] = 'share slack divisor ' .. PEER_SHARE_SLACK_DIVISOR
      return out`;
    const seen = (await respCommand(redis.server().url, ["EVAL", luaPrelude() + dump, "0"])) as string[];
    const expected = [
      ...PIECE_STATES.map((s) => `state ${s}=${PIECE_STATE_CODE[s]} ${s}`),
      ...(Object.keys(TRANSITIONS) as Transition[]).flatMap((name) =>
        TRANSITIONS[name].from.map((from) => `move ${name} ${PIECE_STATE_CODE[from]}>${PIECE_STATE_CODE[TRANSITIONS[name].to]}`),
      ),
      ...Object.entries(SCRIPT_CODES).map(([name, code]) => `code ${name}=${code}`),
      `ban ${BAN_STRIKES}`,
      `free peers ${MAX_FREE_PEERS}`,
      `share slack divisor ${PEER_SHARE_SLACK_DIVISOR}`,
    ];
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it("compile in Redis", async () => {
    for (const script of loadLuaScripts()) {
      const sha = await respCommand(redis.server().url, ["SCRIPT", "LOAD", script.lua]);
      expect(sha, script.name).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});
