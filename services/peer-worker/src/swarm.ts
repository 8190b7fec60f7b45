import type { Socket } from "node:net";
import type { Bitfield, Handshake, Rc4 } from "@shoal/wire";
import type { ClaimTable, ObjectStore, PieceBus, PeerAddress } from "@shoal/coordination";
import type { InfoDict } from "@shoal/metainfo";
import { pieceLengthOf } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import type { RateLimit } from "./bandwidth-limiter.js";
import { AvailabilitySync } from "./availability-sync.js";
import { BlockScheduler } from "./block-scheduler.js";
import { CHOKE_INTERVAL_MS } from "./choker.js";
import type { PeerWorkerConfig } from "./config.js";
import type { PeerConnection } from "./connection.js";
import { MetadataServer } from "./metadata-server.js";
import { PexExchange } from "./pex-exchange.js";
import { isOwnAddress } from "./own-addresses.js";
import { PeerDialer } from "./peer-dialer.js";
import { PeerMessageHandler } from "./peer-message-handler.js";
import { Uploader } from "./uploader.js";
import { RecentPieces } from "./recent-pieces.js";
import { RateMeter } from "./rate-meter.js";
import { stagePiece, type StageContext } from "./piece-stager.js";
import { PublishGate } from "./publish-gate.js";
import { WebSeedSource } from "./web-seed-source.js";
import { runPiecesFor } from "./run-picker.js";
import { SwarmConnections } from "./swarm-connections.js";
import type { SocketInput } from "@shoal/wire-net";
import type { PieceBufferPool } from "./piece-buffer-pool.js";

export interface SwarmDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly logger: Logger;
  readonly workerId: string;
  readonly peerId: Uint8Array;
  readonly now: () => number;
  readonly random: () => number;
  readonly pool: PieceBufferPool;
  /** The worker's rate limits, shared by all its torrents. */
  readonly downloadLimiter?: RateLimit;
  readonly uploadLimiter?: RateLimit;
  /** The job's BEP 19 web seeds (none when absent). */
  readonly webSeeds?: readonly string[];
  /** Warnings a person should see (a web seed failing or banned). */
  readonly onWarning?: (message: string) => void;
  /** The cluster's live peer workers, this one included, as last heard (see `PeerDialer`). */
  readonly peerWorkers?: () => number | undefined;
}

/** How often the swarm checks timeouts, dials peers and keeps connections alive. */
const TICK_MS = 1000;
/** Every this many ticks, forget which pieces were claimed elsewhere and ask again. */
const ELSEWHERE_REFRESH_TICKS = 10;
/** Share of the lease without a renewing heartbeat after which the swarm drops its peers. */
const LEASE_FENCE_FRACTION = 0.8;

/**
 * One torrent inside one worker: its connections, what they have, and the scheduler that turns
 * claims into block requests. Everything a peer sends is checked here before it changes state.
 */
export class TorrentSwarm {
  readonly conns = new Map<string, PeerConnection>();
  /** Whom we connect: the address book, dials, and our part of the cluster's peer registry. */
  private readonly dialer: PeerDialer;
  readonly scheduler: BlockScheduler;
  /** Our per-piece counts out to the claim table, the other workers' in: rarest first cluster-wide. */
  private readonly availabilitySync: AvailabilitySync;
  private readonly uploader: Uploader;
  /** Pieces downloaded here lately, for serving before their objects are readable. */
  private readonly recent: RecentPieces;
  private readonly stageContext: StageContext;
  /** The job's web seeds, when it has any and this worker uses them. */
  private readonly webSeeds: WebSeedSource | undefined;
  /** Admission, bans, upload slots and the end of each connection in `conns`. */
  private readonly connections: SwarmConnections;
  /** What each connection's messages do to the torrent. */
  private readonly messages: PeerMessageHandler;
  private readonly timers: NodeJS.Timeout[] = [];
  /** When the last heartbeat that renewed our lease on this torrent was sent. */
  private leaseRenewedAt: number;
  private ticks = 0;
  /** Set once by `close`; a closed swarm takes no connections and sends nothing. */
  closed = false;
  readonly logger: Logger;
  /** Every payload byte received and served in this torrent, for totals and rates that outlive connections. */
  readonly received: RateMeter;
  readonly sent: RateMeter;

  /** Staged pieces on their way to the bus at once, bounded (see publish-gate.ts). */
  private readonly stageGate: PublishGate;
  /** The info dict for peers that came from a magnet link (BEP 9); none for a private torrent. */
  private readonly metadataServer: MetadataServer;
  /** Peer exchange (BEP 11); offers, reads and sends nothing for a private torrent. */
  readonly pex: PexExchange;

