import { createHash, type Hash } from "node:crypto";
import type { TreeReader } from "@shoal/coordination";
import { pieceHash, pieceLengthOf, type InfoDict } from "@shoal/metainfo";
import { ChunkStream } from "./chunk-stream.js";
import { PIECE_OUTCOME, tallyVerdicts, type VerifyReport } from "./file-verdicts.js";
import { pieceReads, planVerification, readChunks } from "./verify-plan.js";

/**
 * Bytes asked for in one read. 8 MiB keeps S3 at 128 GETs per GiB (each costs a round trip and a
 * request fee) and a local disk at full speed, while the memory of a check stays a few chunks.
 */
export const READ_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Chunks requested ahead of the one being hashed, so hashing and the next read overlap: SHA-1
 * runs at about 1 GB/s here, an S3 GET at 200 MB/s, and a torrent of small files would otherwise
 * pay a full round trip per file. Two keep memory at three chunks (24 MiB) at most.
 */
export const READ_AHEAD_CHUNKS = 2;

/** Zeros fed to the hash for BEP 47 padding, which is never stored. */
const ZEROS = Buffer.alloc(64 * 1024);

export interface VerifyOptions {
  /** File numbers as `shoal info` lists them; every file when absent. */
  readonly select?: readonly number[];
  readonly signal?: AbortSignal;
  /** Called after each planned piece with the bytes of planned pieces done so far and in all. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  readonly chunkBytes?: number;
  readonly readAhead?: number;
}

/**
 * Checks a torrent's files as a reader finds them: each selected file's size, and the SHA-1 of
 * every piece that holds a byte of a selected file. Pieces that span files are read across them,
 * padding counts as zeros, and a piece whose bytes are not all there (a file missing or too
 * short) is reported as unchecked rather than read. Files are read once, front to back in the
 * torrent's order, a few chunks at a time, so memory stays bounded whatever the torrent's size.
 * Throws the reader's StorageError when reading fails, the MetainfoError of a bad selection, or
 * the signal's reason when aborted.
 */
export async function verifyTree(meta: InfoDict, reader: TreeReader, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const plan = planVerification(meta, opts.select);
  const sizes = await reader.sizes();
  const outcomes = new Uint8Array(meta.pieceCount);
  let totalBytes = 0;
  for (const p of plan.pieces) totalBytes += pieceLengthOf(meta, p);
  const chunks = readChunks(meta, pieceReads(meta, plan, sizes), opts.chunkBytes ?? READ_CHUNK_BYTES);
  const stream = new ChunkStream(reader, chunks, opts.readAhead ?? READ_AHEAD_CHUNKS);
  let doneBytes = 0;
  try {
    for (const r of pieceReads(meta, plan, sizes)) {
      opts.signal?.throwIfAborted();
      if (r.blockedBy.length === 0) {
        const hash = createHash("sha1");
        for (const s of r.spans) {
          if (meta.files[s.fileIndex]!.padding) feedZeros(hash, s.length);
          else await stream.take(s.fileIndex, s.fileOffset, s.length, (bytes) => hash.update(bytes));
        }
        outcomes[r.piece] = hash.digest().equals(pieceHash(meta, r.piece)) ? PIECE_OUTCOME.good : PIECE_OUTCOME.bad;
      }
      doneBytes += pieceLengthOf(meta, r.piece);
      opts.onProgress?.(doneBytes, totalBytes);
    }
  } finally {
    await stream.settle();
  }
  return tallyVerdicts(meta, plan, sizes, outcomes);
}

function feedZeros(hash: Hash, length: number): void {
  for (let left = length; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
}
