import { randomBytes } from "node:crypto";
import type { ClaimTable, MetadataKeeper, PeerAddress, JobContext, JobResult, ObjectStore, PieceCounts, PieceBus, TorrentCatalog, TorrentJobData } from "@shoal/coordination";
import { MetainfoError, parseMetainfo, pieceLengthOf, relativeFilePath, selectFiles, torrentLayout, type FileSelection, type Metainfo, type TorrentInfoCache } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import { makePeerId } from "@shoal/wire";
import type { PollerConfig } from "../config.js";
import { recheckExisting } from "./recheck.js";
import { resolveSource } from "./resolve-source.js";
import { resolveMagnet } from "../metadata/resolve-magnet.js";
import { startAnnouncing } from "./announce.js";
import { sweepLeases } from "./lease-sweep.js";
import { seedUntilDone } from "./seed.js";
import { finalizeByWriter } from "./finalize.js";
import { StuckPieces } from "./stuck-pieces.js";
import { SwarmTotals } from "./swarm-totals.js";
import { resolveWebSeeds } from "./web-seed-list.js";
import { PollerError } from "../poller-error.js";
import type { PieceStateBoard } from "../piece-state-board.js";
import { ShoalError } from "@shoal/errors";
import type { DhtRunner } from "../dht/dht-runner.js";
import { startTorrentDht } from "../dht/torrent-dht.js";

export interface RunTorrentDeps {
  readonly claims: ClaimTable;
  readonly bus: PieceBus;
  readonly store: ObjectStore;
  readonly catalog: TorrentCatalog;
  readonly logger: Logger;
  /** Receives the parsed metadata, for services in the same process. */
  readonly torrents?: TorrentInfoCache;
  readonly onEvent?: (type: string, fields: Record<string, unknown>) => void;
  readonly now?: () => number;
  /** Receives the piece counts each progress round reads, for the metrics endpoint. */
  readonly board?: PieceStateBoard;
  /** Keeps a magnet link's metadata at the destination for the next run (embedded mode). */
  readonly metadataKeeper?: MetadataKeeper;
  /** The poller's DHT node, when it runs one: peers for every torrent that is not private. */
  readonly dht?: DhtRunner;
}

/** Workers not heard from for this long no longer count towards peers and rates. */
const STATS_STALE_MS = 5000;

/**
 * The lifetime of one torrent job: metadata, piece table (with recheck of existing data),
 * announces, progress, completion, then seeding when asked. Resolves when every wanted piece is
 * stored and every selected file has its exact size (and seeding, if any, is over); rejects
 * (after announcing `stopped`) when cancelled before completion or on a permanent error.
 */
