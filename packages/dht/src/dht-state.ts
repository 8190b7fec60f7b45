import { isIPv4, type NodeInfo } from "./compact.js";
import { DhtError } from "./dht-error.js";
import { ID_BYTES } from "./node-id.js";

/** Nodes kept in a state file: a full table's worth at most. */
const MAX_SAVED_NODES = 160 * 8;

export interface DhtState {
  readonly id: Uint8Array;
  readonly nodes: readonly NodeInfo[];
}

/** The state file's text: JSON, ids in hex, so that an operator can read it. */
export function formatDhtState(state: DhtState): string {
  return `${JSON.stringify({
    version: 1,
    id: Buffer.from(state.id).toString("hex"),
    nodes: state.nodes.slice(0, MAX_SAVED_NODES).map((n) => ({ id: Buffer.from(n.id).toString("hex"), ip: n.ip, port: n.port })),
  })}\n`;
}

const HEX_ID = /^[0-9a-f]{40}$/;

/**
 * A state file's content. The file is ours but sits on disk where anything may have changed it:
 * a bad id is BAD_STATE (the caller starts afresh); bad node entries are skipped.
 */
export function parseDhtState(text: string): DhtState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DhtError("BAD_STATE", `DHT state is not JSON: ${(err as Error).message}`);
  }
  const o = raw as { id?: unknown; nodes?: unknown };
  if (typeof o !== "object" || o === null || typeof o.id !== "string" || !HEX_ID.test(o.id)) throw new DhtError("BAD_STATE", "DHT state has no 40-hex-digit node id");
  const nodes: NodeInfo[] = [];
  for (const n of Array.isArray(o.nodes) ? o.nodes.slice(0, MAX_SAVED_NODES) : []) {
    const e = n as { id?: unknown; ip?: unknown; port?: unknown };
    if (typeof e !== "object" || e === null || typeof e.id !== "string" || !HEX_ID.test(e.id)) continue;
    if (typeof e.ip !== "string" || !isIPv4(e.ip) || typeof e.port !== "number" || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) continue;
    nodes.push({ id: Uint8Array.from(Buffer.from(e.id, "hex")), ip: e.ip, port: e.port });
  }
  const id = Uint8Array.from(Buffer.from(o.id, "hex"));
  if (id.length !== ID_BYTES) throw new DhtError("BAD_STATE", "DHT state has no 40-hex-digit node id");
  return { id, nodes };
}

export interface BootstrapAddress {
  readonly host: string;
  readonly port: number;
}

/** The well-known public routers, used when no bootstrap list is given. */
export const DEFAULT_BOOTSTRAP: readonly BootstrapAddress[] = Object.freeze([
  { host: "router.bittorrent.com", port: 6881 },
  { host: "dht.transmissionbt.com", port: 6881 },
  { host: "router.utorrent.com", port: 6881 },
  { host: "dht.libtorrent.org", port: 25401 },
]);

/**
 * `host:port[,host:port...]` (an IPv6 host in brackets). Throws BAD_BOOTSTRAP naming the bad
 * entry; the caller adds which flag or variable it came from.
 */
export function parseBootstrapList(text: string): BootstrapAddress[] {
  const out: BootstrapAddress[] = [];
  for (const part of text.split(",")) {
    const entry = part.trim();
    if (entry === "") throw new DhtError("BAD_BOOTSTRAP", `empty entry in "${text}" (expected host:port[,host:port...])`);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(entry);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new DhtError("BAD_BOOTSTRAP", `"${entry}" is not host:port with a port from 1 to 65535`);
    out.push({ host: m[1] ?? m[2]!, port });
  }
  return out;
}
