import type { SubjectPayloads, WorkerProgress } from "@shoal/coordination";

/**
 * A worker is shown while it reported within this long: workers report every second, and the
 * torrent's owner treats one silent for five seconds the same way.
 */
export const WORKER_STALE_MS = 5_000;

/** One peer-worker across its torrents, as the page's worker table shows it. */
export interface WorkerRow {
  readonly workerId: string;
  readonly torrents: number;
  readonly peers: number;
  readonly downloadRateBytesPerSec: number;
  readonly uploadRateBytesPerSec: number;
}

/**
 * Workers' latest `swarm_stats` per torrent, heard on NATS: rates and peers as each worker
 * reports them every second, without waiting for the owner's progress report.
 */
export class WorkerBoard {
  private readonly latest = new Map<string, Map<string, { stats: SubjectPayloads["swarm_stats"]; at: number }>>();

  constructor(private readonly now: () => number) {}

  update(stats: SubjectPayloads["swarm_stats"]): void {
    let byTorrent = this.latest.get(stats.workerId);
    if (!byTorrent) this.latest.set(stats.workerId, (byTorrent = new Map()));
    byTorrent.set(stats.infoHash, { stats, at: this.now() });
  }

  /** Workers heard from lately, busiest first; stale entries are dropped. */
  rows(): WorkerRow[] {
    const cutoff = this.now() - WORKER_STALE_MS;
    const rows: WorkerRow[] = [];
    for (const [workerId, byTorrent] of this.latest) {
      for (const [ih, e] of byTorrent) if (e.at < cutoff) byTorrent.delete(ih);
      if (byTorrent.size === 0) {
        this.latest.delete(workerId);
        continue;
      }
      const all = [...byTorrent.values()].map((e) => e.stats);
      rows.push({
        workerId,
        torrents: all.length,
        peers: sum(all.map((s) => s.peers)),
        downloadRateBytesPerSec: sum(all.map((s) => s.downloadRateBytesPerSec)),
        uploadRateBytesPerSec: sum(all.map((s) => s.uploadRateBytesPerSec)),
      });
    }
    return sortRows(rows);
  }
}

/** Workers as running jobs' progress reports list them: what the page shows while NATS is away. */
export function rowsFromProgress(jobs: readonly { readonly workers: readonly WorkerProgress[] }[]): WorkerRow[] {
  const by = new Map<string, { torrents: number; peers: number; down: number; up: number }>();
  for (const job of jobs) {
    for (const w of job.workers) {
      if (!w.live) continue;
      const r = by.get(w.workerId) ?? { torrents: 0, peers: 0, down: 0, up: 0 };
      by.set(w.workerId, { torrents: r.torrents + 1, peers: r.peers + w.peers, down: r.down + w.downloadRateBytesPerSec, up: r.up + w.uploadRateBytesPerSec });
    }
  }
  return sortRows(
    [...by].map(([workerId, r]) => ({ workerId, torrents: r.torrents, peers: r.peers, downloadRateBytesPerSec: r.down, uploadRateBytesPerSec: r.up })),
  );
}

function sortRows(rows: WorkerRow[]): WorkerRow[] {
  return rows.sort((a, b) => b.downloadRateBytesPerSec - a.downloadRateBytesPerSec || a.workerId.localeCompare(b.workerId));
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
