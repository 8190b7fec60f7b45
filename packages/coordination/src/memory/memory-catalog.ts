import { CoordinationError } from "../errors.js";
import type { TorrentCatalog, TorrentRecord } from "../ports/torrent-catalog.js";

/** The in-process TorrentCatalog of embedded mode. After `close` every call throws BACKEND_UNAVAILABLE. */
export class MemoryCatalog implements TorrentCatalog {
  private readonly records = new Map<string, TorrentRecord>();
  private closed = false;

  async put(record: TorrentRecord): Promise<void> {
    this.ensureOpen("put");
    this.records.set(record.infoHash, record);
  }

  async get(infoHash: string): Promise<TorrentRecord | undefined> {
    this.ensureOpen("get");
    return this.records.get(infoHash);
  }

  async delete(infoHash: string): Promise<void> {
    this.ensureOpen("delete");
    this.records.delete(infoHash);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private ensureOpen(method: string): void {
    if (this.closed) {
      throw new CoordinationError("BACKEND_UNAVAILABLE", `torrent catalog is closed; cannot ${method}`, { retryable: true });
    }
  }
}
