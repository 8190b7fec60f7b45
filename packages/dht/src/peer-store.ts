import type { PeerEndpoint } from "./compact.js";

export interface PeerStoreLimits {
  /** Torrents with announced peers kept; the one announced to least lately goes first. */
  readonly maxTorrents: number;
  /** Peers kept per torrent; the oldest announce goes first. */
  readonly maxPeersPerTorrent: number;
  /** An announce is forgotten after this long unless repeated (clients re-announce every 15-30 min). */
  readonly peerTtlMs: number;
}

/**
 * 500 torrents x 100 peers bounds the store at 50,000 entries (a few MiB) however many nodes
 * announce to us; libtorrent keeps more, but this node is a downloader's, not a public router.
 */
export const DEFAULT_PEER_STORE_LIMITS: PeerStoreLimits = Object.freeze({ maxTorrents: 500, maxPeersPerTorrent: 100, peerTtlMs: 30 * 60_000 });

/** Peers other nodes announced to us (announce_peer), served back in get_peers answers. */
export class PeerStore {
  /** infoHash hex -> ("ip:port" -> expiry), each map in announce order (oldest first). */
  private readonly torrents = new Map<string, Map<string, number>>();

  constructor(
    private readonly now: () => number,
    private readonly limits: PeerStoreLimits = DEFAULT_PEER_STORE_LIMITS,
  ) {}

  get torrentCount(): number {
    return this.torrents.size;
  }

  add(infoHash: Uint8Array, peer: PeerEndpoint): void {
    const key = Buffer.from(infoHash).toString("hex");
    let peers = this.torrents.get(key);
    if (peers) {
      // Re-inserted last: the torrent (and peer) most lately announced is the last evicted.
      this.torrents.delete(key);
    } else {
      peers = new Map();
      if (this.torrents.size >= this.limits.maxTorrents) this.torrents.delete(this.torrents.keys().next().value!);
    }
    this.torrents.set(key, peers);
    const addr = `${peer.ip}:${peer.port}`;
    peers.delete(addr);
    if (peers.size >= this.limits.maxPeersPerTorrent) peers.delete(peers.keys().next().value!);
    peers.set(addr, this.now() + this.limits.peerTtlMs);
  }

  /** Up to `max` live peers of the torrent, newest announces first. */
  get(infoHash: Uint8Array, max: number): PeerEndpoint[] {
    const key = Buffer.from(infoHash).toString("hex");
    const peers = this.torrents.get(key);
    if (!peers) return [];
    const t = this.now();
    const out: PeerEndpoint[] = [];
    for (const [addr, expiry] of [...peers].reverse()) {
      if (expiry <= t) {
        peers.delete(addr);
        continue;
      }
      if (out.length >= max) continue;
      const at = addr.lastIndexOf(":");
      out.push({ ip: addr.slice(0, at), port: Number(addr.slice(at + 1)) });
    }
    if (peers.size === 0) this.torrents.delete(key);
    return out;
  }
}
