import type { PeerAddress } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { DhtRunner } from "./dht-runner.js";

export interface TorrentDhtOptions {
  readonly infoHash: Uint8Array;
  /** Announced to the nodes closest to the torrent (the workers' port); absent: lookups only. */
  readonly announcePort?: number;
  /** Re-announce interval once peers were found. */
  readonly announceEveryMs: number;
  /** Longest gap between lookups while none finds peers, and the least between asked-for ones. */
  readonly retryMs: number;
  readonly logger: Logger;
  readonly onPeers: (peers: PeerAddress[]) => void;
}

export interface TorrentDht {
  /** A lookup now, unless one ran within `retryMs` (a stalled download asks). */
  morePeers(): void;
  stop(): void;
}

/** The first retry after a lookup that found no peers; it doubles up to `retryMs`. */
const FIRST_RETRY_MS = 5000;

/**
 * The DHT side of one torrent: a lookup (and announce) at once, then again every
 * `announceEveryMs` (as libtorrent re-announces), and sooner while lookups find nobody: the
 * swarm may be announcing itself right now, and a magnet link with no tracker has no other way.
 */
export function startTorrentDht(dht: DhtRunner, o: TorrentDhtOptions): TorrentDht {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;
  let lastStart = -Infinity;
  let emptyRounds = 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  const run = async () => {
    if (running || stopped) return;
    running = true;
    lastStart = performance.now();
    try {
      const r = await dht.lookup(
        o.infoHash,
        (peers) => {
          if (stopped) return;
          o.logger.debug({ op: "dht.getPeers", count: peers.length }, "peers from the DHT");
          o.onPeers(peers.map((p) => ({ ip: p.ip, port: p.port })));
        },
        o.announcePort,
      );
      o.logger.info({ op: "dht.lookup", peers: r.peers, nodes: r.responders, announced: r.announced }, `DHT lookup: ${r.peers} peer(s) from ${r.responders} node(s)`);
      emptyRounds = r.peers > 0 ? 0 : emptyRounds + 1;
    } catch (err) {
      o.logger.warn({ op: "dht.lookup", err }, "DHT lookup failed");
      emptyRounds++;
    } finally {
      running = false;
    }
    schedule(emptyRounds === 0 ? o.announceEveryMs : Math.min(o.retryMs, FIRST_RETRY_MS * 2 ** (emptyRounds - 1)));
  };
  void run();
  return {
    morePeers() {
      if (!running && performance.now() - lastStart >= o.retryMs) void run();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
