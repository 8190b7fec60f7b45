import { MetainfoError } from "./metainfo-error.js";
import { parseInfoDict } from "./info-dict.js";
import { selectFiles, type FileSelection } from "./file-selection.js";
import { torrentLayout, type StorageLayout } from "./torrent-layout.js";
import type { InfoDict } from "./types.js";

export interface TorrentInfo {
  readonly metainfo: InfoDict;
  /** The files and pieces the job wants (everything without a selection). */
  readonly selection: FileSelection;
  /** Where the bytes go, with unselected files marked: what every store is opened with. */
  readonly layout: StorageLayout;
  /** The job's rate limits for the whole cluster, bytes per second; 0 = none. */
  readonly limits: JobRateLimits;
  /** BEP 19 web seeds the job may fetch from (the torrent's own and added ones; empty: none). */
  readonly webSeeds: readonly string[];
}

/** A job's rate limits for all its workers together, bytes per second; 0 = unlimited. */
export interface JobRateLimits {
  readonly downloadBytesPerSec: number;
  readonly uploadBytesPerSec: number;
}

/** What the catalog keeps of a torrent that every service needs to know it. */
export interface TorrentSource {
  readonly infoBytes: Uint8Array;
  /** File indices as `selectFiles` takes them; absent means every file. */
  readonly selectFiles?: readonly number[];
  readonly maxDownloadBytesPerSec?: number;
  readonly maxUploadBytesPerSec?: number;
  /** Web seed URLs for the job, already chosen by its owner; absent means none. */
  readonly webSeeds?: readonly string[];
}

/**
 * Parsed torrent metadata by info hash, loaded once per process from wherever the raw info dict
 * is kept (the torrent catalog) and checked against the hash it is filed under.
 */
const NO_LIMITS: JobRateLimits = { downloadBytesPerSec: 0, uploadBytesPerSec: 0 };

export class TorrentInfoCache {
  private readonly entries = new Map<string, Promise<TorrentInfo>>();

  constructor(private readonly loadSource: (infoHash: string) => Promise<TorrentSource | undefined>) {}

  /**
   * Files metadata already parsed in this process, so the services sharing it never parse the
   * same info dict again: a torrent of thousands of files takes a good part of a second to parse
   * while the download has not started yet. An entry already there is kept.
   */
  add(metainfo: InfoDict, selectFiles?: readonly number[], webSeeds: readonly string[] = []): void {
    if (!this.entries.has(metainfo.infoHashHex)) this.entries.set(metainfo.infoHashHex, Promise.resolve(infoOf(metainfo, selectFiles, NO_LIMITS, webSeeds)));
  }

  /**
   * Drops a torrent's entry, so the next `get` loads it again: a new job on the torrent may
   * select other files.
   */
  forget(infoHash: string): void {
    this.entries.delete(infoHash);
  }

  get(infoHash: string): Promise<TorrentInfo> {
    let p = this.entries.get(infoHash);
    if (!p) {
      p = this.load(infoHash);
      p.catch(() => this.entries.delete(infoHash));
      this.entries.set(infoHash, p);
    }
    return p;
  }

  private async load(infoHash: string): Promise<TorrentInfo> {
    const source = await this.loadSource(infoHash);
    if (!source) throw new MetainfoError("MISSING_FIELD", `no metadata is known for torrent ${infoHash}`, { context: { infoHash } });
    const metainfo = parseInfoDict(source.infoBytes);
    if (metainfo.infoHashHex !== infoHash) {
      throw new MetainfoError("INVALID_FIELD", `metadata filed under ${infoHash} hashes to ${metainfo.infoHashHex}`, {
        context: { infoHash, actual: metainfo.infoHashHex },
      });
    }
    return infoOf(metainfo, source.selectFiles, {
      downloadBytesPerSec: source.maxDownloadBytesPerSec ?? 0,
      uploadBytesPerSec: source.maxUploadBytesPerSec ?? 0,
    }, source.webSeeds ?? []);
  }
}

function infoOf(metainfo: InfoDict, select: readonly number[] | undefined, limits: JobRateLimits, webSeeds: readonly string[]): TorrentInfo {
  const selection = selectFiles(metainfo, select);
  return { metainfo, selection, layout: torrentLayout(metainfo, selection.skippedFiles), limits, webSeeds };
}