  /**
   * @param have pieces stored: what we advertise and serve.
   * @param done pieces we need nothing more of: `have` plus the pieces no selected file needs.
   *   The scheduler claims only outside it, and the download is complete when it is full.
   */
  constructor(
    readonly meta: InfoDict,
    readonly have: Bitfield,
    private readonly done: Bitfield,
    private readonly config: PeerWorkerConfig,
    private readonly deps: SwarmDeps,
    listenPort: number,
  ) {
    this.logger = deps.logger.child({ infoHash: meta.infoHashHex });
    this.metadataServer = new MetadataServer(meta.private ? undefined : meta.infoBytes);
    this.pex = new PexExchange(
      !meta.private,
      {
        connections: () => this.conns.values(),
        isOwnAddress: (ip, port) => isOwnAddress(ip, port, listenPort),
        complete: () => this.complete,
        learn: (peers) => this.dialer.learnPeers(peers.filter((p) => !this.connections.isBanned(`${p.ip}:${p.port}`))),
      },
      deps.now,
      this.logger,
    );
    // Per torrent, sized by its pieces; a worker rarely runs several torrents at full rate.
    this.stageGate = PublishGate.forPieces(meta.pieceLength);
    // The worker heartbeats the torrent just before it builds the swarm.
    this.leaseRenewedAt = deps.now();
    this.dialer = new PeerDialer(
      {
        isClosed: () => this.closed,
        conns: this.conns,
        isBanned: (key) => this.connections.isBanned(key),
        attach: (h, key) => this.attach(h.socket, h.input, h.handshake, h.rest, key, true, h.encrypt),
      },
      config,
      {
        claims: deps.claims,
        infoHash: meta.infoHash,
        infoHashHex: meta.infoHashHex,
        peerId: deps.peerId,
        workerId: deps.workerId,
        now: deps.now,
        logger: this.logger,
        expectedWorkers: deps.peerWorkers,
      },
    );
    this.received = new RateMeter(deps.now);
    this.sent = new RateMeter(deps.now);
    const pieceLength = (i: number) => pieceLengthOf(meta, i);
    this.scheduler = new BlockScheduler(
      {
        infoHash: meta.infoHashHex,
        workerId: deps.workerId,
        pieceCount: meta.pieceCount,
        pieceLength,
        maxBufferedBytes: Math.max(config.maxBufferedMiB * 1024 * 1024, 2 * meta.pieceLength),
        runPieces: runPiecesFor(config.claimRunMiB * 1024 * 1024, meta.pieceLength),
        minPipeline: config.minPipeline,
        maxPipeline: config.maxPipeline,
        pipelineSeconds: config.pipelineSeconds,
        requestTimeoutMs: config.requestTimeoutSeconds * 1000,
        sourcelessClaimMs: config.sourcelessClaimSeconds * 1000,
        now: deps.now,
        random: deps.random,
        pool: deps.pool,
      },
      done,
      deps.claims,
      { onComplete: (p) => stagePiece(this.stageContext, p), connections: () => this.conns.values() },
      this.logger,
    );
    this.availabilitySync = new AvailabilitySync(
      { infoHash: meta.infoHashHex, workerId: deps.workerId, intervalMs: config.availabilitySyncSeconds * 1000, now: deps.now },
      this.scheduler.availability,
      this.scheduler.othersAvailability,
      deps.claims,
      this.logger,
    );
    // The others' counts now, before the first connection's bitfield makes us pick.
    this.availabilitySync.tick();
    // Evicted pieces' buffers go back to the pool for the next downloads (fresh ones cost page faults).
    this.recent = new RecentPieces(config.uploadCacheMiB * 1024 * 1024, (d) => deps.pool.release(Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
    this.uploader = new Uploader(meta.infoHashHex, have, pieceLength, meta.pieceLength, deps.store, this.sent, deps.uploadLimiter, this.recent);
    const { claims, store, bus, pool, workerId } = deps;
    const { scheduler, recent } = this;
    const stagePiecesOnBus = config.stagePiecesOnBus;
    this.stageContext = { infoHash: meta.infoHashHex, claims, store, bus, pool, workerId, scheduler, recent, stagePiecesOnBus, stageGate: this.stageGate, logger: this.logger, closed: () => this.closed };
    this.webSeeds = WebSeedSource.forSwarm(meta, config, scheduler, { ...deps, logger: this.logger, received: this.received, limiter: deps.downloadLimiter });
    const { dialer, metadataServer, pex, logger } = this;
    const isComplete = () => this.complete;
    this.connections = new SwarmConnections(this.conns, {
      pieceCount: meta.pieceCount,
      have,
      config,
      listenPort,
      peerId: deps.peerId,
      now: deps.now,
      random: deps.random,
      downloadLimiter: deps.downloadLimiter,
      logger,
      dialer,
      scheduler,
      metadataServer,
      pex,
      isClosed: () => this.closed,
      isComplete,
      onMessage: (c, m) => this.messages.onMessage(c, m),
    });
    const { connections, received, uploader } = this;
    this.messages = new PeerMessageHandler({ pieceCount: meta.pieceCount, done, config, received, scheduler, uploader, metadataServer, pex, connections, logger, isComplete });
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.connections.choke(), CHOKE_INTERVAL_MS));
    for (const t of this.timers) t.unref();
    // A worker that joins mid-download knows no peers yet: the registry's free ones come now.
    this.dialer.run();
  }

  /** Every selected file is complete (every piece, without a selection). */
  get complete(): boolean {
    return this.done.isComplete();
  }

