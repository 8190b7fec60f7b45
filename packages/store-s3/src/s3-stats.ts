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

/**
 * Upper bounds (seconds) of the request duration histogram. From a few milliseconds (a HEAD on
 * loopback) to a minute (a 16 MiB part over a slow link, or a request that waited out its idle
 * timeout): wide enough that p99 stays inside a bucket on any link the store is used over.
 */
export const S3_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/**
 * The outcome of one attempt: the HTTP status code as text (`"200"`, `"404"`, `"503"`), or
 * `"timeout"` when no bytes moved for the idle timeout, or `"network"` when no answer came at all
 * (refused, reset, DNS). A closed set in practice: S3 answers with a handful of codes.
 */
export type S3Status = string;

/** Durations of one operation's attempts, as a Prometheus histogram reads them. */
export interface S3DurationStats {
  /** Cumulative: `buckets[i]` attempts took at most `S3_DURATION_BUCKETS_SECONDS[i]`. */
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sumSeconds: number;
}

/** Counters for the benchmark and the metrics endpoint: S3 bytes, requests and their latency. */
export interface S3StoreStats {
  /** Object bytes sent in PUT and UploadPart bodies, each attempt counted. */
  readonly bytesWritten: number;
  /** Object bytes received from GETs (serving uploads, rechecks, comparisons on resume). */
  readonly bytesRead: number;
  /** Requests sent, each attempt counted, by operation. */
  readonly requests: Readonly<Record<S3Op, number>>;
  /** The same attempts by operation and outcome (`S3Status`); operations never sent are absent. */
  readonly requestsByStatus: Readonly<Partial<Record<S3Op, Readonly<Record<S3Status, number>>>>>;
  /** How long attempts took, from sending the request to the last byte of the answer, by operation. */
  readonly durations: Readonly<Record<S3Op, S3DurationStats>>;
  /** Attempts that failed transiently and were made again. */
  readonly retries: number;
  /** Bytes held in write buffers right now (pieces waiting for the rest of their unit). */
  readonly bufferedBytes: number;
}

/** One operation's histogram while it fills: per-bucket (not cumulative) counts, the last one open-ended. */
class DurationCounts {
  readonly perBucket = new Array<number>(S3_DURATION_BUCKETS_SECONDS.length + 1).fill(0);
  sumSeconds = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < S3_DURATION_BUCKETS_SECONDS.length && seconds > S3_DURATION_BUCKETS_SECONDS[i]!) i++;
    this.perBucket[i]!++;
    this.sumSeconds += seconds;
  }

  snapshot(): S3DurationStats {
    const buckets: number[] = [];
    let running = 0;
    for (let i = 0; i < S3_DURATION_BUCKETS_SECONDS.length; i++) buckets.push((running += this.perBucket[i]!));
    return { buckets, count: running + this.perBucket[S3_DURATION_BUCKETS_SECONDS.length]!, sumSeconds: this.sumSeconds };
  }
}

/** The mutable counters behind `stats()`. Plain numbers: a request costs a few increments. */
export class S3Counters {
  bytesWritten = 0;
  bytesRead = 0;
  retries = 0;
  bufferedBytes = 0;
  readonly requests: Record<S3Op, number> = Object.fromEntries(S3_OPS.map((op) => [op, 0])) as Record<S3Op, number>;
  private readonly byStatus = new Map<S3Op, Map<S3Status, number>>();
  private readonly durations = new Map<S3Op, DurationCounts>(S3_OPS.map((op) => [op, new DurationCounts()]));

  /** One attempt of `op` ended with `status` after `seconds`. */
  attempted(op: S3Op, status: S3Status, seconds: number): void {
    let statuses = this.byStatus.get(op);
    if (!statuses) this.byStatus.set(op, (statuses = new Map()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    this.durations.get(op)!.observe(seconds);
  }

  snapshot(): S3StoreStats {
    return {
      bytesWritten: this.bytesWritten,
      bytesRead: this.bytesRead,
      requests: { ...this.requests },
      requestsByStatus: Object.fromEntries([...this.byStatus].map(([op, m]) => [op, Object.fromEntries(m)])),
      durations: Object.fromEntries(S3_OPS.map((op) => [op, this.durations.get(op)!.snapshot()])) as Record<S3Op, S3DurationStats>,
      retries: this.retries,
      bufferedBytes: this.bufferedBytes,
    };
  }
}
