/** Where a torrent comes from. */
export type TorrentSource =
  | { readonly kind: "torrent"; readonly base64: string }
  | { readonly kind: "url"; readonly url: string };

export interface TorrentJobData {
  readonly source: TorrentSource;
  /** Destination: a directory for the filesystem store, `bucket/prefix` for S3. */
  readonly destination: string;
}

export interface JobProgress {
  readonly infoHash: string;
  readonly name: string;
  readonly totalBytes: number;
  readonly storedBytes: number;
  readonly pieces: number;
  readonly storedPieces: number;
  readonly peers: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
}

export interface JobResult {
  readonly infoHash: string;
  readonly name: string;
  readonly files: readonly { readonly path: string; readonly length: number }[];
  readonly totalBytes: number;
  /** Pieces found intact at start (recheck) and not downloaded again. */
  readonly resumedPieces: number;
  readonly downloadedBytes: number;
}

export interface JobContext {
  readonly jobId: string;
  /** Aborted when the job is cancelled or the processor is closing. */
  readonly signal: AbortSignal;
  reportProgress(progress: JobProgress): Promise<void>;
}

export interface JobEvents {
  progress?(jobId: string, progress: JobProgress): void;
  completed?(jobId: string, result: JobResult): void;
  failed?(jobId: string, error: Error): void;
}

/**
 * The `torrents` queue: one job per torrent submission, with progress, completion and failure
 * (BullMQ in a cluster). A processor that throws an error with `retryable: false` fails the job
 * for good; other errors are retried by the queue's policy.
 */
export interface JobQueue {
  add(data: TorrentJobData, options?: { jobId?: string }): Promise<string>;
  process(
    handler: (data: TorrentJobData, context: JobContext) => Promise<JobResult>,
    options?: { concurrency?: number },
  ): Promise<{ close(): Promise<void> }>;
  /** Resolves with the job's result, rejects with its final error. */
  waitUntilFinished(jobId: string): Promise<JobResult>;
  cancel(jobId: string): Promise<void>;
  on(events: JobEvents): () => void;
  close(): Promise<void>;
}
