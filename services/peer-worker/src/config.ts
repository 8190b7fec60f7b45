import { z } from "zod";
import { envBoolean, envNumber } from "@shoal/service-kit";
import { ENCRYPTION_POLICIES } from "@shoal/wire-net";

export const peerWorkerConfigSchema = z.object({
  /** Identifies this worker: its claims live and die with its heartbeat. Random when empty. */
  workerId: z.string().default(""),
  /** Address to accept peer connections on. */
  listenHost: z.string().default("0.0.0.0"),
  /** TCP port for incoming peers; 0 picks a free one. */
  listenPort: envNumber().int().min(0).max(65535).default(6881),
  /** When `listenPort` is taken, listen on any free port instead of failing. */
  listenPortFallback: envBoolean().default(true),
  /**
   * Live connections per torrent in this worker. The cluster's peer registry may give it fewer:
   * its fair share of the torrent's known peers over the live workers.
   */
  maxConnections: envNumber().int().positive().default(80),
  /** Dials in progress at once, so a long peer list does not flood the network. */
  maxHalfOpen: envNumber().int().positive().default(16),
  /** Memory for pieces in progress and awaiting verification, per torrent. */
  maxBufferedMiB: envNumber().positive().default(96),
  /**
   * Pieces are claimed in runs of consecutive pieces about this long (whole pieces, at least one)
   * in aligned windows of the torrent: started windows are finished, and continued next to,
   * before a window is opened elsewhere at the rarest piece. The S3 store uploads a part (16 MiB
   * or more, cut on piece boundaries) only once all its pieces arrived; runs make parts complete
   * soon after they start, so the writer holds about the pieces in flight instead of most of the
   * torrent. 0 claims single pieces from all over the torrent, rarest first: what a store that
   * writes each piece in place (the filesystem) prefers.
   */
  claimRunMiB: envNumber().min(0).default(16),
  /** Requests in flight per unchoked peer, at least (BEP 3 pipelining). */
  minPipeline: envNumber().int().positive().default(32),
  /**
   * Requests in flight per peer, at most (also capped by the peer's own `reqq`). Transmission
   * honours 511 and silently drops the rest; libtorrent and qBittorrent about 2000.
   */
  maxPipeline: envNumber().int().positive().default(500),
  /** Seconds of a peer's measured rate kept in flight: the pipeline grows with the rate. */
  pipelineSeconds: envNumber().positive().default(2),
  /** A peer that delivers none of its requested blocks for this long is snubbed and its blocks asked elsewhere. */
  requestTimeoutSeconds: envNumber().positive().default(20),
  /**
   * A claimed piece that none of this worker's connections can serve for this long is given back
   * (its partial data dropped), so another worker, or a peer that turns up later, can take it.
   * Longer than a dropped peer takes to come back (dialled again after 10 s, with a 10 s connect
   * timeout), so a brief disconnect does not throw partial pieces away.
   */
  sourcelessClaimSeconds: envNumber().positive().default(30),
  connectTimeoutSeconds: envNumber().positive().default(10),
  /**
   * A worker that joins a torrent registers with the cluster's peer registry at once but dials
   * none of the torrent's peers for up to this long, so that workers joining together split the
   * peers at the first claim: the fair share counts the workers registered at the moment of a
   * claim, and without the wait the first worker to hear of the peers would take them all and
   * hand most over seconds later. The wait ends early, within about 100 ms, once the torrent's
   * registry counts as many live peer workers as the cluster has (at once for a lone worker);
   * this bounds it when one of them is slow or gone. 0 (what one process with one worker uses)
   * dials at once.
   */
  joinSettleMs: envNumber().int().min(0).default(1000),
  /** Silent connections are closed after this long (BEP 3 keep-alives come every 2 minutes). */
  peerIdleSeconds: envNumber().positive().default(180),
  keepAliveSeconds: envNumber().positive().default(60),
  /** Peers we upload to at once, including the optimistic unchoke. */
  uploadSlots: envNumber().int().positive().default(5),
  /**
   * Payload and protocol bytes read from peers per second, for all torrents of this worker
   * together; 0 = unlimited. Reads pause while the limit is spent, so TCP slows the senders.
   */
  maxDownloadBytesPerSec: envNumber().int().min(0).default(0),
  /** Bytes of served blocks per second, for all torrents of this worker together; 0 = unlimited. */
  maxUploadBytesPerSec: envNumber().int().min(0).default(0),
  /**
   * Send a downloaded piece's bytes to the verifier on the bus (what a cluster needs: the
   * verifier runs elsewhere) rather than through the store's staging area (what one process
   * sharing its store prefers: no copy at all). Pieces larger than one bus message ride the
   * bus too, in chunks.
   */
  stagePiecesOnBus: envBoolean().default(true),
  /**
   * Memory for pieces this worker downloaded lately, kept to serve them to peers (per torrent);
   * 0 keeps none. Pieces staged through the store (embedded mode) are served from the store.
   * 32 MiB: the fresh pieces peers ask for, the last seconds of a worker's download at tens of
   * MB/s. Once full it is the largest memory of a worker that a setting bounds; at 64 MiB the
   * peer-worker passed 250 MB of RSS on a torrent of 100,000 pieces (BENCHMARKS.md, "big torrent").
   */
  uploadCacheMiB: envNumber().min(0).default(32),
  /**
   * Rarest first across the cluster: every this many seconds the worker publishes its per-piece
   * count of connected peers to the claim table (only when it changed) and fetches the sum of
   * the other live workers' counts, and picks rank pieces by the two together. A piece only a
   * peer of another worker has is then seen as rare here too, and workers do not all open the
   * pieces the cluster's peers have plenty of. 0 turns it off: each worker ranks by its own
   * connections only.
   */
  availabilitySyncSeconds: envNumber().min(0).default(2),
  /**
   * Message Stream Encryption: "prefer" dials encrypted and falls back to plaintext, and accepts
   * both; "require" refuses plaintext peers; "disable" speaks plaintext only. Processes take it
   * from SHOAL_ENCRYPTION (or `--encryption`).
   */
  encryption: z.enum(ENCRYPTION_POLICIES).default("prefer"),
  /**
   * Fetch pieces from the job's BEP 19 web seeds (HTTP mirrors) too; false turns them off for
   * this worker whatever the job says (`SHOAL_PEER_WORKER_WEB_SEEDS=false`).
   */
  webSeeds: envBoolean().default(true),
  /**
   * Requests in flight per web seed and keep-alive connections per mirror host. Four keeps a
   * mirror's pipe full across request gaps without looking like a download accelerator.
   */
  webSeedRequestsPerHost: envNumber().int().positive().max(32).default(4),
  /** Bytes one web seed request covers, in whole pieces (at least one). */
  webSeedRequestMiB: envNumber().positive().default(4),
  /** Claim lease: a worker silent this long loses its claims. */
  heartbeatTtlSeconds: envNumber().positive().default(15),
});

export type PeerWorkerConfig = z.infer<typeof peerWorkerConfigSchema>;
