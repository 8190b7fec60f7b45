import { MetainfoError } from "./metainfo-error.js";
import { pieceLengthOf, piecesOfFile } from "./piece-layout.js";
import type { InfoDict } from "./types.js";

/** Which files and pieces a download wants, from a selection of file indices. */
export interface FileSelection {
  /** Per entry of `files` (padding included): true when the file is not selected. */
  readonly skippedFiles: readonly boolean[];
  /** Pieces no selected file needs, ascending. */
  readonly skippedPieces: readonly number[];
  /** Files selected, as indices into `files`. */
  readonly selectedFiles: readonly number[];
  /** Bytes of the wanted pieces: what the download moves. */
  readonly wantedBytes: number;
  readonly wantedPieces: number;
}

/**
 * Resolves a selection of user-facing file indices (numbered from 0 over the files without BEP 47
 * padding, as `shoal info` lists them) into the files and pieces to download. Without a selection
 * everything is wanted. An index the torrent does not have is refused with a message naming it.
 */
export function selectFiles(m: InfoDict, selection: readonly number[] | undefined): FileSelection {
  const visible: number[] = [];
  m.files.forEach((f, i) => {
    if (!f.padding) visible.push(i);
  });
  const selected = new Set<number>();
  for (const n of selection ?? visible.map((_, k) => k)) {
    const fileIndex = visible[n];
    if (!Number.isInteger(n) || fileIndex === undefined) {
      throw new MetainfoError("OUT_OF_RANGE", `file ${n} does not exist: the torrent has ${visible.length} file(s), numbered 0 to ${visible.length - 1}`, {
        context: { field: "select", file: n, files: visible.length },
      });
    }
    selected.add(fileIndex);
  }
  const wanted = new Uint8Array(m.pieceCount);
  for (const i of selected) {
    const { first, last } = piecesOfFile(m, i);
    wanted.fill(1, first, last + 1);
  }
  const skippedPieces: number[] = [];
  let wantedBytes = 0;
  for (let p = 0; p < m.pieceCount; p++) {
    if (wanted[p]) wantedBytes += pieceLengthOf(m, p);
    else skippedPieces.push(p);
  }
  return {
    skippedFiles: m.files.map((f, i) => !f.padding && !selected.has(i)),
    skippedPieces,
    selectedFiles: [...selected].sort((a, b) => a - b),
    wantedBytes,
    wantedPieces: m.pieceCount - skippedPieces.length,
  };
}
