import type { ShoalErrorJson } from "@shoal/errors";

/**
 * Bus subjects and their payloads: the only place either is defined. Work that must not be lost
 * (a staged piece to verify and to write, a torrent to finalize) is `durable`: delivered to one
 * member of each queue group, acknowledged by handler success, redelivered on failure. Everything
 * else is a broadcast that can be rebuilt from the claim table. Payloads are JSON-safe, except that a field
 * may hold bytes as a Uint8Array (bus adapters carry them raw, not as base64), and every piece
 * message carries the attempt it belongs to, so handlers can drop stale ones.
 */
export interface PeerAddress {
  readonly ip: string;
  readonly port: number;
}

export interface SubjectPayloads {
  /**
   * A torrent is ready to download: its metadata is in the catalog. The owner publishes it again
   * every few seconds with `repeat` while the torrent runs, so a worker started later joins it; a
   * worker that saw the torrent finish ignores a repeat (it may arrive late), not a new start.
   * `newJob`, on the first publish only, says the piece table was made or rebuilt for this job
   * (ClaimTable.startJob), so whatever a service kept of the torrent belongs to an earlier job;
   * absent or false, the job continues under a new owner.
   */
  torrent_started: { infoHash: string; repeat?: boolean; newJob?: boolean };
  /**
   * The torrent's job ended here: every piece is stored and the files are complete, the job was
   * cancelled (for good: unfinished uploads are dropped), it failed, or it stopped (its owner
   * is shutting down; another owner will take the job over and continue).
   */
  torrent_finished: { infoHash: string; reason: "completed" | "stopped" | "failed" | "cancelled" };
  peers_discovered: { infoHash: string; peers: PeerAddress[]; source: string };
  /**
   * Durable: a piece is downloaded. Two queue groups take each message: the verifier hashes it,
   * and the storage-writer keeps it unacknowledged until the piece's verdict and then writes it,
   * so the bytes cross the bus once. They ride along in `data` when the bus carries them
   * (between machines they cost one network copy instead of a write and a read of a staging
   * object); otherwise they are in the store's staging area.
   */
  piece_staged: { infoHash: string; piece: number; attempt: number; workerId: string; peers: string[]; data?: Uint8Array };
  /**
   * The verifier's verdict: the piece hashed correctly and is `verified` at this attempt. A
   * broadcast without bytes: the writer waiting with the piece's `piece_staged` message writes
   * it at once, and reads the claim table every few seconds in case a verdict is lost, since
   * the table holds the same decision.
   */
  piece_verified: { infoHash: string; piece: number; attempt: number };
  /** The piece is missing again: its hash failed (peers blamed) or its staged bytes were lost (no peers). */
  piece_failed: { infoHash: string; piece: number; attempt: number; peers: string[] };
  piece_stored: { infoHash: string; piece: number; attempt: number };
  peer_banned: { infoHash: string; peer: string };
  /**
   * Durable: every wanted piece is stored; the writer completes the final objects (multipart
   * uploads, empty files) and checks their sizes. Only the writer writes final objects: it is the
   * one that holds the upload state.
   */
  torrent_complete: { infoHash: string };
  /** The writer's answer to `torrent_complete`: the files are final, or why they cannot be. */
  torrent_finalized: { infoHash: string; error?: ShoalErrorJson };
  /**
   * A worker's view of one torrent, about every second: its connections, rates and the bytes it
   * moved since it joined. The torrent's owner sums the latest of each worker for progress and
   * tracker announces; a lost message is replaced by the next.
   */
  swarm_stats: {
    infoHash: string;
    workerId: string;
    peers: number;
    downloadRateBytesPerSec: number;
    uploadRateBytesPerSec: number;
    downloadedBytes: number;
    uploadedBytes: number;
  };
  /** The store refused a write for good (disk full, no permission, a file in the way): the torrent cannot finish. */
  storage_failed: { infoHash: string; piece: number; error: ShoalErrorJson };
}

export type SubjectName = keyof SubjectPayloads;

export const SUBJECTS = {
  torrent_started: { durable: false },
  torrent_finished: { durable: false },
  peers_discovered: { durable: false },
  piece_staged: { durable: true },
  piece_verified: { durable: false },
  piece_failed: { durable: false },
  piece_stored: { durable: false },
  peer_banned: { durable: false },
  torrent_complete: { durable: true },
  torrent_finalized: { durable: false },
  swarm_stats: { durable: false },
  storage_failed: { durable: false },
} as const satisfies Record<SubjectName, { durable: boolean }>;

/** The wire subject: `shoal.<infoHash>.<name with dots>`; `*` for every torrent. */
export function subjectOf(name: SubjectName, infoHash: string | "*"): string {
  return `shoal.${infoHash}.${name.replace(/_/g, ".")}`;
}

/**
 * Where a bus that cannot carry a durable message's bytes in one message keeps them apart, in
 * chunks, until the groups that take the message have read them: `shoal.<infoHash>.bytes.<id>`,
 * `*` for every torrent and every id. One id per published message, so a message's chunks are
 * found (and dropped) by subject. No subject name starts with `bytes`, so these never overlap
 * the subjects of `SUBJECTS`.
 */
export function bytesSubjectOf(infoHash: string | "*", id: string | "*"): string {
  return `shoal.${infoHash}.bytes.${id}`;
}
