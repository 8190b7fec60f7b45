import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { Bitfield, encodeHandshake, makePeerId } from "@shoal/wire";
import type { ClaimTable, ObjectStore, PieceBus, Subscription, SubjectPayloads } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger, RunningService } from "@shoal/service-kit";
import { OUR_RESERVED, SocketInput, acceptHandshake } from "@shoal/wire-net";
import type { PeerWorkerConfig } from "./config.js";
import { TorrentSwarm } from "./swarm.js";
import { PieceBufferPool } from "./piece-buffer-pool.js";
import { BandwidthLimiter, LimiterChain } from "./bandwidth-limiter.js";
import { JobShares } from "./job-shares.js";
import { ClusterPresence } from "./cluster-presence.js";

export interface PeerWorkerDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly torrents: TorrentInfoCache;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Shared with the store in embedded mode, so staged buffers come back for reuse. */
  readonly pool?: PieceBufferPool;
  /** Events a person should see (embedded mode shows them): `warning` with a `message`. */
  readonly onEvent?: (type: string, fields: Record<string, unknown>) => void;
}

export interface RunningPeerWorker extends RunningService {
  /** The TCP port peers can reach this worker on (to announce). */
  readonly port: number;
  readonly workerId: string;
  /** One torrent's swarm status once the worker has joined it (connections, rates, end-game). */
  swarmStatus(infoHash: string): Record<string, unknown> | undefined;
  /**
   * Payload bytes moved per torrent: the joined ones, and those that ended here within
   * `ENDED_TOTALS_KEEP_MS`, so that bytes moved between a metrics scrape and the torrent's end
   * are still counted by the next scrape.
   */
  byteTotals(): Record<string, ByteTotals>;
}

export interface ByteTotals {
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
}

/** How long an ended torrent's byte totals stay readable: several scrape intervals. */
export const ENDED_TOTALS_KEEP_MS = 10 * 60_000;

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often each swarm's stats go to the torrent's owner: a progress display's refresh rate. */
const STATS_INTERVAL_MS = 1000;
/**
 * Finished torrents remembered, so late messages about them are ignored. Late messages come
 * within seconds of the end; ten thousand info hashes cost about a megabyte.
 */
const FINISHED_REMEMBERED = 10_000;

/**
 * The peer-worker: its share of the peer connections of every running torrent. Which peers it
 * connects is decided with the other workers in the claim table's peer registry.
 */
