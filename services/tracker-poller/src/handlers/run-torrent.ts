import { randomBytes } from "node:crypto";
import type { ClaimTable, JobContext, JobResult, ObjectStore, PieceBus, TorrentCatalog, TorrentJobData } from "@shoal/coordination";
import { parseMetainfo, pieceLengthOf, relativeFilePath, torrentLayout, type TorrentInfoCache } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import { makePeerId } from "@shoal/wire";
import type { PollerConfig } from "../config.js";
import { recheckExisting } from "./recheck.js";
import { resolveSource } from "./resolve-source.js";
import { startAnnouncing } from "./announce.js";
import { PollerError } from "../poller-error.js";
import { ShoalError } from "@shoal/errors";

export interface RunTorrentDeps {
  readonly claims: ClaimTable;
  readonly bus: PieceBus;
  readonly store: ObjectStore;
  readonly catalog: TorrentCatalog;
  readonly logger: Logger;
  /** Receives the parsed metadata, for services in the same process. */
  readonly torrents?: TorrentInfoCache;
  readonly onEvent?: (type: string, fields: Record<string, unknown>) => void;
}

/**
 * The lifetime of one torrent job: metadata, piece table (with recheck of existing data),
 * announces, progress, completion. Resolves when every piece is stored and every file has its
 * exact size; rejects (after announcing `stopped`) when cancelled or on a permanent error.
 */
export async function runTorrent(config: PollerConfig, deps: RunTorrentDeps, job: TorrentJobData, ctx: JobContext): Promise<JobResult> {
  const { claims, bus, store, catalog } = deps;
  const emit = deps.onEvent ?? (() => {});
  const bytes = await resolveSource(job.source, config.maxTorrentMiB * 1024 * 1024, ctx.signal);
  const meta = parseMetainfo(bytes);
  deps.torrents?.add(meta);
  const infoHash = meta.infoHashHex;
  const logger = deps.logger.child({ infoHash });
  if (!meta.announceList.flat().some((url) => /^(https?|udp):\/\//i.test(url))) {
    throw new PollerError(
      "NO_TRACKERS",
      `torrent ${meta.name} names no HTTP or UDP tracker (${meta.announceList.flat().join(", ") || "none at all"}), and peers cannot be found without one (DHT is not supported yet)`,
      { context: { infoHash: meta.infoHashHex } },
    );
  }
  const files = meta.files.filter((f) => !f.padding);
  emit("metadata", { infoHash, name: meta.name, totalBytes: meta.totalLength, files: files.length, pieces: meta.pieceCount });
  logger.info({ name: meta.name, pieces: meta.pieceCount, bytes: meta.totalLength }, "torrent loaded");

  await catalog.put({
    infoHash,
    infoBytes: meta.infoBytes,
    announceTiers: meta.announceList,
    destination: job.destination,
    private: meta.private,
  });
  await store.openTorrent(torrentLayout(meta));
  const intact = await recheckExisting(store, meta, ctx.signal);
  ctx.signal.throwIfAborted();
  await claims.createTorrent(infoHash, meta.pieceCount, intact);
  emit("resumed", { infoHash, pieces: intact.length });

  let storedBytes = 0;
  for (const i of await claims.piecesIn(infoHash, "stored")) storedBytes += pieceLengthOf(meta, i);
  const startBytes = storedBytes;
  let storedPieces = intact.length;

  let finish: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const storedSub = await bus.subscribe("piece_stored", infoHash, (m) => {
    storedBytes += pieceLengthOf(meta, m.piece);
    storedPieces++;
    if (storedPieces >= meta.pieceCount) finish?.();
  });
  if (storedPieces >= meta.pieceCount) finish?.();

  const peerId = makePeerId(randomBytes(6));
  const announcer = startAnnouncing(config, {
    meta,
    peerId,
    logger,
    stats: () => ({ uploaded: 0, downloaded: storedBytes - startBytes, left: meta.totalLength - storedBytes }),
    onPeers: (peers, source) => void bus.publish("peers_discovered", { infoHash, peers, source }).catch(() => undefined),
    onWarning: (url, message) => {
      logger.warn({ op: "tracker.announce", url }, message);
      emit("warning", { infoHash, message: `tracker ${url}: ${message}` });
    },
  });
  await bus.publish("torrent_started", { infoHash });

  const progress = () =>
    ctx.reportProgress({
      infoHash,
      name: meta.name,
      totalBytes: meta.totalLength,
      storedBytes,
      pieces: meta.pieceCount,
      storedPieces,
      peers: 0,
      downloadRateBytesPerSec: 0,
      uploadRateBytesPerSec: 0,
      downloadedBytes: storedBytes - startBytes,
      uploadedBytes: 0,
    });
  const progressTimer = setInterval(() => void progress(), config.progressIntervalMs);
  // No piece stored for a while: the peers we know may be gone, so ask the trackers again
  // instead of waiting out a long announce interval.
  let lastStoredSeen = storedPieces;
  const stallTimer = setInterval(() => {
    if (storedPieces === lastStoredSeen) announcer.morePeers();
    lastStoredSeen = storedPieces;
  }, config.stallAnnounceSeconds * 1000);
  const sweepTimer = setInterval(() => void claims.expireWorkers().catch(() => undefined), config.leaseSweepIntervalMs);
  let storageFailure: ((err: Error) => void) | undefined;
  const storageFailed = new Promise<never>((_, reject) => (storageFailure = reject));
  storageFailed.catch(() => undefined);
  const storageSub = await bus.subscribe("storage_failed", infoHash, (m) => {
    storageFailure?.(ShoalError.fromJSON(m.error));
  });
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("cancelled"));
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    await Promise.race([done, aborted, storageFailed]);
    await store.finalize(infoHash);
    await progress();
    await announcer.completed();
    logger.info({ bytes: meta.totalLength }, "torrent complete");
    await bus.publish("torrent_finished", { infoHash, reason: "completed" });
    return {
      infoHash,
      name: meta.name,
      files: files.map((f) => ({ path: relativeFilePath(meta, f), length: f.length })),
      totalBytes: meta.totalLength,
      resumedPieces: intact.length,
      downloadedBytes: storedBytes - startBytes,
    };
  } catch (err) {
    await bus.publish("torrent_finished", { infoHash, reason: ctx.signal.aborted ? "stopped" : "failed" }).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(progressTimer);
    clearInterval(stallTimer);
    clearInterval(sweepTimer);
    await storedSub.unsubscribe();
    await storageSub.unsubscribe();
    await announcer.stop();
    await store.closeTorrent(infoHash);
  }
}
