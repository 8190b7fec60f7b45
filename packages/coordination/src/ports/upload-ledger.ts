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
 * Where an object store that assembles multipart uploads (the S3 store) records them, so a store
 * restarted mid-torrent (another process, or another writer after a crash) resumes them instead
 * of starting over: the upload id of each unfinished multipart upload, the ETag of each part
 * uploaded into it, and which objects are finished. A part counts as durable only once it is
 * recorded here. Records are per torrent (lowercase hex infoHash) and object key; every call is
 * idempotent, and a torrent nothing was recorded for simply has no objects.
 *
 * Methods throw CoordinationError BACKEND_UNAVAILABLE (retryable) when the backend is down, which
 * it is for this instance once `close` was called (a second `close` is harmless). A write that
 * failed so may or may not have landed; since every call is idempotent, the caller retries it.
 */
export interface UploadLedger {
  /** Every record of the torrent's objects, in no particular order; each object's parts by part number. */
  objects(infoHash: string): Promise<readonly LedgerObject[]>;
  /** A new multipart upload for `key`: replaces whatever was recorded for the key, parts included. */
  beginUpload(infoHash: string, key: string, uploadId: string): Promise<void>;
  /**
   * A part uploaded into `uploadId`; ignored unless that is the key's current upload. Recording a
   * part number again replaces its record (S3 keeps the last upload of a part number).
   */
  recordPart(infoHash: string, key: string, uploadId: string, part: LedgerPart): Promise<void>;
  /** The object is finished (a PUT, or a completed multipart upload): its upload record goes. */
  recordComplete(infoHash: string, key: string): Promise<void>;
  /** Drops everything recorded for `key`: its upload, its parts, its being finished. */
  forgetObject(infoHash: string, key: string): Promise<void>;
  /** Drops every record of the torrent. */
  forgetTorrent(infoHash: string): Promise<void>;
  close(): Promise<void>;
}
