/** One file of the torrent, in the order of the torrent's byte stream. */
export interface TorrentFile {
  index: number;
  /**
   * Sanitised components relative to the torrent root, unique among the torrent's files (a
   * colliding file was renamed `<stem>.1<ext>`); `[]` for a single-file torrent.
   */
  path: string[];
  length: number;
  /** Where the file starts in the torrent's concatenated byte stream. */
  offset: number;
  /** A BEP 47 pad file (attr contains "p"): its bytes are zeros and are never written. */
  padding: boolean;
}

/** Everything the info dict defines: the data itself, independent of how to find peers. */
export interface InfoDict {
  /** SHA-1 of the raw info dict bytes exactly as they appeared (never re-encoded). */
  infoHash: Uint8Array;
  /** `infoHash` as lowercase hex, for keys, subjects and logs. */
  infoHashHex: string;
  /**
   * Sanitised single path component, or the info hash in hex when nothing of the name was left:
   * the data lands at `<out>/<name>`.
   */
  name: string;
  pieceLength: number;
  pieceCount: number;
  totalLength: number;
  lastPieceLength: number;
  /** The concatenated 20-byte SHA-1 hashes, 20 * pieceCount bytes. */
  pieceHashes: Uint8Array;
  files: TorrentFile[];
  multiFile: boolean;
  /** BEP 27: only the torrent's own trackers may be used to find peers. */
  private: boolean;
  /** The raw info dict, as served to peers for BEP 9 metadata requests. */
  infoBytes: Uint8Array;
}

/** A parsed .torrent file. */
export interface Metainfo extends InfoDict {
  announce?: string;
  /** BEP 12 tiers; `[[announce]]` when the torrent has no usable announce-list. */
  announceList: string[][];
  /** BEP 19 web seeds: absolute http(s) URLs from `url-list`, at most `MAX_WEB_SEEDS`. */
  urlList: string[];
  comment?: string;
  createdBy?: string;
  /** Seconds since the Unix epoch. */
  creationDate?: number;
}

/** A contiguous run of bytes of one file inside a piece (or any byte range of the torrent). */
export interface FileSpan {
  fileIndex: number;
  /** Where the run starts inside the file. */
  fileOffset: number;
  /** Where the run starts inside the piece (or the requested range). */
  pieceOffset: number;
  length: number;
}
