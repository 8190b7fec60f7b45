/**
 * Keeps a magnet link's metadata next to a destination, so a later run for the same destination
 * does not fetch it from peers again (embedded mode keeps it in the output directory; a cluster
 * has the catalog). What it hands back is only what was written there, and a file can be damaged
 * or replaced behind our back: the caller checks it against the info hash before using it.
 */
export interface MetadataKeeper {
  /**
   * The .torrent kept for `infoHash` (lowercase hex), or undefined when none is. Rejects with
   * StorageError IO when it cannot be read, or is larger than `maxBytes` (not read at all then).
   */
  load(infoHash: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Keeps `torrent` for `infoHash`, replacing what was kept: written whole or not at all (a crash
   * midway leaves the old file or none). Rejects with StorageError IO.
   */
  keep(infoHash: string, torrent: Uint8Array): Promise<void>;
}
