import { CoordinationError } from "../errors.js";
import type { LedgerObject, LedgerPart, UploadLedger } from "../ports/upload-ledger.js";

interface MutableRecord {
  uploadId?: string;
  parts: Map<number, LedgerPart>;
  complete: boolean;
}

/**
 * The in-process UploadLedger: enough for one process that restarts a store (or runs several
 * over one bucket), and the stand-in the Redis ledger is checked against. It does not survive
 * the process. After `close` every call throws BACKEND_UNAVAILABLE.
 */
export class MemoryUploadLedger implements UploadLedger {
  private readonly torrents = new Map<string, Map<string, MutableRecord>>();
  private closed = false;

  async objects(infoHash: string): Promise<readonly LedgerObject[]> {
    this.ensureOpen("objects");
    const records = this.torrents.get(infoHash);
    if (!records) return [];
    return [...records].map(([key, r]) => ({
      key,
      ...(r.uploadId === undefined ? {} : { uploadId: r.uploadId }),
      parts: [...r.parts.values()].sort((a, b) => a.partNumber - b.partNumber),
      complete: r.complete,
    }));
  }

  async beginUpload(infoHash: string, key: string, uploadId: string): Promise<void> {
    this.ensureOpen("beginUpload");
    this.records(infoHash).set(key, { uploadId, parts: new Map(), complete: false });
  }

  async recordPart(infoHash: string, key: string, uploadId: string, part: LedgerPart): Promise<void> {
    this.ensureOpen("recordPart");
    const r = this.torrents.get(infoHash)?.get(key);
    if (r?.uploadId !== uploadId) return;
    r.parts.set(part.partNumber, { partNumber: part.partNumber, etag: part.etag, size: part.size });
  }

  async recordComplete(infoHash: string, key: string): Promise<void> {
    this.ensureOpen("recordComplete");
    this.records(infoHash).set(key, { parts: new Map(), complete: true });
  }

  async forgetObject(infoHash: string, key: string): Promise<void> {
    this.ensureOpen("forgetObject");
    const records = this.torrents.get(infoHash);
    records?.delete(key);
    if (records?.size === 0) this.torrents.delete(infoHash);
  }

  async forgetTorrent(infoHash: string): Promise<void> {
    this.ensureOpen("forgetTorrent");
    this.torrents.delete(infoHash);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private records(infoHash: string): Map<string, MutableRecord> {
    let records = this.torrents.get(infoHash);
    if (!records) {
      records = new Map();
      this.torrents.set(infoHash, records);
    }
    return records;
  }

  private ensureOpen(method: string): void {
    if (this.closed) {
      throw new CoordinationError("BACKEND_UNAVAILABLE", `upload ledger is closed; cannot ${method}`, { retryable: true });
    }
  }
}
