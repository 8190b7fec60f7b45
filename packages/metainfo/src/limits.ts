/** Bounds on what a torrent may make us allocate; every parse runs under them. */
export interface MetainfoLimits {
  readonly maxPieces: number;
  readonly maxPieceLengthBytes: number;
  readonly maxFiles: number;
  /** Longest `<name>/<path...>` of one file, in UTF-8 bytes. */
  readonly maxPathBytes: number;
  /** Largest .torrent file, or info dict fetched from peers. */
  readonly maxTorrentBytes: number;
  /** Most bencode tokens (values plus keys) in one torrent file. */
  readonly maxBencodeTokens: number;
}

export const DEFAULT_METAINFO_LIMITS: MetainfoLimits = Object.freeze({
  // 2^21 pieces: 2 TiB at 1 MiB pieces, and at most 40 MiB of piece hashes to hold.
  maxPieces: 2_097_152,
  // A piece is buffered and hashed whole; common sizes stop at 16-64 MiB, and 256 MiB leaves
  // headroom without letting one piece demand gigabytes of memory.
  maxPieceLengthBytes: 256 * 1024 * 1024,
  // Well above the largest real torrents (a few hundred thousand files).
  maxFiles: 1_000_000,
  // PATH_MAX on Linux; longer paths cannot be created on disk anyway.
  maxPathBytes: 4096,
  // The design limit for metadata from outside; torrents with hundreds of thousands of files
  // take a few MiB, most take kilobytes.
  maxTorrentBytes: 30 * 1024 * 1024,
  // A file entry takes about 8 tokens (dict, "length", value, "path", list, components), so
  // maxFiles entries need about 8M; the bencode default of 2M would cap torrents near 250k files.
  maxBencodeTokens: 8_000_000,
});

export function resolveMetainfoLimits(partial: Partial<MetainfoLimits> | undefined): MetainfoLimits {
  return partial === undefined ? DEFAULT_METAINFO_LIMITS : { ...DEFAULT_METAINFO_LIMITS, ...partial };
}
