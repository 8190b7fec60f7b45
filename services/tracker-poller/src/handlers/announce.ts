import type { PeerAddress } from "@shoal/coordination";
import type { InfoDict } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import type { PollerConfig } from "../config.js";
import { Announcer, HttpTrackerClient, UdpTrackerClient, type AnnounceStats } from "../trackers/index.js";

export interface AnnouncingDeps {
  readonly meta: InfoDict & { readonly announceList: string[][] };
  readonly peerId: Uint8Array;
  readonly logger: Logger;
  readonly stats: () => AnnounceStats;
  readonly onPeers: (peers: PeerAddress[], source: string) => void;
  readonly onWarning: (url: string, message: string) => void;
}

export interface Announcing {
  /** Asks the trackers for more peers now, as early as their minimum interval allows. */
  morePeers(): void;
  completed(): Promise<void>;
  stop(): Promise<void>;
}

/** Announces a torrent to all its trackers (HTTP and UDP, BEP 12 tiers) until stopped. */
export function startAnnouncing(config: PollerConfig, deps: AnnouncingDeps): Announcing {
  const http = new HttpTrackerClient({ timeoutMs: config.trackerTimeoutSeconds * 1000, userAgent: "shoal/0.1" });
  const udp = new UdpTrackerClient({ baseTimeoutMs: config.udpRetransmitBaseMs });
  const announcer = new Announcer({
    tiers: deps.meta.announceList,
    infoHash: deps.meta.infoHash,
    peerId: deps.peerId,
    port: config.announcePort,
    stats: deps.stats,
    http,
    udp,
    numwant: config.numwant,
    stopTimeoutMs: config.stopAnnounceSeconds * 1000,
    onPeers: (peers, source) => {
      deps.logger.debug({ op: "tracker.announce", url: source, count: peers.length }, "peers from tracker");
      deps.onPeers(
        peers.map((p) => ({ ip: p.ip, port: p.port })),
        source,
      );
    },
    onWarning: deps.onWarning,
    onError: (url, err) => deps.logger.warn({ op: "tracker.announce", url, err: err.message }, "announce failed"),
  });
  for (const ignored of announcer.ignoredTrackers) {
    deps.logger.info({ op: "tracker.tiers", ignored }, "tracker ignored");
  }
  if (deps.meta.announceList.length === 0) deps.logger.warn({}, "torrent has no trackers: no peers can be found");
  void announcer.start().catch((err: unknown) => deps.logger.warn({ err, op: "tracker.start" }, "first announce failed"));
  return {
    morePeers: () => void announcer.announceNow().catch(() => undefined),
    completed: () => announcer.completed(),
    async stop() {
      await announcer.stop();
      await udp.close();
    },
  };
}
