/** Where a torrent's files land and how its bytes map onto them. */
export interface TorrentLayout {
  readonly infoHash: string;
  /** The torrent's root name: files land at `<destination>/<name>/...` (single-file: `<destination>/<name>`). */
  readonly name: string;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly files: readonly LayoutFile[];
}

export interface LayoutFile {
  /** Sanitised path components below the root; empty for a single-file torrent. */
  readonly path: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the torrent's byte stream. */
  readonly offset: number;
  /** BEP 47 padding: occupies piece bytes, never written. */
  readonly padding: boolean;
  /**
   * Not selected for download: never created among the final files. Its bytes that share a piece
   * with a selected file are never written into them; a store may keep them apart (the
   * filesystem store does, in a parts file, where `readRange` finds them for rechecks and
   * uploads) or drop them, and then reads them as undefined.
   */
  readonly skipped?: boolean;
}

export interface StagedRef {
  readonly infoHash: string;
  readonly piece: number;
  readonly attempt: number;
  /**
   * The worker that staged the bytes. In end-game two workers can finish the same attempt; each
   * stages under its own key, so the loser can never overwrite or delete the winner's bytes.
   */
  readonly workerId: string;
}

/**
 * Where the bytes live: the staging area between worker and verifier, and the final files.
 * Which pieces are verified is not its business (that is the ClaimTable's). Every write is
 * idempotent. Methods throw StorageError: NOT_FOUND for missing staged bytes, UNKNOWN_TORRENT
 * before `openTorrent`, IO (retryable, with `op` in its context) for backend failures.
 */
export interface ObjectStore {
  /** Registers a torrent's layout (idempotent); must precede the other torrent methods. */
  openTorrent(layout: TorrentLayout): Promise<void>;
  putStaged(ref: StagedRef, data: Uint8Array): Promise<void>;
  getStaged(ref: StagedRef): Promise<Buffer>;
  /** Idempotent: deleting what is not there succeeds. */
  deleteStaged(ref: StagedRef): Promise<void>;
  /**
   * Accepts a verified piece for the final files (split across file boundaries, padding skipped)
   * and resolves with the pieces whose bytes are now durable in their final objects: this one,
   * earlier ones, or none. Only those may be marked `stored`. A store that writes larger units
   * than a piece (S3 multipart parts, whole small objects) holds a piece until the rest of its
   * unit has arrived; one that writes in place (a filesystem) returns the piece at once. Writing
   * a piece again is harmless and reports it durable again once it is.
   */
  writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]>;
  /**
   * Reads bytes of the final files (uploads, recheck). Resolves undefined when any part of the
   * range is absent (file missing or too short); padding reads as zeros.
   */
  readRange(infoHash: string, offset: number, length: number): Promise<Buffer | undefined>;
  /**
   * Pieces a recheck read whole from the final files and found corrupt (their hash did not match:
   * the bytes were changed behind the store's back). A store that writes in place (a file system)
   * keeps its files, since writing those pieces again repairs them, and returns nothing. A store
   * that cannot rewrite part of a finished file (S3 writes an object whole) deletes every
   * finished object holding bytes of such a piece, so that it is written again whole, and returns
   * the other pieces with bytes in those objects: none of them is in the final files any more,
   * whatever its hash said. Idempotent.
   */
  discardDamaged(infoHash: string, pieces: readonly number[]): Promise<readonly number[]>;
  /** Makes every file exist with its exact size (empty files included) and flushes. */
  finalize(infoHash: string): Promise<void>;
  /**
   * A cancelled torrent: drops what is not durable (pieces held for their unit, unfinished
   * multipart uploads) and keeps every finished file or object. Idempotent.
   */
  abortTorrent(infoHash: string): Promise<void>;
  /** Releases the torrent's resources (open files), keeping its data. */
  closeTorrent(infoHash: string): Promise<void>;
  close(): Promise<void>;
}