export async function runTorrent(config: PollerConfig, deps: RunTorrentDeps, job: TorrentJobData, ctx: JobContext): Promise<JobResult> {
  const { claims, bus, store, catalog } = deps;
  const now = deps.now ?? (() => performance.now());
  const emit = deps.onEvent ?? (() => {});
  const dht = job.options?.dht === false ? undefined : deps.dht;
  let bytes: Uint8Array;
  // Peers a magnet link names (`x.pe`): handed to the workers like tracker peers.
  let linkPeers: readonly PeerAddress[] = [];
  let linkWebSeeds: readonly string[] = [];
  let metadataFrom: string | undefined;
  if (job.source.kind === "magnet") {
    const resolved = await resolveMagnet(
      job.source.uri,
      config,
      { catalog, logger: deps.logger, ...(deps.metadataKeeper ? { keeper: deps.metadataKeeper } : {}), ...(dht ? { dht } : {}) },
      ctx.signal,
      { dhtRetryMs: config.dhtRetrySeconds * 1000 },
    );
    bytes = resolved.torrent;
    linkPeers = resolved.peers;
    linkWebSeeds = resolved.webSeeds;
    metadataFrom = resolved.metadataFrom;
  } else {
    bytes = await resolveSource(job.source, config.maxTorrentMiB * 1024 * 1024, ctx.signal);
  }
  const meta = parseMetainfo(bytes);
  const infoHash = meta.infoHashHex;
  const logger = deps.logger.child({ infoHash });
  const webSeeds = resolveWebSeeds({ torrent: meta.urlList, ...(linkWebSeeds.length > 0 ? { magnet: linkWebSeeds } : {}) }, job.options?.webSeeds);
  // A private torrent's peers come from its trackers only (BEP 27): no DHT.
  const torrentDht = meta.private ? undefined : dht;
  // Web seeds alone can download the whole torrent, and so can a magnet link's peers or the
  // DHT; only without any of them are trackers a must.
  if (!torrentDht && webSeeds.length === 0 && linkPeers.length === 0 && !meta.announceList.flat().some((url) => /^(https?|udp):\/\//i.test(url))) {
    throw new PollerError(
      "NO_TRACKERS",
      `torrent ${meta.name} names no HTTP or UDP tracker (${meta.announceList.flat().join(", ") || "none at all"}), and peers cannot be found without one (${meta.private ? "the DHT is never used for a private torrent" : "the DHT is off"})`,
      { context: { infoHash: meta.infoHashHex } },
    );
  }
  const selection = resolveSelection(meta, job.options?.selectFiles);
  deps.torrents?.add(meta, job.options?.selectFiles, webSeeds);
  const files = selection.selectedFiles.map((i) => meta.files[i]!);
  emit("metadata", {
    infoHash,
    name: meta.name,
    totalBytes: meta.totalLength,
    files: meta.files.filter((f) => !f.padding).length,
    pieces: meta.pieceCount,
    ...(metadataFrom ? { metadataFrom } : {}),
    ...(job.options?.selectFiles ? { selectedFiles: files.length, selectedBytes: selection.wantedBytes } : {}),
  });
  logger.info({ name: meta.name, pieces: meta.pieceCount, bytes: meta.totalLength, wantedPieces: selection.wantedPieces, webSeeds: webSeeds.length }, "torrent loaded");

  await catalog.put({
    infoHash,
    infoBytes: meta.infoBytes,
    announceTiers: meta.announceList,
    destination: job.destination,
    private: meta.private,
    ...(job.options?.selectFiles ? { selectFiles: job.options.selectFiles } : {}),
    ...(job.options?.maxDownloadBytesPerSec ? { maxDownloadBytesPerSec: job.options.maxDownloadBytesPerSec } : {}),
    ...(job.options?.maxUploadBytesPerSec ? { maxUploadBytesPerSec: job.options.maxUploadBytesPerSec } : {}),
    ...(webSeeds.length > 0 ? { webSeeds } : {}),
  });
  await store.openTorrent(torrentLayout(meta, selection.skippedFiles));
  const skipped = new Uint8Array(meta.pieceCount);
  for (const i of selection.skippedPieces) skipped[i] = 1;
  const intact = await intactPieces(store, meta, ctx.signal, (i) => skipped[i] === 1, logger);
  ctx.signal.throwIfAborted();
  // The table is this job's: kept when the job moved here from another owner mid-way, otherwise
  // built from the recheck, since an earlier job's `stored` may name pieces of uploads it aborted
  // or of another destination.
  const started = await claims.startJob(infoHash, ctx.jobId, meta.pieceCount, intact, selection.skippedPieces);
  logger.info({ job: ctx.jobId, table: started, intactPieces: intact.length }, started === "kept" ? "piece table kept: the job continues" : "piece table from the recheck");
  emit("resumed", { infoHash, pieces: intact.length });

  // Stored bytes for progress, from `piece_stored` messages de-duplicated by piece. Completion is
  // never decided from them (a broadcast can be lost or repeated): the claim table decides.
  const storedSeen = new Uint8Array(meta.pieceCount);
  let storedBytes = 0;
  let storedPieces = 0;
  const markStored = (i: number) => {
    if (storedSeen[i] || skipped[i]) return;
    storedSeen[i] = 1;
    storedBytes += pieceLengthOf(meta, i);
    storedPieces++;
  };
  for (const i of await claims.piecesIn(infoHash, "stored")) markStored(i);
  const startBytes = storedBytes;

  let finish: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let checking = false;
  let lastCounts: PieceCounts | undefined;
  let jobOver = false;
  const checkComplete = async () => {
    if (checking) return;
    checking = true;
    try {
      const c = await claims.counts(infoHash);
      lastCounts = c;
      // A read still in flight when the job ended must not bring the torrent back as running.
      if (!jobOver) deps.board?.update(infoHash, c);
      if (c.missing + c.claimed + c.staged + c.verified === 0) finish?.();
    } catch (err) {
      logger.warn({ err, op: "claims.counts" }, "cannot read piece counts");
    } finally {
      checking = false;
    }
  };
  const storedSub = await bus.subscribe("piece_stored", infoHash, (m) => {
    markStored(m.piece);
    if (storedPieces >= selection.wantedPieces) void checkComplete();
  });
  await checkComplete();

  const totals = new SwarmTotals(now, STATS_STALE_MS);
  const statsSub = await bus.subscribe("swarm_stats", infoHash, (m) => totals.update(m));

  const peerId = makePeerId(randomBytes(6));
  const announcer = startAnnouncing(config, {
    meta,
    peerId,
    logger,
    // Trackers (private ones keep ratios from these) get what the workers really moved.
    stats: () => {
      const t = totals.snapshot();
      return { uploaded: t.uploadedBytes, downloaded: t.downloadedBytes, left: selection.wantedBytes - storedBytes };
    },
    onPeers: (peers, source) => void bus.publish("peers_discovered", { infoHash, peers, source }).catch(() => undefined),
    onWarning: (url, message) => {
      logger.warn({ op: "tracker.announce", url }, message);
      emit("warning", { infoHash, message: `tracker ${url}: ${message}` });
    },
  });
  if (meta.private && dht) logger.info({ op: "dht.skip" }, "private torrent: peers from its trackers only, not from the DHT");
  const dhtPeers = torrentDht
    ? startTorrentDht(torrentDht, {
        infoHash: meta.infoHash,
        announcePort: config.announcePort,
        announceEveryMs: config.dhtAnnounceSeconds * 1000,
        retryMs: config.dhtRetrySeconds * 1000,
        logger,
        onPeers: (peers) => void bus.publish("peers_discovered", { infoHash, peers, source: "dht" }).catch(() => undefined),
      })
    : undefined;
  await bus.publish("torrent_started", { infoHash, newJob: started !== "kept" });
  const publishLinkPeers = () =>
    linkPeers.length === 0 ? undefined : void bus.publish("peers_discovered", { infoHash, peers: [...linkPeers], source: "magnet x.pe" }).catch(() => undefined);
  publishLinkPeers();

  // A report that fails (Redis restarting, the job removed behind our back) is only logged: the
  // next one replaces it, and a failed report must neither end the job nor the process.
  const progress = async () => {
    const t = totals.snapshot();
    await ctx.reportProgress({
      infoHash,
      name: meta.name,
      totalBytes: selection.wantedBytes,
      storedBytes,
      pieces: selection.wantedPieces,
      storedPieces,
      peers: t.peers,
      downloadRateBytesPerSec: t.downloadRateBytesPerSec,
      uploadRateBytesPerSec: t.uploadRateBytesPerSec,
      downloadedBytes: t.downloadedBytes,
      uploadedBytes: t.uploadedBytes,
      ...(lastCounts ? { pieceStates: lastCounts } : {}),
      workers: t.workers,
    }).catch((err: unknown) => logger.warn({ err, op: "job.reportProgress" }, "progress not reported"));
  };
  const progressTimer = setInterval(() => {
    void progress();
    void checkComplete();
  }, config.progressIntervalMs);
  // No piece stored for a while: the peers we know may be gone, so ask the trackers again
  // instead of waiting out a long announce interval.
  let lastStoredSeen = storedPieces;
  const stallTimer = setInterval(() => {
    if (storedPieces === lastStoredSeen) {
      announcer.morePeers();
      dhtPeers?.morePeers();
    }
    lastStoredSeen = storedPieces;
  }, config.stallAnnounceSeconds * 1000);
  const sweepTimer = setInterval(
    () => void sweepLeases(claims, bus, infoHash, logger).catch((err: unknown) => logger.warn({ err, op: "claims.expireLeases" }, "lease sweep failed")),
    config.leaseSweepIntervalMs,
  );
  const stuck = new StuckPieces(claims, bus, infoHash, config.stuckPieceSeconds * 1000, now, logger);
  const stuckTimer = setInterval(
    () => void stuck.sweep().catch((err: unknown) => logger.warn({ err, op: "poller.stuckPieces" }, "stuck-piece sweep failed")),
    Math.min(30_000, (config.stuckPieceSeconds * 1000) / 4),
  );
  let storageFailure: ((err: Error) => void) | undefined;
  const storageFailed = new Promise<never>((_, reject) => (storageFailure = reject));
  storageFailed.catch(() => undefined);
  const storageSub = await bus.subscribe("storage_failed", infoHash, (m) => {
    let err: Error;
    try {
      err = ShoalError.fromJSON(m.error);
    } catch (bad) {
      // The job must fail either way: a report we cannot read still says the store gave up.
      err = new PollerError("STORAGE_FAILED", `the store refused a write of piece ${m.piece} for good (its error report was unreadable: ${(bad as Error).message})`, {
        context: { infoHash, piece: m.piece },
      });
    }
    storageFailure?.(err);
  });
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("cancelled"));
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  // Workers that start later hear of the torrent from the repeats; stopped before the end is
  // published, so no repeat follows it from here.
  const startedTimer = setInterval(
    () => {
      void bus.publish("torrent_started", { infoHash, repeat: true }).catch(() => undefined);
      // A worker that joins later learns the link's peers too (its address book drops repeats).
      publishLinkPeers();
    },
    config.startedRepeatSeconds * 1000,
  );
  try {
    await Promise.race([done, aborted, storageFailed]);
    // The writer holds the upload state (part ETags, buffers): it makes the files final.
    await finalizeByWriter(bus, infoHash, { askAgainMs: config.finalizeAskAgainSeconds * 1000, signal: ctx.signal, logger });
    // Progress from the table itself: a lost `piece_stored` must not leave the display short.
    for (const i of await claims.piecesIn(infoHash, "stored")) markStored(i);
    await progress();
    // `completed` tells trackers we became a seed; a partial selection does not make one.
    if (selection.skippedPieces.length === 0) await announcer.completed();
    logger.info({ bytes: selection.wantedBytes }, "torrent complete");
    const seed = job.options?.seed;
    if (seed && (seed.ratio === undefined || seed.ratio > 0) && (seed.seconds === undefined || seed.seconds > 0)) {
      emit("seeding", { infoHash, ...(seed.ratio !== undefined ? { ratio: seed.ratio } : {}), ...(seed.seconds !== undefined ? { seconds: seed.seconds } : {}) });
      const reason = await seedUntilDone(seed, {
        uploadedBytes: () => totals.snapshot().uploadedBytes,
        sizeBytes: selection.wantedBytes,
        signal: ctx.signal,
        checkEveryMs: config.progressIntervalMs,
      });
      await progress();
      logger.info({ reason, uploaded: totals.snapshot().uploadedBytes }, "seeding over");
    }
    clearInterval(startedTimer);
    await bus.publish("torrent_finished", { infoHash, reason: "completed" });
    const t = totals.snapshot();
    return {
      infoHash,
      name: meta.name,
      files: files.map((f) => ({ path: relativeFilePath(meta, f), length: f.length })),
      totalBytes: selection.wantedBytes,
      resumedPieces: intact.length,
      downloadedBytes: storedBytes - startBytes,
      uploadedBytes: t.uploadedBytes,
    };
  } catch (err) {
    clearInterval(startedTimer);
    const reason = ctx.signal.aborted ? (ctx.cancelled() ? "cancelled" : "stopped") : "failed";
    await bus.publish("torrent_finished", { infoHash, reason }).catch(() => undefined);
    if (reason === "cancelled") {
      // Cancelled for good: unfinished multipart uploads are aborted (the writer drops what it
      // holds when it hears the same message); finished files and objects stay.
      // This store was opened before any upload began; opened afresh it reads every upload the
      // writers recorded in the shared ledger, including those of a writer that is gone.
      await (async () => {
        await store.closeTorrent(infoHash);
        await store.openTorrent(torrentLayout(meta, selection.skippedFiles));
        await store.abortTorrent(infoHash);
      })().catch((e: unknown) => logger.warn({ err: e, op: "store.abortTorrent" }, "could not drop unfinished uploads"));
    }
    throw err;
  } finally {
    // A job handed back (the poller stopping) is its next owner's to show; any other end stays.
    jobOver = true;
    deps.board?.ended(infoHash, !ctx.signal.aborted || ctx.cancelled());
    clearInterval(startedTimer);
    clearInterval(progressTimer);
    clearInterval(stallTimer);
    clearInterval(sweepTimer);
    clearInterval(stuckTimer);
    await storedSub.unsubscribe();
    await statsSub.unsubscribe();
    await storageSub.unsubscribe();
    dhtPeers?.stop();
    await announcer.stop();
    await store.closeTorrent(infoHash);
  }
}