  /** A heartbeat sent at `sentAt` renewed our lease on the torrent. */
  leaseRenewed(sentAt: number): void {
    this.leaseRenewedAt = Math.max(this.leaseRenewedAt, sentAt);
  }

  addPeers(peers: readonly PeerAddress[]): void {
    this.dialer.addPeers(peers);
  }

  /**
   * An accepted connection from `key` (the address as seen) asks to join: refused at once when we
   * could not keep it anyway, else when the cluster's registry gives the address to another worker
   * or our share is full. Registered, it is ours until it ends.
   */
  admit(key: string): Promise<boolean> {
    return this.connections.admit(key);
  }

  ban(peer: string): void {
    if (WebSeedSource.isWebSeedId(peer)) return this.webSeeds?.ban(peer);
    this.connections.ban(peer);
  }

  /** A connection whose handshake named this torrent (dialled or accepted); `encrypt` is set on an RC4 (MSE) connection. */
  attach(socket: Socket, input: SocketInput, handshake: Handshake, rest: Buffer, key: string, outgoing: boolean, encrypt: Rc4 | null = null): void {
    this.connections.attach(socket, input, handshake, rest, key, outgoing, encrypt);
  }

  /** The piece is missing again (hash failed, bytes lost): its kept bytes, if any, were wrong or are stale. */
  onFailed(index: number, peers: readonly string[]): void {
    this.recent.delete(index);
    this.scheduler.onFailed(index, peers);
  }

  onStored(index: number): void {
    if (this.have.has(index)) return;
    this.have.set(index);
    const wasWanted = !this.done.has(index);
    this.done.set(index);
    this.scheduler.onStored(index);
    for (const c of this.conns.values()) {
      if (c.bitfield.has(index)) {
        if (wasWanted) c.interestingPieces--;
        this.messages.updateInterest(c);
      } else {
        c.sendHave(index);
      }
    }
    if (this.complete) {
      // Seeds have nothing to gain from a complete peer: free their slots.
      for (const c of [...this.conns.values()]) if (c.bitfield.isComplete()) this.connections.dropSeed(c, "download complete");
    }
  }

  /**
   * Leaves the torrent: claims and peers go back to the table, our availability vector is
   * withdrawn, and the lease ends at once, so the other workers' fair share grows now rather than
   * when the lease would have lapsed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.webSeeds?.close();
    await this.scheduler.releaseAll();
    for (const c of [...this.conns.values()]) c.close("torrent stopped");
    await this.dialer.close();
    await this.availabilitySync.close();
    await this.deps.claims.heartbeat(this.meta.infoHashHex, this.deps.workerId, 0).catch((err: unknown) => {
      this.logger.debug({ err, op: "claims.heartbeat" }, "lease not ended; it lapses on its own");
    });
  }

  /** What the torrent's owner sums over workers (the `swarm_stats` payload, without ids). */
  stats(): { peers: number; downloadRateBytesPerSec: number; uploadRateBytesPerSec: number; downloadedBytes: number; uploadedBytes: number } {
    return {
      peers: this.conns.size,
      downloadRateBytesPerSec: this.received.rate(),
      uploadRateBytesPerSec: this.sent.rate(),
      downloadedBytes: this.received.total,
      uploadedBytes: this.sent.total,
    };
  }

  status(): Record<string, unknown> {
    return {
      ...this.stats(),
      ...this.dialer.status(),
      activePieces: this.scheduler.active.size,
      // Pieces held under this worker's lease: claimed and downloading (end-game duplicates of
      // other workers' claims are not ours), and staged, waiting for the verifier.
      claimedPieces: countOwned(this.scheduler.active.values()),
      stagedPieces: this.scheduler.pending.size,
      endgame: this.scheduler.endgame,
      wastedBytes: this.scheduler.wastedBytes,
      pex: { ...this.pex.stats },
      ...(this.webSeeds ? { webSeeds: this.webSeeds.status() } : {}),
    };
  }

  private tick(): void {
    if (this.closed) return;
    this.ticks++;
    const now = this.deps.now();
    const idleMs = this.config.peerIdleSeconds * 1000;
    for (const c of [...this.conns.values()]) {
      if (now - c.lastReceivedAt > idleMs) c.close(`silent for ${this.config.peerIdleSeconds} s`);
      else if (now - c.lastSentAt > this.config.keepAliveSeconds * 1000) c.keepAlive();
    }
    this.scheduler.tick(this.ticks % ELSEWHERE_REFRESH_TICKS === 0);
    this.availabilitySync.tick();
    // Heartbeats go every third of the lease; with none renewing it for four fifths of it (two
    // failed in a row), stop connecting our peers before the lease lapses and the registry
    // gives them to other workers. One slow or failed heartbeat stays below this.
    if (now - this.leaseRenewedAt > this.config.heartbeatTtlSeconds * 1000 * LEASE_FENCE_FRACTION) this.dialer.fence();
    this.dialer.tick();
    this.pex.tick();
  }
}

function countOwned(pieces: Iterable<{ readonly owned: boolean }>): number {
  let n = 0;
  for (const p of pieces) if (p.owned) n++;
  return n;
}
