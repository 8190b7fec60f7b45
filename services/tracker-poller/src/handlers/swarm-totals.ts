import type { SubjectPayloads, WorkerProgress } from "@shoal/coordination";

type WorkerStats = SubjectPayloads["swarm_stats"];

/** What the torrent's owner reports: every worker's connections, rates and bytes, summed. */
export interface SwarmSnapshot {
  readonly peers: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Each worker's last report, the most downloaded first. */
  readonly workers: readonly WorkerProgress[];
}

/**
 * Sums the `swarm_stats` reports of a torrent's workers. Peers and rates come from workers heard
 * from within `staleMs` (a worker that died stops counting); byte totals come from every worker
 * ever heard from, because what a worker moved stays moved (trackers keep ratios from them). A
 * worker whose totals go down restarted: what it reported before is kept.
 */
export class SwarmTotals {
  private readonly latest = new Map<string, { stats: WorkerStats; at: number }>();
  private retiredDownloaded = 0;
  private retiredUploaded = 0;

  constructor(
    private readonly now: () => number,
    private readonly staleMs: number,
  ) {}

  update(stats: WorkerStats): void {
    const prev = this.latest.get(stats.workerId);
    if (prev && (stats.downloadedBytes < prev.stats.downloadedBytes || stats.uploadedBytes < prev.stats.uploadedBytes)) {
      this.retiredDownloaded += prev.stats.downloadedBytes;
      this.retiredUploaded += prev.stats.uploadedBytes;
    }
    this.latest.set(stats.workerId, { stats, at: this.now() });
  }

  snapshot(): SwarmSnapshot {
    const now = this.now();
    let peers = 0;
    let down = 0;
    let up = 0;
    let downloaded = this.retiredDownloaded;
    let uploaded = this.retiredUploaded;
    const workers: WorkerProgress[] = [];
    for (const { stats, at } of this.latest.values()) {
      downloaded += stats.downloadedBytes;
      uploaded += stats.uploadedBytes;
      const live = now - at <= this.staleMs;
      workers.push({
        workerId: stats.workerId,
        live,
        peers: live ? stats.peers : 0,
        downloadRateBytesPerSec: live ? stats.downloadRateBytesPerSec : 0,
        uploadRateBytesPerSec: live ? stats.uploadRateBytesPerSec : 0,
        downloadedBytes: stats.downloadedBytes,
        uploadedBytes: stats.uploadedBytes,
      });
      if (!live) continue;
      peers += stats.peers;
      down += stats.downloadRateBytesPerSec;
      up += stats.uploadRateBytesPerSec;
    }
    workers.sort((a, b) => b.downloadedBytes - a.downloadedBytes);
    return { peers, downloadRateBytesPerSec: down, uploadRateBytesPerSec: up, downloadedBytes: downloaded, uploadedBytes: uploaded, workers };
  }
}
