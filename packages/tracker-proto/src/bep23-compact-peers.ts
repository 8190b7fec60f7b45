import { canonicalIp, formatIpv4, formatIpv6 } from "./ip-address.js";
import { TrackerError } from "./tracker-error.js";
import type { Peer } from "./types.js";

/** BEP 23: 4 address bytes and 2 port bytes, big-endian. */
export const COMPACT_PEER_BYTES = 6;
/** BEP 7: 16 address bytes and 2 port bytes, big-endian. */
export const COMPACT_PEER6_BYTES = 18;

/**
 * Yields the usable peers of a compact peer string in order. A length that is not a multiple of
 * the entry size is truncated to whole entries rather than rejected, as libtorrent and
 * Transmission do: the complete entries before a stray tail are still good peers. Entries with
 * port 0 or the unspecified address are skipped (nobody can connect to them).
 */
export function* compactPeerEntries(bytes: Uint8Array, family: 4 | 6): Generator<Peer> {
  const size = family === 4 ? COMPACT_PEER_BYTES : COMPACT_PEER6_BYTES;
  for (let at = 0; at + size <= bytes.length; at += size) {
    const ip = family === 4 ? formatIpv4(bytes, at) : formatIpv6(bytes, at);
    const port = (bytes[at + size - 2]! << 8) | bytes[at + size - 1]!;
    if (port === 0 || ip === "0.0.0.0" || ip === "::") continue;
    yield { ip, port };
  }
}

/**
 * Decodes a compact peer string (see compactPeerEntries) without duplicates, keeping at most
 * `maxPeers`. A repeated entry is skipped before it counts, so a tracker that lists one address
 * many times cannot fill the cap with it and crowd out the other peers.
 */
export function decodeCompactPeers(bytes: Uint8Array, family: 4 | 6, maxPeers: number): Peer[] {
  const peers: Peer[] = [];
  if (maxPeers <= 0) return peers;
  const seen = new Set<string>();
  for (const peer of compactPeerEntries(bytes, family)) {
    const id = `${peer.ip}|${peer.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    peers.push(peer);
    if (peers.length >= maxPeers) break;
  }
  return peers;
}

/** Encodes IPv4 peers as a BEP 23 compact string (used by fake trackers and PEX-style codecs). */
export function encodeCompactPeers(peers: readonly Peer[]): Uint8Array {
  const out = new Uint8Array(peers.length * COMPACT_PEER_BYTES);
  peers.forEach((peer, i) => {
    const ip = canonicalIp(peer.ip);
    const parts = ip?.split(".");
    if (!parts || parts.length !== 4 || !Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) {
      throw new TrackerError("INVALID_ARGUMENT", `peer ${peer.ip}:${peer.port} is not an IPv4 address and port`, {
        context: { ip: peer.ip, port: peer.port },
      });
    }
    const at = i * COMPACT_PEER_BYTES;
    parts.forEach((part, j) => (out[at + j] = Number(part)));
    out[at + 4] = peer.port >> 8;
    out[at + 5] = peer.port & 0xff;
  });
  return out;
}