export async function start(config: PeerWorkerConfig, deps: PeerWorkerDeps): Promise<RunningPeerWorker> {
  const workerId = config.workerId || `worker-${randomBytes(4).toString("hex")}`;
  const logger = deps.logger.child({ component: "peer-worker", workerId });
  const now = deps.now ?? (() => performance.now());
  const random = deps.random ?? Math.random;
  const peerId = makePeerId(randomBytes(6));
  const pool = deps.pool ?? new PieceBufferPool(config.maxBufferedMiB * 1024 * 1024);
  const downloadLimiter = new BandwidthLimiter(config.maxDownloadBytesPerSec, now);
  const uploadLimiter = new BandwidthLimiter(config.maxUploadBytesPerSec, now);
  /** Each torrent's job-wide rate limits, split over the workers on it. */
  const jobShares = new JobShares(workerId, now);
  const swarms = new Map<string, Promise<TorrentSwarm | undefined>>();
  /** Swarms whose join finished and whose torrent has not: what `status` reports. */
  const joined = new Map<string, TorrentSwarm>();
  /**
   * Torrents that finished here. Core NATS can deliver a peer list after `torrent_finished`, and
   * joining again would dial peers and run timers for a torrent nobody downloads any more; only a
   * new `torrent_started` brings one back. Each with the reason it ended.
   */
  const finished = new Map<string, SubjectPayloads["torrent_finished"]["reason"]>();
  const subs: Subscription[] = [];
  /** Final byte totals of torrents that ended here, with when (`now()`), for `byteTotals`. */
  const endedTotals = new Map<string, ByteTotals & { endedAt: number }>();

  /** Incoming sockets until they close: those still in their handshake belong to no swarm. */
  const accepted = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    accepted.add(socket);
    socket.once("close", () => accepted.delete(socket));
    void accept(socket);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, config.listenHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
  try {
    await listen(config.listenPort);
  } catch (err) {
    // Another client on the usual port is common; any free port works, trackers learn it.
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || !config.listenPortFallback) throw err;
    logger.info({ port: config.listenPort }, "port in use; listening on a free port instead");
    await listen(0);
  }
  server.on("error", (err) => logger.error({ err, op: "peer-worker.listen" }, "listener failed"));
  const port = (server.address() as { port: number }).port;

  // A lease per torrent (it lives in the torrent's slot of the claim table), refreshed three
  // times per lease so one late beat never costs the claims.
  const heartbeat = async (infoHash: string) => {
    const sentAt = now();
    try {
      await deps.claims.heartbeat(infoHash, workerId, config.heartbeatTtlSeconds * 1000);
      joined.get(infoHash)?.leaseRenewed(sentAt);
    } catch (err) {
      logger.error({ err, infoHash, op: "claims.heartbeat" }, "heartbeat failed; claims may expire");
    }
  };
  // Counted among the cluster's peer workers before we hear of any torrent, and for as long as
  // our leases: a worker joining a torrent waits for that many to register with it, no longer.
  const presence = new ClusterPresence({ claims: deps.claims, workerId, ttlMs: config.heartbeatTtlSeconds * 1000, logger });
  await presence.refresh();
  const heartbeatTimer = setInterval(() => {
    void presence.refresh();
    for (const infoHash of joined.keys()) void heartbeat(infoHash);
  }, (config.heartbeatTtlSeconds * 1000) / 3);
  heartbeatTimer.unref();

  async function join(infoHash: string): Promise<TorrentSwarm | undefined> {
    const info = await deps.torrents.get(infoHash);
    // The count of peer workers the settle waits for is read afresh: the last heartbeat's may be
    // seconds old, from before workers that started since.
    await Promise.all([deps.claims.heartbeat(infoHash, workerId, config.heartbeatTtlSeconds * 1000), presence.refresh()]);
    const have = new Bitfield(info.metainfo.pieceCount);
    const done = new Bitfield(info.metainfo.pieceCount);
    for (const i of await deps.claims.piecesIn(infoHash, "stored")) {
      have.set(i);
      done.set(i);
    }
    for (const i of await deps.claims.piecesIn(infoHash, "skipped")) done.set(i);
    const share = jobShares.open(infoHash, info.limits);
    const swarm = new TorrentSwarm(
      info.metainfo,
      have,
      done,
      config,
      {
        ...deps,
        logger,
        workerId,
        peerId,
        now,
        random,
        pool,
        downloadLimiter: share ? new LimiterChain([downloadLimiter, share.download]) : downloadLimiter,
        uploadLimiter: share ? new LimiterChain([uploadLimiter, share.upload]) : uploadLimiter,
        webSeeds: info.webSeeds,
        onWarning: (message) => deps.onEvent?.("warning", { infoHash, message }),
        peerWorkers: () => presence.peerWorkers,
      },
      port,
    );
    for (const peer of await deps.claims.bannedPeers(infoHash)) swarm.ban(peer);
    logger.info({ infoHash, stored: have.count(), pieces: info.metainfo.pieceCount }, "joined torrent");
    return swarm;
  }

  function swarmOf(infoHash: string): Promise<TorrentSwarm | undefined> {
    const current = swarms.get(infoHash);
    if (current) return current;
    const p: Promise<TorrentSwarm | undefined> = join(infoHash).then(
      (swarm) => {
        // The torrent may have finished while it was being joined; its handler closes this swarm.
        if (swarm && swarms.get(infoHash) === p) joined.set(infoHash, swarm);
        return swarm;
      },
      (err: unknown) => {
        logger.error({ err, infoHash, op: "peer-worker.join" }, "could not join torrent");
        if (swarms.get(infoHash) === p) swarms.delete(infoHash);
        return undefined;
      },
    );
    swarms.set(infoHash, p);
    return p;
  }

  /** This worker's view of one torrent, for the owner's progress and announces (see `swarm_stats`). */
  function publishStats(infoHash: string, s: TorrentSwarm): Promise<void> {
    return deps.bus.publish("swarm_stats", { infoHash, workerId, ...s.stats() });
  }

  function markFinished(infoHash: string, reason: SubjectPayloads["torrent_finished"]["reason"]): void {
    finished.delete(infoHash);
    finished.set(infoHash, reason);
    // Maps iterate in insertion order: the first entry is the torrent that finished longest ago.
    if (finished.size > FINISHED_REMEMBERED) finished.delete(finished.keys().next().value as string);
  }

  async function accept(socket: Socket): Promise<void> {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on("error", () => socket.destroy());
    try {
      const input = SocketInput.fromDataEvents(socket);
      // An MSE initiator names its torrent only through a hash we match against each of ours.
      const ours = () => [...swarms.keys()].map((hex) => Buffer.from(hex, "hex"));
      const { handshake, rest, encrypt } = await acceptHandshake(socket, input, config.encryption, ours, HANDSHAKE_TIMEOUT_MS);
      const infoHash = Buffer.from(handshake.infoHash).toString("hex");
      const swarm = swarms.has(infoHash) ? await swarms.get(infoHash) : undefined;
      // The address as seen is registered in the cluster's peer registry before we answer: another
      // worker may own it, or our share of the torrent's peers may be full.
      if (!swarm || !(await swarm.admit(key))) {
        socket.destroy();
        return;
      }
      const reply = encodeHandshake({ reserved: OUR_RESERVED, infoHash: handshake.infoHash, peerId });
      encrypt?.process(reply);
      socket.write(reply);
      swarm.attach(socket, input, handshake, rest, key, false, encrypt);
    } catch (err) {
      logger.debug({ peer: key, err: (err as Error).message }, "incoming handshake failed");
      socket.destroy();
    }
  }

  subs.push(
    await deps.bus.subscribe("torrent_started", "*", async (m) => {
      // A repeat is for workers that started after the torrent did; one that arrives after the
      // end (core NATS keeps no order across subjects we could rely on) must not revive it. A
      // torrent that only stopped (its owner shut down) goes on under the next owner, whose
      // repeats bring it back even if its first torrent_started was lost.
      const ended = finished.get(m.infoHash);
      if (m.repeat === true && ended !== undefined && ended !== "stopped") return;
      finished.delete(m.infoHash);
      // A new job on the torrent may select other files and set other limits: read its record
      // afresh rather than what an earlier job left in the cache.
      if (m.newJob === true && !swarms.has(m.infoHash)) deps.torrents.forget(m.infoHash);
      await swarmOf(m.infoHash);
    }),
    await deps.bus.subscribe("torrent_finished", "*", async (m) => {
      markFinished(m.infoHash, m.reason);
      jobShares.close(m.infoHash);
      const p = swarms.get(m.infoHash);
      swarms.delete(m.infoHash);
      joined.delete(m.infoHash);
      const swarm = await p;
      await swarm?.close();
      if (swarm) {
        const t = swarm.stats();
        endedTotals.delete(m.infoHash);
        endedTotals.set(m.infoHash, { downloadedBytes: t.downloadedBytes, uploadedBytes: t.uploadedBytes, endedAt: now() });
      }
    }),
    await deps.bus.subscribe("peers_discovered", "*", async (m) => {
      if (finished.has(m.infoHash)) return;
      // Every worker hears every peer list; the registry decides which of them each one connects.
      (await swarmOf(m.infoHash))?.addPeers(m.peers);
    }),
    await deps.bus.subscribe("piece_stored", "*", async (m) => {
      const s = await swarms.get(m.infoHash);
      if (!s) return;
      const wasComplete = s.complete;
      s.onStored(m.piece);
      // The last piece is in: our byte totals are final, and the owner's last progress report
      // (after the writer finalizes, often within a second) should not miss the last second of them.
      if (!wasComplete && s.complete && !s.closed) {
        await publishStats(m.infoHash, s).catch(() => undefined);
      }
    }),
    await deps.bus.subscribe("piece_failed", "*", async (m) => (await swarms.get(m.infoHash))?.onFailed(m.piece, m.peers)),
    await deps.bus.subscribe("peer_banned", "*", async (m) => (await swarms.get(m.infoHash))?.ban(m.peer)),
  );
  // Each swarm's connections, rates and byte totals go to the torrent's owner every second:
  // progress displays and tracker announces sum them over workers.
  // Other workers' reports tell how many share each torrent's job limits.
  subs.push(await deps.bus.subscribe("swarm_stats", "*", (m) => jobShares.heard(m.infoHash, m.workerId)));
  const statsTimer = setInterval(() => {
    jobShares.rebalance();
    for (const [infoHash, p] of swarms) {
      void p
        .then((s) => (s && !s.closed ? publishStats(infoHash, s) : undefined))
        .catch((err: unknown) => logger.debug({ err, infoHash, op: "bus.publish" }, "swarm stats not sent"));
    }
  }, STATS_INTERVAL_MS);
  statsTimer.unref();
  logger.info({ port }, "peer-worker listening");

  return {
    port,
    workerId,
    swarmStatus: (infoHash) => joined.get(infoHash)?.status(),
    async stop() {
      clearInterval(heartbeatTimer);
      clearInterval(statsTimer);
      // First, so that nobody joining a torrent now waits for us.
      await presence.leave();
      for (const s of subs) await s.unsubscribe();
      // The listener's close completes only once every accepted socket is gone, and the swarms
      // hold the live ones: stop accepting, close the swarms, drop sockets still in their
      // handshake, and only then wait for it. Waiting first held a drain up for as long as any
      // peer stayed connected.
      const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const p of swarms.values()) await (await p)?.close();
      for (const socket of accepted) socket.destroy();
      await listenerClosed;
      swarms.clear();
      joined.clear();
      downloadLimiter.close();
      uploadLimiter.close();
    },
    status: () => Object.fromEntries([...joined].map(([ih, s]) => [ih, s.status()])),
    byteTotals: () => {
      const out: Record<string, ByteTotals> = {};
      // Maps iterate in insertion order: the oldest ended torrents come first.
      for (const [ih, t] of endedTotals) {
        if (now() - t.endedAt > ENDED_TOTALS_KEEP_MS || endedTotals.size > FINISHED_REMEMBERED) endedTotals.delete(ih);
        else out[ih] = { downloadedBytes: t.downloadedBytes, uploadedBytes: t.uploadedBytes };
      }
      for (const [ih, s] of joined) {
        const t = s.stats();
        out[ih] = { downloadedBytes: t.downloadedBytes, uploadedBytes: t.uploadedBytes };
      }
      return out;
    },
  };
}
