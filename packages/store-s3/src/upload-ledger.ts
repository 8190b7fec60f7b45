/** One uploaded part of a multipart upload, as CompleteMultipartUpload needs it. */
export interface LedgerPart {
  readonly partNumber: number;
  readonly etag: string;
  /** Bytes in the part; a restarted store checks it against its own plan before trusting the part. */
  readonly size: number;
}

/** What is known about one object key of a torrent. */
export interface LedgerObject {
  readonly key: string;
  /** The multipart upload in progress for the key, if any. */
  readonly uploadId?: string;
  /** Parts of that upload that are uploaded, by part number. */
  readonly parts: readonly LedgerPart[];
  /** The object is finished in the bucket with every byte written from verified pieces. */
  readonly complete: boolean;
}

/**
 * Where the S3 store records its uploads, so a store restarted mid-torrent (another process, or
 * another writer after a crash) resumes them instead of starting over: the upload id of each
 * unfinished multipart upload, the ETag of each part uploaded into it, and which objects are
 * finished. A part counts as durable only once it is recorded here. Records are per torrent
 * (lowercase hex infoHash) and key; every call is idempotent.
 */
export interface UploadLedger {
  /** Every record of the torrent's objects. */
  objects(infoHash: string): Promise<readonly LedgerObject[]>;
  /** A new multipart upload for `key`: replaces whatever was recorded for the key. */
  beginUpload(infoHash: string, key: string, uploadId: string): Promise<void>;
  /** A part uploaded into `uploadId`; ignored unless that is the key's current upload. */
  recordPart(infoHash: string, key: string, uploadId: string, part: LedgerPart): Promise<void>;
  /** The object is finished (a PUT, or a completed multipart upload): its upload record goes. */
  recordComplete(infoHash: string, key: string): Promise<void>;
  forgetObject(infoHash: string, key: string): Promise<void>;
  forgetTorrent(infoHash: string): Promise<void>;
}

interface MutableRecord {
  uploadId?: string;
  parts: Map<number, LedgerPart>;
  complete: boolean;
}

/**
 * The in-process ledger: enough for one process that restarts a store (or runs several over one
 * bucket), and the stand-in the Redis ledger is checked against. It does not survive the process.
 */
export class MemoryUploadLedger implements UploadLedger {
  private readonly torrents = new Map<string, Map<string, MutableRecord>>();

  async objects(infoHash: string): Promise<readonly LedgerObject[]> {
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
    this.records(infoHash).set(key, { uploadId, parts: new Map(), complete: false });
  }

  async recordPart(infoHash: string, key: string, uploadId: string, part: LedgerPart): Promise<void> {
    const r = this.torrents.get(infoHash)?.get(key);
    if (r?.uploadId !== uploadId) return;
    r.parts.set(part.partNumber, { ...part });
  }

  async recordComplete(infoHash: string, key: string): Promise<void> {
    this.records(infoHash).set(key, { parts: new Map(), complete: true });
  }

  async forgetObject(infoHash: string, key: string): Promise<void> {
    const records = this.torrents.get(infoHash);
    records?.delete(key);
    if (records?.size === 0) this.torrents.delete(infoHash);
  }

  async forgetTorrent(infoHash: string): Promise<void> {
    this.torrents.delete(infoHash);
  }

  private records(infoHash: string): Map<string, MutableRecord> {
    let records = this.torrents.get(infoHash);
    if (!records) {
      records = new Map();
      this.torrents.set(infoHash, records);
    }
    return records;
  }
}
