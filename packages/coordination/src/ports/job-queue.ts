import type { PieceCounts } from "./claim-table.js";

/** Where a torrent comes from. */
export type TorrentSource =
  | { readonly kind: "torrent"; readonly base64: string }
  | { readonly kind: "url"; readonly url: string }
  /** A BEP 9 magnet link: the torrent's owner fetches the metadata from peers. */
  | { readonly kind: "magnet"; readonly uri: string };

/** What a submitter may ask of a job beyond "download everything, then stop". */
export interface TorrentJobOptions {
  /**
   * Indices of the files to download, numbered from 0 over the torrent's files without BEP 47
   * padding (as `shoal info` lists them). Absent: every file.
   */
  readonly selectFiles?: readonly number[];
  /**
   * Keep serving the torrent after it is complete until uploaded / downloaded size reaches
   * `ratio` or `seconds` have passed, whichever comes first. Absent: finish at completion.
   */
  readonly seed?: { readonly ratio?: number; readonly seconds?: number };
  /**
   * Rate limits of the whole job, bytes per second, shared equally by the peer-workers on it
   * (absent or 0: unlimited).
   */
  readonly maxDownloadBytesPerSec?: number;
  readonly maxUploadBytesPerSec?: number;
  /**
   * BEP 19 web seeds: `fromTorrent` (absent = true) uses the torrent's `url-list` (a magnet's
   * `ws=` once magnets are supported), `add` lists more http(s) URLs. The torrent's owner
   * resolves them into the catalog record, so every worker uses the same list.
   */
  readonly webSeeds?: { readonly fromTorrent?: boolean; readonly add?: readonly string[] };
  /**
   * false: this job finds peers without the DHT (BEP 5), from trackers and the link's peers
   * only. Absent: the DHT is used when the poller runs one and the torrent is not private.
   */
  readonly dht?: boolean;
}

export interface TorrentJobData {
  readonly source: TorrentSource;
  /** Destination: a directory for the filesystem store, `bucket/prefix` for S3. */
  readonly destination: string;
  readonly options?: TorrentJobOptions;
}

/** One peer-worker's share of a job, as it last reported it. */
export interface WorkerProgress {
  readonly workerId: string;
  /** Heard from within the last few seconds; peers and rates of a silent worker no longer count. */
  readonly live: boolean;
  readonly peers: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
}

export interface JobProgress {
  readonly infoHash: string;
  readonly name: string;
  /** Bytes of the pieces wanted (the selected files' pieces; the whole torrent without a selection). */
  readonly totalBytes: number;
  readonly storedBytes: number;
  readonly pieces: number;
  readonly storedPieces: number;
  readonly peers: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Pieces by state in the claim table (skipped ones are not wanted). */
  readonly pieceStates?: PieceCounts;
  /** Every worker that reported on the job, busiest first. */
  readonly workers?: readonly WorkerProgress[];
}

export interface JobResult {
  readonly infoHash: string;
  readonly name: string;
  /** The files downloaded (the selected ones), paths relative to the destination. */
  readonly files: readonly { readonly path: string; readonly length: number }[];
  /** Bytes of the pieces the selected files need (the whole torrent without a selection). */
  readonly totalBytes: number;
  /** Pieces found intact at start (recheck) and not downloaded again. */
  readonly resumedPieces: number;
  readonly downloadedBytes: number;
  /** Payload bytes served to peers, seeding included. */
  readonly uploadedBytes: number;
}

/** Where a job is in its life. */
export type JobState = "waiting" | "active" | "delayed" | "completed" | "failed";

/** Jobs in each state right now: for metrics and dashboards. */
export type JobCounts = Readonly<Record<JobState, number>>;

/** What anyone can read about a job: for `status` and dashboards. */
export interface JobInfo {
  readonly id: string;
  readonly state: JobState;
  readonly data: TorrentJobData;
  /** The latest progress the job reported, once it has started. */
  readonly progress?: JobProgress;
  readonly result?: JobResult;
  /** Why it failed, as a person reads it. */
  readonly failedReason?: string;
  /** Tries started so far. */
  readonly attemptsMade: number;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly finishedAt?: number;
}

export interface JobContext {
  readonly jobId: string;
  /** Aborted when the job is cancelled or the processor is closing. */
  readonly signal: AbortSignal;
  /**
   * Whether the abort was a cancel (the job ends here for good: drop unfinished uploads) rather
   * than the processor closing (another one takes the job over and continues them).
   */
  cancelled(): boolean;
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
  /** One job as it stands now; undefined for an unknown job. */
  get(jobId: string): Promise<JobInfo | undefined>;
  /** The most recently created jobs first, at most `limit` of them (default 50). */
  list(options?: { limit?: number }): Promise<JobInfo[]>;
  /**
   * Caps the jobs active at once across every processor of the queue (in a cluster: every
   * tracker-poller), on top of each processor's own concurrency; null removes the cap. Jobs
   * past the cap wait their turn. Throws BACKEND_UNAVAILABLE when the queue's store is away.
   */
  setActiveLimit(limit: number | null): Promise<void>;
  /** The cap set by `setActiveLimit`, or null when there is none. */
  activeLimit(): Promise<number | null>;
  /**
   * How many jobs are in each state now, every state present (0 when none), in one round trip:
   * cheap enough to read at every metrics scrape. Throws BACKEND_UNAVAILABLE while the backend
   * is unreachable and QUEUE_CLOSED after `close`.
   */
  counts(): Promise<JobCounts>;
  on(events: JobEvents): () => void;
  close(): Promise<void>;
}
