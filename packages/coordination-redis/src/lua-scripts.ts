import { readdirSync, readFileSync } from "node:fs";
import {
  BAN_STRIKES,
  CoordinationError,
  MAX_FREE_PEERS,
  PEER_SHARE_SLACK_DIVISOR,
  PIECE_STATE_CODE,
  PIECE_STATES,
  TRANSITIONS,
  type Transition,
} from "@shoal/coordination";
import { SCRIPT_CODES } from "./script-codes.js";

/** `lua/` sits next to `src/` and `dist/`, so the same path works under vitest and when built. */
const LUA_DIR = new URL("../lua/", import.meta.url);
const INCLUDES_DIR = new URL("includes/", LUA_DIR);
/** STYLE: `<verbObject>-<numKeys>.lua`; the key count is read from the name. */
const SCRIPT_FILE = /^([a-z][A-Za-z]*)-(\d+)\.lua$/;
const INCLUDE_LINE = /^-- @include "([A-Za-z]+)"$/gm;

/** Every script the adapters call; the loader fails if one has no file or a file is not listed. */
export const SCRIPT_NAMES = [
  "createTorrent",
  "startJob",
  "deleteTorrent",
  "refreshLease",
  "refreshPresence",
  "claimPieces",
  "releasePiece",
  "stagePiece",
  "verifyPiece",
  "rejectPiece",
  "storePiece",
  "unstagePiece",
  "expireWorkers",
  "getPiece",
  "getPieces",
  "getStates",
  "listClaims",
  "checkBanned",
  "listBanned",
  "beginUpload",
  "recordPart",
  "completeObject",
  "forgetObject",
  "forgetUploads",
  "listUploads",
  "holdPieces",
  "claimPeers",
  "releasePeers",
  "listPeers",
  "publishAvailability",
  "listPublishers",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LuaScript {
  readonly name: ScriptName;
  readonly numberOfKeys: number;
  /** The prelude, the includes and the script's own text: what Redis runs. */
  readonly lua: string;
}

/**
 * The tables every script starts with, written from the definitions the memory table uses:
 * PIECE_STATE_CODE, TRANSITIONS, BAN_STRIKES, MAX_FREE_PEERS and PEER_SHARE_SLACK_DIVISOR of
 * @shoal/coordination, and SCRIPT_CODES. The scripts never spell a state code, a legal move, a
 * reply code or a peer registry limit themselves, so the Redis table cannot drift from the
 * memory one.
 */
export function luaPrelude(): string {
  const str = (s: string) => JSON.stringify(s);
  const codeOf = (state: keyof typeof PIECE_STATE_CODE) => PIECE_STATE_CODE[state];
  const transitions = (Object.keys(TRANSITIONS) as Transition[]).map((name) => {
    const { from, to } = TRANSITIONS[name];
    const fromSet = from.map((s) => `[${codeOf(s)}] = true`).join(", ");
    return `  [${str(name)}] = { from = { ${fromSet} }, to = ${codeOf(to)} },`;
  });
  return [
    "-- Generated when the scripts are loaded, from PIECE_STATE_CODE, TRANSITIONS, BAN_STRIKES,",
    "-- MAX_FREE_PEERS and PEER_SHARE_SLACK_DIVISOR of @shoal/coordination and SCRIPT_CODES of",
    "-- @shoal/coordination-redis.",
    `local STATE = { ${PIECE_STATES.map((s) => `[${str(s)}] = ${codeOf(s)}`).join(", ")} }`,
    `local STATE_NAME = { ${PIECE_STATES.map((s) => `[${codeOf(s)}] = ${str(s)}`).join(", ")} }`,
    "local TRANSITION = {",
    ...transitions,
    "}",
    `local CODE = { ${Object.entries(SCRIPT_CODES)
      .map(([name, code]) => `[${str(name)}] = ${code}`)
      .join(", ")} }`,
    `local BAN_STRIKES = ${BAN_STRIKES}`,
    `local MAX_FREE_PEERS = ${MAX_FREE_PEERS}`,
    `local PEER_SHARE_SLACK_DIVISOR = ${PEER_SHARE_SLACK_DIVISOR}`,
    "",
  ].join("\n");
}

let cache: readonly LuaScript[] | undefined;

/** Reads `lua/`, inlines the includes and prepends the prelude; read once per process. */
export function loadLuaScripts(): readonly LuaScript[] {
  if (cache) return cache;
  const prelude = luaPrelude();
  const byName = new Map<string, LuaScript>();
  for (const file of readdirSync(LUA_DIR).sort()) {
    if (!file.endsWith(".lua")) continue;
    const m = SCRIPT_FILE.exec(file);
    if (!m) throw broken(`lua/${file} is not named <verbObject>-<numKeys>.lua`);
    const name = m[1]!;
    if (!(SCRIPT_NAMES as readonly string[]).includes(name)) throw broken(`lua/${file} is no script the adapters know`);
    if (byName.has(name)) throw broken(`two files in lua/ define script ${name}`);
    const body = inlineIncludes(readFileSync(new URL(file, LUA_DIR), "utf8"), new Set(), file);
    byName.set(name, { name: name as ScriptName, numberOfKeys: Number(m[2]), lua: prelude + body });
  }
  for (const name of SCRIPT_NAMES) if (!byName.has(name)) throw broken(`script ${name} has no file in lua/`);
  cache = [...byName.values()];
  return cache;
}

/** Replaces each `-- @include "name"` line by lua/includes/name.lua, each include once. */
function inlineIncludes(text: string, seen: Set<string>, from: string): string {
  return text.replace(INCLUDE_LINE, (_line, name: string) => {
    if (seen.has(name)) return `-- ${name} is already included above`;
    seen.add(name);
    let included: string;
    try {
      included = readFileSync(new URL(`${name}.lua`, INCLUDES_DIR), "utf8");
    } catch (cause) {
      throw broken(`${from} includes "${name}", which is not in lua/includes/`, cause);
    }
    return inlineIncludes(included, seen, `includes/${name}.lua`);
  });
}

/** The package's own files are not what the code expects: a broken install or build, not a Redis fault. */
function broken(message: string, cause?: unknown): CoordinationError {
  return new CoordinationError("INVARIANT_BROKEN", message, { context: { op: "redis.loadScripts" }, cause });
}
