import { decode, encode, type BValue } from "@shoal/bencode";
import { WireError } from "./wire-error.js";

/** The extension name of peer exchange in the BEP 10 handshake. */
export const UT_PEX = "ut_pex";

/**
 * The extended message id shoal asks peers to send ut_pex messages with (its handshake's `m`).
 * 1 is what libtorrent uses; it only has to differ from our ut_metadata id.
 */
export const SHOAL_UT_PEX_ID = 1;

/** BEP 11 flags of an added peer (`added.f`). */
export const PEX_FLAGS = {
  /** Prefers encryption. */
  encryption: 0x01,
  /** Is a seed (or upload only). */
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  /** Reachable: we connected to it (it is not behind a NAT). */
  outgoing: 0x10,
} as const;

export interface PexPeer {
  readonly ip: string;
  readonly port: number;
}

export interface PexAdded extends PexPeer {
  readonly flags: number;
}

export interface PexMessage {
  readonly added: readonly PexAdded[];
  readonly dropped: readonly PexPeer[];
}

/**
 * libtorrent sends at most 50 added and 50 dropped peers per message per family and drops
 * messages with more than 100 of either; 200 per message in all leaves room for both families.
 */
export const DEFAULT_MAX_PEX_PEERS = 200;

function compactPeers(bytes: Uint8Array | undefined, family: 4 | 6, what: string): PexPeer[] {
  if (bytes === undefined) return [];
  const width = family === 4 ? 6 : 18;
  if (bytes.length % width !== 0) {
    throw new WireError("BAD_EXTENSION_MESSAGE", `ut_pex: ${what} has ${bytes.length} bytes, not a multiple of ${width}`, { context: { field: what } });
  }
  const out: PexPeer[] = [];
  for (let o = 0; o < bytes.length; o += width) {
    const port = (bytes[o + width - 2]! << 8) | bytes[o + width - 1]!;
    if (port === 0) continue;
    let ip: string;
    if (family === 4) ip = `${bytes[o]}.${bytes[o + 1]}.${bytes[o + 2]}.${bytes[o + 3]}`;
    else {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(((bytes[o + 2 * g]! << 8) | bytes[o + 2 * g + 1]!).toString(16));
      // The canonical compressed form, the same a URL parser or net.isIP-normalising code gives.
      ip = new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
    }
    out.push({ ip, port });
  }
  return out;
}

function bytesField(dict: Map<string, BValue>, key: string): Uint8Array | undefined {
  const v = dict.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new WireError("BAD_EXTENSION_MESSAGE", `ut_pex: ${key} is not a byte string`, { context: { field: key } });
  return v;
}

/**
 * Reads a ut_pex payload (IPv4 and IPv6, added with their flags, dropped). More than
 * `maxPeers` entries, a compact list of the wrong length or a non-dict is a WireError
 * BAD_EXTENSION_MESSAGE; entries with port 0 are skipped; missing flags count as 0.
 */
export function decodePexMessage(payload: Uint8Array, maxPeers: number = DEFAULT_MAX_PEX_PEERS): PexMessage {
  let v: BValue;
  try {
    v = decode(payload, { keyOrder: "lenient", limits: { maxDepth: 2, maxTokens: 64 } });
  } catch (err) {
    throw new WireError("BAD_EXTENSION_MESSAGE", `ut_pex: not a bencoded dict (${(err as Error).message})`);
  }
  if (!(v instanceof Map)) throw new WireError("BAD_EXTENSION_MESSAGE", "ut_pex: not a bencoded dict");
  const entries = (["added", "added6", "dropped", "dropped6"] as const).map((k) => bytesField(v as Map<string, BValue>, k));
  const total = (entries[0]?.length ?? 0) / 6 + (entries[1]?.length ?? 0) / 18 + (entries[2]?.length ?? 0) / 6 + (entries[3]?.length ?? 0) / 18;
  if (total > maxPeers) throw new WireError("BAD_EXTENSION_MESSAGE", `ut_pex: ${Math.ceil(total)} peers in one message, over the limit of ${maxPeers}`);
  const flagsOf = (key: string) => {
    const f = v instanceof Map ? v.get(key) : undefined;
    return f instanceof Uint8Array ? f : new Uint8Array(0);
  };
  const added: PexAdded[] = [];
  for (const [list, family, flagKey] of [
    [entries[0], 4, "added.f"],
    [entries[1], 6, "added6.f"],
  ] as const) {
    const flags = flagsOf(flagKey);
    const width = family === 4 ? 6 : 18;
    // Flags line up with the raw entries, including port-0 ones the compact reader skips.
    if (list === undefined) continue;
    if (list.length % width !== 0) compactPeers(list, family, family === 4 ? "added" : "added6");
    for (let i = 0, o = 0; o < list.length; i++, o += width) {
      const [peer] = compactPeers(list.subarray(o, o + width), family, family === 4 ? "added" : "added6");
      if (peer) added.push({ ...peer, flags: flags[i] ?? 0 });
    }
  }
  const dropped = [...compactPeers(entries[2], 4, "dropped"), ...compactPeers(entries[3], 6, "dropped6")];
  return { added, dropped };
}

function compact(peers: readonly PexPeer[], family: 4 | 6): Uint8Array {
  const width = family === 4 ? 6 : 18;
  const out = new Uint8Array(peers.length * width);
  peers.forEach((p, i) => {
    const o = i * width;
    if (family === 4) p.ip.split(".").forEach((b, j) => (out[o + j] = Number(b)));
    else {
      const host = new URL(`http://[${p.ip}]/`).hostname.slice(1, -1);
      const [head, tail] = host.includes("::") ? host.split("::") : [host, undefined];
      const h = head ? head.split(":") : [];
      const t = tail ? tail.split(":") : [];
      const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
      groups.forEach((g, j) => {
        const n = parseInt(g, 16);
        out[o + 2 * j] = n >> 8;
        out[o + 2 * j + 1] = n & 0xff;
      });
    }
    out[o + width - 2] = p.port >> 8;
    out[o + width - 1] = p.port & 0xff;
  });
  return out;
}

/** A ut_pex payload; IPv6 literals may be in any valid spelling, IPv4 as dotted quads. */
export function encodePexMessage(m: PexMessage): Buffer {
  const v4 = (p: PexPeer) => !p.ip.includes(":");
  const added4 = m.added.filter(v4);
  const added6 = m.added.filter((p) => !v4(p));
  const dict: Record<string, Uint8Array> = {
    added: compact(added4, 4),
    "added.f": Uint8Array.from(added4.map((p) => p.flags & 0xff)),
    added6: compact(added6, 6),
    "added6.f": Uint8Array.from(added6.map((p) => p.flags & 0xff)),
    dropped: compact(m.dropped.filter(v4), 4),
    dropped6: compact(m.dropped.filter((p) => !v4(p)), 6),
  };
  return Buffer.from(encode(dict as never));
}
