/** The S3 requests the store makes, one name per API call. */
export const S3_OPS = [
  "putObject",
  "createMultipartUpload",
  "uploadPart",
  "completeMultipartUpload",
  "abortMultipartUpload",
  "getObject",
  "headObject",
  "listObjects",
  "deleteObject",
] as const;

export type S3Op = (typeof S3_OPS)[number];

/** Counters for the benchmark: S3 bytes and requests per payload byte. */
export interface S3StoreStats {
  /** Object bytes sent in PUT and UploadPart bodies, each attempt counted. */
  readonly bytesWritten: number;
  /** Object bytes received from GETs (serving uploads, rechecks, comparisons on resume). */
  readonly bytesRead: number;
  /** Requests sent, each attempt counted, by operation. */
  readonly requests: Readonly<Record<S3Op, number>>;
  /** Attempts that failed transiently and were made again. */
  readonly retries: number;
  /** Bytes held in write buffers right now (pieces waiting for the rest of their unit). */
  readonly bufferedBytes: number;
}

/** The mutable counters behind `stats()`. */
export class S3Counters {
  bytesWritten = 0;
  bytesRead = 0;
  retries = 0;
  bufferedBytes = 0;
  readonly requests: Record<S3Op, number> = Object.fromEntries(S3_OPS.map((op) => [op, 0])) as Record<S3Op, number>;

  snapshot(): S3StoreStats {
    return { bytesWritten: this.bytesWritten, bytesRead: this.bytesRead, requests: { ...this.requests }, retries: this.retries, bufferedBytes: this.bufferedBytes };
  }
}
