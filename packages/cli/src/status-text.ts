/**
 * The text of `shoal status`: one line per job in the list, and the details of one job
 * (`status-json.ts` holds the `--json` form).
 */
import type { JobInfo, JobProgress } from "@shoal/coordination";
import { formatBytes, formatDuration } from "./progress.js";

function percent(p: JobProgress | undefined): string {
  if (!p) return "--";
  return `${(p.totalBytes > 0 ? (100 * p.storedBytes) / p.totalBytes : 100).toFixed(1)}%`;
}

function eta(p: JobProgress | undefined): string {
  if (!p || p.downloadRateBytesPerSec <= 0) return "--";
  return formatDuration((p.totalBytes - p.storedBytes) / p.downloadRateBytesPerSec);
}

/** One job in the list of `shoal status`: id, state, percent, name, and rate and ETA while active. */
export function jobLine(job: JobInfo): string {
  const p = job.progress;
  const name = p?.name ?? job.result?.name ?? "(metadata not read yet)";
  const rate = p && job.state === "active" ? `${formatBytes(p.downloadRateBytesPerSec)}/s ETA ${eta(p)}` : "";
  return [job.id, job.state.padEnd(9), percent(job.state === "completed" ? undefined : p).padStart(6), name, rate, job.failedReason ? `(${job.failedReason})` : ""]
    .filter((s) => s !== "")
    .join("  ");
}

/** `shoal status JOB`: the job, its progress, pieces by state and workers, and its result. */
export function jobDetails(job: JobInfo): string {
  const p = job.progress;
  const lines = [
    `job ${job.id}: ${job.state}${job.failedReason ? ` (${job.failedReason})` : ""}`,
    `destination: ${job.data.destination}`,
  ];
  if (p) {
    lines.push(`torrent: ${p.name} (${p.infoHash})`);
    lines.push(`progress: ${percent(p)} ${formatBytes(p.storedBytes)}/${formatBytes(p.totalBytes)}, pieces ${p.storedPieces}/${p.pieces}`);
    if (p.pieceStates) {
      const s = p.pieceStates;
      lines.push(`pieces by state: missing ${s.missing}, claimed ${s.claimed}, staged ${s.staged}, verified ${s.verified}, stored ${s.stored}, skipped ${s.skipped}`);
    }
    lines.push(`rate: ${formatBytes(p.downloadRateBytesPerSec)}/s down, ${formatBytes(p.uploadRateBytesPerSec)}/s up, ETA ${eta(p)}, peers ${p.peers}`);
    const workers = p.workers ?? [];
    lines.push(`workers: ${workers.length}`);
    for (const w of workers) {
      lines.push(
        `  ${w.workerId}${w.live ? "" : " (silent)"}: downloaded ${formatBytes(w.downloadedBytes)}, uploaded ${formatBytes(w.uploadedBytes)}, ` +
          `${formatBytes(w.downloadRateBytesPerSec)}/s, peers ${w.peers}`,
      );
    }
  }
  if (job.result) lines.push(`result: ${job.result.files.length} file(s), ${formatBytes(job.result.totalBytes)}`);
  return `${lines.join("\n")}\n`;
}
