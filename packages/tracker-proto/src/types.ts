/** A peer address handed out by a tracker: an IP literal (never a host name) and a port 1..65535. */
export interface Peer {
  readonly ip: string;
  readonly port: number;
}

/** The announce events of BEP 3; a regular re-announce carries none. */
export type AnnounceEvent = "started" | "completed" | "stopped";

/** Byte counters may exceed 2^53 on very long-lived seeds, hence bigint is accepted too. */
export type ByteCount = number | bigint;

/** What a client tells a tracker on announce; shared by the HTTP and the UDP encoders. */
export interface AnnounceParams {
  /** 20 bytes. */
  readonly infoHash: Uint8Array;
  /** 20 bytes. */
  readonly peerId: Uint8Array;
  /** The TCP port we accept peer connections on. */
  readonly port: number;
  readonly uploaded: ByteCount;
  readonly downloaded: ByteCount;
  readonly left: ByteCount;
  /** Omitted for regular re-announces. */
  readonly event?: AnnounceEvent;
  /** How many peers we would like; trackers treat it as a hint. */
  readonly numwant?: number;
  /** 8 hex characters, random per client and constant across its announces (BEP 3 `key`). */
  readonly key?: string;
  /** The `tracker id` a tracker returned earlier; sent back verbatim on later announces. */
  readonly trackerId?: Uint8Array;
  /** Ask for the compact peer list of BEP 23 (default true; nearly every tracker wants it). */
  readonly compact?: boolean;
  /** An IP literal to announce instead of the source address (trackers may ignore it). */
  readonly ip?: string;
}

/** A tracker's answer to an announce, after validation and clamping. */
export interface AnnounceResult {
  /** Seconds until the next regular announce, clamped (see announce-interval.ts). */
  readonly interval: number;
  /** Seconds a client must wait between announces, clamped, never above `interval`. */
  readonly minInterval?: number;
  /** Opaque bytes to send back as `trackerid` on later announces. */
  readonly trackerId?: Uint8Array;
  /** Seeders. */
  readonly complete?: number;
  /** Leechers. */
  readonly incomplete?: number;
  readonly peers: readonly Peer[];
  /** A `warning message`: the announce worked, but the tracker wants a human to know something. */
  readonly warning?: string;
}

/** Swarm counters of one torrent from a scrape. */
export interface ScrapeStats {
  /** Seeders. */
  readonly complete: number;
  /** Leechers. */
  readonly incomplete: number;
  /** Completed downloads ever reported. */
  readonly downloaded: number;
}

/** A scrape answer keyed by lowercase hex info hash. */
export interface ScrapeResult {
  readonly files: ReadonlyMap<string, ScrapeStats>;
}
