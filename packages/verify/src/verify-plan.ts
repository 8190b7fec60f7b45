import { fileSpansOfPiece, selectFiles, type FileSpan, type InfoDict } from "@shoal/metainfo";

/**
 * Which pieces of which files a check reads, and in what order. Pure: sizes come in as plain
 * data, so every rule here is tested without a file or a bucket. What the hashes say about each
 * file is `tallyVerdicts`; the reading itself is `verifyTree`.
 */

/** What a check covers: the selected files and every piece that holds a byte of one. */
export interface VerifyPlan {
  /** By index in `meta.files`: true for a selected file (never for padding). */
  readonly selected: readonly boolean[];
  /** Pieces to hash, ascending. */
  readonly pieces: readonly number[];
}

/**
 * The plan for a selection of files numbered as `shoal info` lists them (without BEP 47 padding);
 * every file when `selection` is undefined. Throws the MetainfoError of `selectFiles` for an
 * index the torrent does not have.
 */
export function planVerification(meta: InfoDict, selection?: readonly number[]): VerifyPlan {
  const s = selectFiles(meta, selection);
  const selected = meta.files.map(() => false);
  for (const i of s.selectedFiles) selected[i] = true;
  const skipped = new Uint8Array(meta.pieceCount);
  for (const p of s.skippedPieces) skipped[p] = 1;
  const pieces: number[] = [];
  for (let p = 0; p < meta.pieceCount; p++) if (!skipped[p]) pieces.push(p);
  return { selected, pieces };
}

/** A planned piece: where its bytes are, and whether all of them can be read. */
export interface PieceRead {
  readonly piece: number;
  /** Its bytes file by file, in order; spans of padding files read as zeros. */
  readonly spans: readonly FileSpan[];
  /**
   * Files (indices into `meta.files`) that lack bytes of this piece: missing, or ending before
   * them. Empty when the piece can be hashed.
   */
  readonly blockedBy: readonly number[];
}

/**
 * Each planned piece with its spans and the files that keep it from being hashed, given each
 * file's size as found (undefined: missing). A file longer than the torrent says still has every
 * byte the pieces need; its size is reported, not its pieces. Lazy, so a torrent of millions of
 * pieces is never held as objects at once.
 */
export function* pieceReads(meta: InfoDict, plan: VerifyPlan, sizes: readonly (number | undefined)[]): Generator<PieceRead> {
  for (const piece of plan.pieces) {
    const spans = fileSpansOfPiece(meta, piece);
    const blockedBy: number[] = [];
    for (const s of spans) {
      if (meta.files[s.fileIndex]!.padding) continue;
      const size = sizes[s.fileIndex];
      if (size === undefined || s.fileOffset + s.length > size) blockedBy.push(s.fileIndex);
    }
    yield { piece, spans, blockedBy };
  }
}

/** A run of one file's bytes to read in one request. */
export interface ReadChunk {
  readonly fileIndex: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * The bytes the readable pieces need, in the order hashing consumes them: per file, runs that
 * follow each other are merged, then cut into chunks of at most `chunkBytes`. Padding is never
 * read. Reading these chunks in order yields exactly the non-padding bytes of the readable pieces
 * in piece order. Whole chunks are yielded as soon as they are known, so a huge file never
 * becomes one long run in memory.
 */
export function* readChunks(meta: InfoDict, reads: Iterable<PieceRead>, chunkBytes: number): Generator<ReadChunk> {
  if (!(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  let run: { fileIndex: number; offset: number; length: number } | undefined;
  for (const r of reads) {
    if (r.blockedBy.length > 0) continue;
    for (const s of r.spans) {
      if (s.length === 0 || meta.files[s.fileIndex]!.padding) continue;
      if (run && run.fileIndex === s.fileIndex && run.offset + run.length === s.fileOffset) {
        run.length += s.length;
      } else {
        if (run && run.length > 0) yield { ...run };
        run = { fileIndex: s.fileIndex, offset: s.fileOffset, length: s.length };
      }
      while (run.length >= chunkBytes) {
        yield { fileIndex: run.fileIndex, offset: run.offset, length: chunkBytes };
        run.offset += chunkBytes;
        run.length -= chunkBytes;
      }
    }
  }
  if (run && run.length > 0) yield { ...run };
}
