import { randomBytes } from "node:crypto";
import type { MetadataKeeper, PeerAddress, TorrentCatalog } from "@shoal/coordination";
import { encode } from "@shoal/bencode";
import { parseMagnet } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import { makePeerId } from "@shoal/wire";
import type { PollerConfig } from "../config.js";
import { Announcer, HttpTrackerClient, UdpTrackerClient } from "../trackers/index.js";
import { MetadataFetch } from "./fetch-metadata.js";
import { keepMetadata, loadKeptMetadata } from "./kept-metadata.js";
import { PollerError } from "../poller-error.js";
import type { DhtRunner } from "../dht/dht-runner.js";
import { startTorrentDht } from "../dht/torrent-dht.js";

export interface ResolvedMagnet {
  /** A .torrent built from the verified info dict and the link's trackers. */
  readonly torrent: Uint8Array;
  /** `x.pe` peers of the link, to hand to the workers like tracker peers. */
  readonly peers: readonly PeerAddress[];
  /** `ws` web seeds of the link (BEP 19), next to the torrent's own. */
  readonly webSeeds: readonly string[];
  /** Where the metadata came from: the cluster's catalog, an earlier run's kept copy, or peers. */
  readonly metadataFrom: "catalog" | "kept" | "peers";
}

export interface ResolveMagnetDeps {
  readonly catalog: TorrentCatalog;
  readonly logger: Logger;
  /** Metadata kept at the destination by an earlier run (`shoal get` into a directory). */
  readonly keeper?: MetadataKeeper;
  /** The poller's DHT node, when it runs one: its lookups find peers for the metadata. */
  readonly dht?: DhtRunner;
}

/**
 * The .torrent of a magnet link. Metadata the cluster already has (the catalog keeps each
 * torrent's info dict) is used as it is: a job submitted again does not fetch it again. Next comes
 * what an earlier run kept at the destination (checked against the info hash first). Otherwise
 * the link's trackers are asked for peers and the `x.pe` peers dialled, and the info dict is
 * fetched from them (BEP 9), trusted only once it hashes to the link's info hash, and kept at the
 * destination for the next run. With a DHT node, its lookups add peers too (nothing is
 * announced: the torrent is not known yet, and a private one must never be announced).
 */
export async function resolveMagnet(
  uri: string,
  config: PollerConfig,
  deps: ResolveMagnetDeps,
  signal: AbortSignal,
  opts: { readonly dhtRetryMs: number } = { dhtRetryMs: 60_000 },
): Promise<ResolvedMagnet> {
  const link = parseMagnet(uri);
  const logger = deps.logger.child({ infoHash: link.infoHashHex });
  for (const w of link.warnings) logger.warn({ op: "magnet.parse" }, `magnet link: ${w}`);
  const peers = link.peers.map((p) => ({ ip: p.ip, port: p.port }));
  const known = await deps.catalog.get(link.infoHashHex);
  if (known) {
    logger.info({ op: "magnet.metadata" }, "metadata already in the catalog");
    return { torrent: buildTorrent(known.infoBytes, mergeTiers(known.announceTiers, link.trackers)), peers, webSeeds: link.webSeeds, metadataFrom: "catalog" };
  }
  const maxMetadataBytes = config.maxMetadataMiB * 1024 * 1024;
  const kept = deps.keeper ? await loadKeptMetadata(deps.keeper, link.infoHashHex, maxMetadataBytes, logger) : undefined;
  if (kept) {
    logger.info({ op: "magnet.metadata" }, "metadata kept by an earlier run, checked against the info hash");
    return { torrent: buildTorrent(kept.infoBytes, mergeTiers(kept.announceTiers, link.trackers)), peers, webSeeds: link.webSeeds, metadataFrom: "kept" };
  }
  if (link.trackers.length === 0 && peers.length === 0 && !deps.dht) {
    throw new PollerError("NO_TRACKERS", "magnet link names no tracker (tr=) and no peer (x.pe=), and the DHT is off: no peer can give its metadata", {
      context: { infoHash: link.infoHashHex },
    });
  }
  const peerId = makePeerId(randomBytes(6));
  const fetch = new MetadataFetch({
    infoHash: link.infoHash,
    peerId,
    maxMetadataBytes,
    encryption: config.encryption,
    timeoutMs: config.metadataTimeoutSeconds * 1000,
    signal,
    logger,
  });
  fetch.addPeers(peers);
  // Each tracker of a magnet link is its own tier, as libtorrent reads them.
  const udp = new UdpTrackerClient({ baseTimeoutMs: config.udpRetransmitBaseMs });
  const announcer =
    link.trackers.length > 0
      ? new Announcer({
          tiers: link.trackers.map((t) => [t]),
          infoHash: link.infoHash,
          peerId,
          port: config.announcePort,
          // Nothing is known of the size yet; a non-zero `left` keeps us a leecher in the tracker's eyes.
          stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
          http: new HttpTrackerClient({ timeoutMs: config.trackerTimeoutSeconds * 1000, userAgent: "shoal/0.1" }),
          udp,
          numwant: config.numwant,
          stopTimeoutMs: config.stopAnnounceSeconds * 1000,
          onPeers: (found) => fetch.addPeers(found),
          onError: (url, err) => logger.warn({ op: "tracker.announce", url, err: err.message }, "announce failed"),
        })
      : undefined;
  void announcer?.start().catch((err: unknown) => logger.warn({ err, op: "tracker.start" }, "first announce failed"));
  const dhtPeers = deps.dht
    ? startTorrentDht(deps.dht, {
        infoHash: link.infoHash,
        announceEveryMs: opts.dhtRetryMs,
        retryMs: opts.dhtRetryMs,
        logger,
        onPeers: (found) => fetch.addPeers(found),
      })
    : undefined;
  try {
    const info = await fetch.result;
    logger.info({ op: "magnet.metadata", bytes: info.length }, "metadata fetched from peers and verified");
    const torrent = buildTorrent(info, link.trackers.map((t) => [t]));
    if (deps.keeper) await keepMetadata(deps.keeper, link.infoHashHex, torrent, logger);
    return { torrent, peers, webSeeds: link.webSeeds, metadataFrom: "peers" };
  } finally {
    dhtPeers?.stop();
    await announcer?.stop().catch(() => undefined);
    await udp.close().catch(() => undefined);
  }
}

function mergeTiers(tiers: readonly (readonly string[])[], more: readonly string[]): string[][] {
  const out = tiers.map((t) => [...t]);
  const seen = new Set(out.flat());
  for (const t of more) if (!seen.has(t)) out.push([t]);
  return out;
}

/**
 * A .torrent around `info` exactly as the peers sent it: the info hash is the SHA-1 of these
 * bytes, so they go in verbatim rather than decoded and encoded again.
 */
export function buildTorrent(info: Uint8Array, tiers: readonly (readonly string[])[]): Uint8Array {
  const head: Record<string, unknown> = {};
  const first = tiers.flat()[0];
  if (first !== undefined) {
    head["announce"] = first;
    head["announce-list"] = tiers.filter((t) => t.length > 0);
  }
  const prefix = Buffer.from(encode(head as never));
  // Keys sort as announce < announce-list < info: the info entry goes last, before the final "e".
  return Buffer.concat([prefix.subarray(0, prefix.length - 1), Buffer.from("4:info"), info, Buffer.from("e")]);
}
