import { z } from "zod";
import { envBoolean, envNumber } from "@shoal/service-kit";
import { ENCRYPTION_POLICIES } from "@shoal/wire-net";

export const pollerConfigSchema = z.object({
  /** Port announced to trackers: where this torrent's peer-workers accept connections. */
  announcePort: envNumber().int().min(1).max(65535).default(6881),
  /** Peers asked of each tracker per announce. */
  numwant: envNumber().int().positive().max(500).default(80),
  /** HTTP tracker request timeout. */
  trackerTimeoutSeconds: envNumber().positive().default(15),
  /** UDP tracker retransmit base (BEP 15: 15 s doubling); lower only for tests. */
  udpRetransmitBaseMs: envNumber().int().positive().default(15_000),
  /** Largest .torrent accepted from a URL (30 MiB, as for metadata). */
  maxTorrentMiB: envNumber().positive().default(30),
  /** How often job progress is reported. */
  progressIntervalMs: envNumber().int().positive().default(1000),
  /**
   * How often `torrent_started` is published again while a torrent runs: a peer-worker started
   * mid-download joins within this long (its peers then come from the claim table's registry).
   */
  startedRepeatSeconds: envNumber().positive().default(5),
  /** How often expired worker leases are swept (their claims and held pieces go back to missing, announced with piece_failed). */
  leaseSweepIntervalMs: envNumber().int().positive().default(5000),
  /** With no piece stored for this long, trackers are asked for peers again (within their min interval). */
  stallAnnounceSeconds: envNumber().positive().default(30),
  /** Seconds to wait for trackers to acknowledge `stopped` on exit. */
  stopAnnounceSeconds: envNumber().positive().default(3),
  /**
   * Seconds to wait for the storage-writer to confirm the files are final before asking again.
   * Completing a multipart upload is one request per object; a torrent of thousands of files
   * takes a while, and asking again is harmless.
   */
  finalizeAskAgainSeconds: envNumber().positive().default(60),
  /**
   * A piece staged, or verified and held by no writer, at the same attempt for this long lost
   * its bus message (a NATS server killed before it flushed, a message dropped as poison): it
   * goes back to missing. Longer than any healthy backlog of the verifiers and writers.
   */
  stuckPieceSeconds: envNumber().positive().default(300),
  /** How long a magnet link's metadata may take to arrive from peers before the try fails (and is retried). */
  metadataTimeoutSeconds: envNumber().positive().default(300),
  /** Largest info dict accepted from peers (BEP 9 `metadata_size`), as for .torrent files. */
  maxMetadataMiB: envNumber().positive().default(30),
  /**
   * Protocol encryption (MSE/PE) of the connections that fetch a magnet link's metadata: the
   * workers' policy (SHOAL_ENCRYPTION, `--encryption`), so a peer that takes only encrypted
   * connections gives the metadata too, and `require` sends nothing in plaintext.
   */
  encryption: z.enum(ENCRYPTION_POLICIES).default("prefer"),
  /** Jobs (torrents) this poller owns at once. */
  concurrency: envNumber().int().positive().default(4),
  /**
   * Torrents active at once in the whole cluster, over every poller (the job queue's global cap;
   * others wait their turn in the queue). Set at start, so every poller should get the same value;
   * 0 lifts the cap; unset leaves the cluster's current cap as it is.
   */
  maxActiveTorrents: envNumber().int().min(0).optional(),
  /**
   * Find peers through the mainline DHT (BEP 5) too: one node per poller, shared by its
   * torrents. Never for private torrents (BEP 27).
   */
  dht: envBoolean().default(true),
  /** UDP port of the DHT node; a busy port falls back to a free one; 0 = a free port. */
  dhtPort: envNumber().int().min(0).max(65535).default(6881),
  /**
   * Nodes to join the DHT through, host:port[,host:port...]; unset: the well-known public
   * routers. Checked at start.
   */
  dhtBootstrap: z.string().optional(),
  /** Where the node's id and routing table are kept across runs; unset: a file in the temp directory. */
  dhtStateFile: z.string().optional(),
  /** A torrent's DHT announce is repeated this often (libtorrent: 15 min). */
  dhtAnnounceSeconds: envNumber().positive().default(900),
  /**
   * Lookups are no closer together than this when asked for more peers (a stalled download);
   * while lookups find no peers they are repeated sooner, from 5 s up to this.
   */
  dhtRetrySeconds: envNumber().positive().default(60),
});

export type PollerConfig = z.infer<typeof pollerConfigSchema>;
