import type { InfoDict } from "./types.js";

/**
 * The storage view of a torrent: where its bytes go. Structurally the coordination package's
 * TorrentLayout, so stores can take it without this package depending on coordination.
 */
export interface StorageLayout {
  readonly infoHash: string;
  readonly name: string;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly files: readonly {
    readonly path: readonly string[];
    readonly length: number;
    readonly offset: number;
    readonly padding: boolean;
    readonly skipped: boolean;
  }[];
}

/** @param skippedFiles per file, true when it is not selected (see `selectFiles`); default none. */
export function torrentLayout(m: InfoDict, skippedFiles: readonly boolean[] = []): StorageLayout {
  return {
    infoHash: m.infoHashHex,
    name: m.name,
    pieceLength: m.pieceLength,
    totalLength: m.totalLength,
    files: m.files.map((f, i) => ({ path: f.path, length: f.length, offset: f.offset, padding: f.padding, skipped: skippedFiles[i] === true })),
  };
}
