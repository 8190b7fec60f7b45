import { ID_BYTES } from "./node-id.js";

/** A DHT node: its id and where its UDP socket is. */
export interface NodeInfo {
  readonly id: Uint8Array;
  readonly ip: string;
  readonly port: number;
}

export interface PeerEndpoint {
  readonly ip: string;
  readonly port: number;
}

/** BEP 5 compact node info: 20-byte id, 4-byte IPv4, 2-byte port. */
export const COMPACT_NODE_BYTES = ID_BYTES + 6;
/** BEP 5 compact peer info: 4-byte IPv4, 2-byte port. */
export const COMPACT_PEER_BYTES = 6;

export function isIPv4(ip: string): boolean {
  const parts = ip.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function writeAddress(out: Uint8Array, at: number, ip: string, port: number): void {
  const parts = ip.split(".").map(Number);
  for (let i = 0; i < 4; i++) out[at + i] = parts[i]!;
  out[at + 4] = (port >> 8) & 0xff;
  out[at + 5] = port & 0xff;
}

function readAddress(b: Uint8Array, at: number): PeerEndpoint {
  return { ip: `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`, port: (b[at + 4]! << 8) | b[at + 5]! };
}

/** Nodes that are not IPv4 are left out: the string has room for IPv4 only. */
export function encodeCompactNodes(nodes: readonly NodeInfo[]): Uint8Array {
  const v4 = nodes.filter((n) => isIPv4(n.ip) && n.id.length === ID_BYTES);
  const out = new Uint8Array(v4.length * COMPACT_NODE_BYTES);
  v4.forEach((n, i) => {
    out.set(n.id, i * COMPACT_NODE_BYTES);
    writeAddress(out, i * COMPACT_NODE_BYTES + ID_BYTES, n.ip, n.port);
  });
  return out;
}

/**
 * The nodes of a compact `nodes` string, at most `max` of them. A length that is not a multiple
 * of 26 is read up to the last whole entry (some clients pad), and port 0 entries are skipped:
 * nothing can be sent to them.
 */
export function decodeCompactNodes(b: Uint8Array, max: number): NodeInfo[] {
  const out: NodeInfo[] = [];
  for (let at = 0; at + COMPACT_NODE_BYTES <= b.length && out.length < max; at += COMPACT_NODE_BYTES) {
    const addr = readAddress(b, at + ID_BYTES);
    if (addr.port === 0) continue;
    out.push({ id: b.slice(at, at + ID_BYTES), ...addr });
  }
  return out;
}

export function encodeCompactPeer(p: PeerEndpoint): Uint8Array {
  const out = new Uint8Array(COMPACT_PEER_BYTES);
  writeAddress(out, 0, p.ip, p.port);
  return out;
}

/** One compact peer, or undefined when the string is not 6 bytes or names port 0. */
export function decodeCompactPeer(b: Uint8Array): PeerEndpoint | undefined {
  if (b.length !== COMPACT_PEER_BYTES) return undefined;
  const p = readAddress(b, 0);
  return p.port === 0 ? undefined : p;
}
