import type { JobInfo, JobState, PieceCounts, WorkerProgress } from "@shoal/coordination";

/** What the page shows of one job: no torrent bytes, numbers ready to print. */
export interface JobSummary {
  readonly id: string;
  readonly state: JobState;
  /** The torrent's name once its metadata is read; undefined before. */
  readonly name: string | undefined;
  readonly infoHash: string | undefined;
  readonly destination: string;
  /** The URL a job was submitted with; undefined for an uploaded .torrent. */
  readonly sourceUrl: string | undefined;
  /** 0-100, one decimal; 100 once completed. */
  readonly percent: number | undefined;
  readonly storedBytes: number;
  readonly totalBytes: number;
  readonly pieces: number;
  readonly storedPieces: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
  /** Seconds left at the current rate; undefined when not running or not moving. */
  readonly etaSeconds: number | undefined;
  readonly peers: number;
  readonly pieceStates: PieceCounts | undefined;
  readonly workers: readonly WorkerProgress[];
  readonly failedReason: string | undefined;
  readonly createdAt: number;
  readonly finishedAt: number | undefined;
  /** Still waiting or running: a cancel has something to stop. */
  readonly cancellable: boolean;
}

const RUNNING: readonly JobState[] = ["waiting", "active", "delayed"];

export function summarizeJob(job: JobInfo): JobSummary {
  const p = job.progress;
  const completed = job.state === "completed";
  const totalBytes = p?.totalBytes ?? job.result?.totalBytes ?? 0;
  const storedBytes = completed ? totalBytes : (p?.storedBytes ?? 0);
  const percent = completed ? 100 : p ? (p.totalBytes > 0 ? Math.floor((1000 * p.storedBytes) / p.totalBytes) / 10 : 100) : undefined;
  const active = job.state === "active";
  const rate = active ? (p?.downloadRateBytesPerSec ?? 0) : 0;
  return {
    id: job.id,
    state: job.state,
    name: p?.name ?? job.result?.name,
    infoHash: p?.infoHash ?? job.result?.infoHash,
    destination: job.data.destination,
    sourceUrl: job.data.source.kind === "url" ? job.data.source.url : undefined,
    percent,
    storedBytes,
    totalBytes,
    pieces: p?.pieces ?? 0,
    storedPieces: completed ? (p?.pieces ?? 0) : (p?.storedPieces ?? 0),
    downloadRateBytesPerSec: rate,
    uploadRateBytesPerSec: active ? (p?.uploadRateBytesPerSec ?? 0) : 0,
    etaSeconds: rate > 0 ? Math.ceil((totalBytes - storedBytes) / rate) : undefined,
    peers: active ? (p?.peers ?? 0) : 0,
    pieceStates: p?.pieceStates,
    workers: active ? (p?.workers ?? []) : [],
    failedReason: job.failedReason,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    cancellable: RUNNING.includes(job.state),
  };
}
