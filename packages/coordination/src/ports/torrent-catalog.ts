/** What every service needs to know about a torrent, written once by its owner. */
export interface TorrentRecord {
  readonly infoHash: string;
  /** The raw bencoded info dict: every service parses its own layout from it. */
  readonly infoBytes: Uint8Array;
  readonly announceTiers: readonly (readonly string[])[];
  readonly destination: string;
  readonly private: boolean;
  /** The job's file selection (indices without padding files); absent means every file. */
  readonly selectFiles?: readonly number[];
  /**
   * The job's rate limits for the whole cluster, bytes per second (absent or 0: unlimited). Each
   * worker on the torrent takes an equal share.
   */
  readonly maxDownloadBytesPerSec?: number;
  readonly maxUploadBytesPerSec?: number;
  /**
   * BEP 19 web seeds every worker on the job may fetch from (http(s) URLs): the torrent's
   * `url-list` unless the job turned it off, plus those the job added. Absent: none.
   */
  readonly webSeeds?: readonly string[];
}

/**
 * Torrent metadata shared between services. Throws CoordinationError BACKEND_UNAVAILABLE
 * (retryable, as for the other ports) when the backend is down, which it is for this instance
 * once `close` was called (a second `close` is harmless); `get` resolves undefined for an
 * unknown torrent.
 */
export interface TorrentCatalog {
  put(record: TorrentRecord): Promise<void>;
  get(infoHash: string): Promise<TorrentRecord | undefined>;
  delete(infoHash: string): Promise<void>;
  close(): Promise<void>;
}
