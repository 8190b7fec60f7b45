import type { TorrentCatalog, TorrentRecord } from "../ports/torrent-catalog.js";

/** The in-process TorrentCatalog of embedded mode. */
export class MemoryCatalog implements TorrentCatalog {
  private readonly records = new Map<string, TorrentRecord>();

  async put(record: TorrentRecord): Promise<void> {
    this.records.set(record.infoHash, record);
  }

  async get(infoHash: string): Promise<TorrentRecord | undefined> {
    return this.records.get(infoHash);
  }

  async delete(infoHash: string): Promise<void> {
    this.records.delete(infoHash);
  }

  async close(): Promise<void> {}
}
