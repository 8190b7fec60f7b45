import { MetainfoError } from "./metainfo-error.js";
import { parseInfoDict } from "./info-dict.js";
import type { InfoDict } from "./types.js";

export interface TorrentInfo {
  readonly metainfo: InfoDict;
}

/**
 * Parsed torrent metadata by info hash, loaded once per process from wherever the raw info dict
 * is kept (the torrent catalog) and checked against the hash it is filed under.
 */
export class TorrentInfoCache {
  private readonly entries = new Map<string, Promise<TorrentInfo>>();

  constructor(private readonly loadInfoBytes: (infoHash: string) => Promise<Uint8Array | undefined>) {}

  /**
   * Files metadata already parsed in this process, so the services sharing it never parse the
   * same info dict again: a torrent of thousands of files takes a good part of a second to parse
   * while the download has not started yet. An entry already there is kept.
   */
  add(metainfo: InfoDict): void {
    if (!this.entries.has(metainfo.infoHashHex)) this.entries.set(metainfo.infoHashHex, Promise.resolve({ metainfo }));
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
    const bytes = await this.loadInfoBytes(infoHash);
    if (!bytes) throw new MetainfoError("MISSING_FIELD", `no metadata is known for torrent ${infoHash}`, { context: { infoHash } });
    const metainfo = parseInfoDict(bytes);
    if (metainfo.infoHashHex !== infoHash) {
      throw new MetainfoError("INVALID_FIELD", `metadata filed under ${infoHash} hashes to ${metainfo.infoHashHex}`, {
        context: { infoHash, actual: metainfo.infoHashHex },
      });
    }
    return { metainfo };
  }
}