/**
 * The pieces the destination holds intact. A store that cannot rewrite part of a file drops the
 * finished files holding damaged pieces (changed since they were written), and their other pieces
 * are fetched again with the damaged ones.
 */
async function intactPieces(store: ObjectStore, meta: Metainfo, signal: AbortSignal, skip: (piece: number) => boolean, logger: Logger): Promise<number[]> {
  const { intact, damaged } = await recheckExisting(store, meta, signal, undefined, skip);
  if (damaged.length === 0) return intact;
  const dropped = new Set(await store.discardDamaged(meta.infoHashHex, damaged));
  // Common after a crash of embedded mode (pieces never written read as zeros); news in a bucket.
  logger.info(
    { damagedPieces: damaged.length, refetchedPieces: dropped.size, op: "store.recheck" },
    `${damaged.length} piece(s) in the destination do not match their hash and are downloaded again` +
      (dropped.size > 0 ? `, with ${dropped.size} other piece(s) of the finished objects they were in` : ""),
  );
  return intact.filter((i) => !dropped.has(i));
}

/** The job's file selection against this torrent; an index it does not have is bad input. */
function resolveSelection(meta: Metainfo, select: readonly number[] | undefined): FileSelection {
  try {
    return selectFiles(meta, select);
  } catch (err) {
    if (!(err instanceof MetainfoError)) throw err;
    throw new PollerError("BAD_SELECTION", `file selection: ${err.message}`, {
      context: { infoHash: meta.infoHashHex, ...err.context },
      cause: err,
    });
  }
}
