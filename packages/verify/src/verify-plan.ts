import { fileSpansOfPiece, piecesOfFile, relativeFilePath, selectFiles, type FileSpan, type InfoDict } from "@shoal/metainfo";

/**
 * Which pieces of which files a check reads, and what the hashes it got say about each file.
 * Pure: sizes and piece outcomes come in as plain data, so every rule here is tested without a
 * file or a bucket. The reading itself is `verifyTree`.
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

/** What hashing said about a planned piece. */
export const PIECE_OUTCOME = { notHashed: 0, good: 1, bad: 2 } as const;
export type PieceOutcome = (typeof PIECE_OUTCOME)[keyof typeof PIECE_OUTCOME];

/**
 * A file's verdict: `ok`; `missing`; `wrong-size` (longer or shorter than the torrent says);
 * `bad-pieces` (a piece holding its bytes failed its hash); `unchecked` (pieces holding its
 * bytes could not be hashed because another selected file lacks its part of them);
 * `unselected` (not part of the check). The first that applies, in that order of severity.
 */
export type FileStatus = "ok" | "missing" | "wrong-size" | "bad-pieces" | "unchecked" | "unselected";

export interface FileVerdict {
  /** Index in `meta.files`. */
  readonly fileIndex: number;
  /** The file's number as `shoal info` lists it and `--select` takes it. */
  readonly number: number;
  /** `<name>/<path>` (a single-file torrent: `<name>`), as `shoal info` shows it. */
  readonly path: string;
  /** Bytes the torrent says the file has. */
  readonly length: number;
  /** Bytes found; null when the file is missing. */
  readonly size: number | null;
  readonly selected: boolean;
  readonly status: FileStatus;
  /** Pieces that hold bytes of this file. */
  readonly pieces: number;
  /** Pieces holding bytes of this file that failed their hash, ascending. */
  readonly badPieces: readonly number[];
  /**
   * Pieces holding bytes of this file that could not be hashed because another file lacks its
   * part of them (missing, too short, or unselected and not there), ascending.
   */
  readonly uncheckedPieces: readonly number[];
  /** The numbers of the files whose absent bytes left those pieces unchecked. */
  readonly blockedBy: readonly number[];
}

export interface VerifyReport {
  /** True when every selected file is `ok`. */
  readonly ok: boolean;
  /** Every file of the torrent except padding, in the torrent's order. */
  readonly files: readonly FileVerdict[];
  readonly selectedFiles: number;
  /** Bytes of the selected files. */
  readonly selectedBytes: number;
  /** Planned pieces; of those, hashed and matching, hashed and failing, and not hashed. */
  readonly pieces: { readonly planned: number; readonly good: number; readonly bad: number; readonly unchecked: number };
}

/**
 * Turns sizes and piece outcomes into a verdict per file. A failing piece counts against every
 * file it holds bytes of (a hash cannot say which file's bytes are wrong). A piece that could not
 * be hashed counts as unchecked for the files whose bytes are there; it makes a selected file
 * `unchecked` only when a selected file kept it from being hashed: bytes that a narrower
 * selection left out (an unselected file that is not there) are the selection's consequence,
 * not a fault.
 */
export function tallyVerdicts(meta: InfoDict, plan: VerifyPlan, sizes: readonly (number | undefined)[], outcomes: Uint8Array): VerifyReport {
  const n = meta.files.length;
  const bad: number[][] = Array.from({ length: n }, () => []);
  const unchecked: number[][] = Array.from({ length: n }, () => []);
  const blockers: Set<number>[] = Array.from({ length: n }, () => new Set());
  const blockedBySelected = new Uint8Array(n);
  let good = 0;
  let badCount = 0;
  let notHashed = 0;
  for (const r of pieceReads(meta, plan, sizes)) {
    const touched = [...new Set(r.spans.filter((s) => !meta.files[s.fileIndex]!.padding && s.length > 0).map((s) => s.fileIndex))];
    if (r.blockedBy.length > 0) {
      notHashed++;
      for (const f of touched) {
        if (r.blockedBy.includes(f)) continue;
        unchecked[f]!.push(r.piece);
        for (const b of r.blockedBy) {
          blockers[f]!.add(b);
          if (plan.selected[b]) blockedBySelected[f] = 1;
        }
      }
      continue;
    }
    const o = outcomes[r.piece];
    if (o === PIECE_OUTCOME.good) good++;
    else if (o === PIECE_OUTCOME.bad) {
      badCount++;
      for (const f of touched) bad[f]!.push(r.piece);
    } else notHashed++;
  }
  const numberOf = new Map<number, number>();
  meta.files.forEach((f, i) => {
    if (!f.padding) numberOf.set(i, numberOf.size);
  });
  const files: FileVerdict[] = [];
  let selectedFiles = 0;
  let selectedBytes = 0;
  meta.files.forEach((f, i) => {
    if (f.padding) return;
    const selected = plan.selected[i] === true;
    const size = sizes[i] ?? null;
    if (selected) {
      selectedFiles++;
      selectedBytes += f.length;
    }
    const { first, last } = piecesOfFile(meta, i);
    let status: FileStatus;
    if (!selected) status = "unselected";
    else if (size === null) status = "missing";
    else if (size !== f.length) status = "wrong-size";
    else if (bad[i]!.length > 0) status = "bad-pieces";
    else if (blockedBySelected[i]) status = "unchecked";
    else status = "ok";
    files.push({
      fileIndex: i,
      number: numberOf.get(i)!,
      path: relativeFilePath(meta, f),
      length: f.length,
      size,
      selected,
      status,
      pieces: Math.max(0, last - first + 1),
      badPieces: bad[i]!,
      uncheckedPieces: unchecked[i]!,
      blockedBy: [...blockers[i]!].sort((a, b) => a - b).map((b) => numberOf.get(b)!),
    });
  });
  return {
    ok: files.every((v) => !v.selected || v.status === "ok"),
    files,
    selectedFiles,
    selectedBytes,
    pieces: { planned: plan.pieces.length, good, bad: badCount, unchecked: notHashed },
  };
}
