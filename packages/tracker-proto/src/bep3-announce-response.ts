import { clampIntervals } from "./announce-interval.js";
import { compactPeerEntries } from "./bep23-compact-peers.js";
import { canonicalIp } from "./ip-address.js";
import {
  badResponse,
  decodeTrackerDict,
  kindOf,
  optionalBytes,
  optionalCount,
  optionalInteger,
  trackerText,
} from "./response-fields.js";
import type { BDict } from "@shoal/bencode";
import type { AnnounceResult, Peer } from "./types.js";

export interface AnnounceResponseLimits {
  /** Responses longer than this are rejected with TOO_LARGE (TRACKER_RESPONSE_MAX_BYTES). */
  readonly maxBytes: number;
  /** At most this many peers are returned; the rest are dropped. */
  readonly maxPeers: number;
}

/**
 * We ask for 80 peers; a tracker handing out more than this is ignored beyond the cap, which is
 * still more addresses than a worker fleet dials in one announce interval.
 */
export const ANNOUNCE_MAX_PEERS = 1000;

/**
 * Parses the bencoded answer to an HTTP announce (BEP 3): compact IPv4 peers (BEP 23),
 * dictionary peers, and compact IPv6 peers in `peers6` (BEP 7). Throws TrackerError FAILURE for
 * a `failure reason`, BAD_RESPONSE (naming the field) for malformed answers, TOO_LARGE above
 * `limits.maxBytes`. Peers are deduplicated, entries with port 0 dropped, and intervals clamped.
 */
export function parseAnnounceResponse(bytes: Uint8Array, limits: AnnounceResponseLimits): AnnounceResult {
  const dict = decodeTrackerDict(bytes, limits.maxBytes, "announce");
  const intervals = clampIntervals(optionalInteger(dict, "interval"), optionalInteger(dict, "min interval"));
  const trackerId = optionalBytes(dict, "tracker id");
  const complete = optionalCount(dict, "complete");
  const incomplete = optionalCount(dict, "incomplete");
  const warning = optionalBytes(dict, "warning message");
  const peers = readPeers(dict, limits.maxPeers);
  return {
    ...intervals,
    // Copied: decoded strings alias the response buffer, and the id outlives it.
    ...(trackerId !== undefined && trackerId.length > 0 ? { trackerId: trackerId.slice() } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    peers,
    ...(warning !== undefined ? { warning: trackerText(warning) } : {}),
  };
}

/** Collects peers without duplicates up to a cap, so duplicates never use up the cap. */
class PeerSet {
  readonly peers: Peer[] = [];
  readonly #seen = new Set<string>();
  constructor(readonly maxPeers: number) {}

  get full(): boolean {
    return this.peers.length >= this.maxPeers;
  }

  add(peer: Peer): void {
    const id = `${peer.ip}|${peer.port}`;
    if (this.full || this.#seen.has(id)) return;
    this.#seen.add(id);
    this.peers.push(peer);
  }

  addAll(peers: Iterable<Peer>): void {
    for (const peer of peers) {
      if (this.full) return;
      this.add(peer);
    }
  }
}

function readPeers(dict: BDict, maxPeers: number): Peer[] {
  const found = new PeerSet(maxPeers);
  const peers = dict.get("peers");
  if (peers instanceof Uint8Array) found.addAll(compactPeerEntries(peers, 4));
  else if (Array.isArray(peers)) readDictionaryPeers(peers, found);
  else if (peers !== undefined) throw badResponse(`field "peers" is a ${kindOf(peers)}, expected a string or list`, "peers");

  const peers6 = dict.get("peers6");
  if (peers6 instanceof Uint8Array) found.addAll(compactPeerEntries(peers6, 6));
  else if (peers6 !== undefined) throw badResponse(`field "peers6" is a ${kindOf(peers6)}, expected a string`, "peers6");
  return found.peers;
}

/**
 * Dictionary peers (non-compact BEP 3): `ip` and `port`, an optional `peer id` that we do not
 * need. Wrong types are BAD_RESPONSE; entries we cannot dial (a host name instead of an IP
 * literal, port 0 or above 65535) are skipped.
 */
function readDictionaryPeers(list: readonly unknown[], found: PeerSet): void {
  for (let i = 0; i < list.length && !found.full; i++) {
    const entry = list[i];
    if (!(entry instanceof Map)) {
      throw badResponse(`field "peers[${i}]" is not a dictionary`, `peers[${i}]`);
    }
    const ipBytes = optionalBytes(entry as BDict, "ip", `peers[${i}].ip`);
    const port = optionalInteger(entry as BDict, "port", `peers[${i}].port`);
    if (ipBytes === undefined) throw badResponse(`field "peers[${i}].ip" is missing`, `peers[${i}].ip`);
    if (port === undefined) throw badResponse(`field "peers[${i}].port" is missing`, `peers[${i}].port`);
    const ip = canonicalIp(trackerText(ipBytes));
    if (ip === undefined || port <= 0 || port > 0xffff || ip === "0.0.0.0" || ip === "::") continue;
    found.add({ ip, port: Number(port) });
  }
}
