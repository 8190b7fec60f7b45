import type { JobRateLimits } from "@shoal/metainfo";
import { BandwidthLimiter } from "./bandwidth-limiter.js";

/** A worker counts toward a torrent's share while heard from within this long (reports come every second). */
const LIVE_WITHIN_MS = 5_000;

/** This worker's part of one torrent's job-wide limits. */
export interface JobShare {
  readonly download: BandwidthLimiter;
  readonly upload: BandwidthLimiter;
}

interface Entry extends JobShare {
  readonly limits: JobRateLimits;
  /** Other workers on the torrent -> when last heard from. */
  readonly others: Map<string, number>;
}

/**
 * A job's rate limits hold for the whole cluster: each worker on the torrent takes an equal
 * share, recomputed as workers come and go (every worker's `swarm_stats` report says it is on
 * the torrent). A worker alone takes the whole limit; a new worker's arrival lowers the others'
 * shares within a report or two, so the sum overshoots the limit only briefly.
 */
export class JobShares {
  private readonly torrents = new Map<string, Entry>();

  constructor(
    private readonly workerId: string,
    private readonly now: () => number,
  ) {}

  /** The share of a torrent with limits; undefined when the job has none. */
  open(infoHash: string, limits: JobRateLimits): JobShare | undefined {
    if (limits.downloadBytesPerSec <= 0 && limits.uploadBytesPerSec <= 0) return undefined;
    const prev = this.torrents.get(infoHash);
    prev?.download.close();
    prev?.upload.close();
    const entry: Entry = {
      limits,
      others: prev?.others ?? new Map(),
      download: new BandwidthLimiter(0, this.now),
      upload: new BandwidthLimiter(0, this.now),
    };
    this.torrents.set(infoHash, entry);
    this.apply(entry);
    return entry;
  }

  /** A worker reported on a torrent. */
  heard(infoHash: string, workerId: string): void {
    if (workerId === this.workerId) return;
    const entry = this.torrents.get(infoHash);
    if (!entry) return;
    const isNew = !entry.others.has(workerId);
    entry.others.set(workerId, this.now());
    if (isNew) this.apply(entry);
  }

  /** Forgets silent workers and sets every share anew; call about every second. */
  rebalance(): void {
    for (const entry of this.torrents.values()) this.apply(entry);
  }

  /** Workers sharing the torrent, this one included. */
  workersOn(infoHash: string): number {
    const entry = this.torrents.get(infoHash);
    return entry ? 1 + entry.others.size : 1;
  }

  close(infoHash: string): void {
    const entry = this.torrents.get(infoHash);
    if (!entry) return;
    entry.download.close();
    entry.upload.close();
    this.torrents.delete(infoHash);
  }

  private apply(entry: Entry): void {
    const t = this.now();
    for (const [id, at] of entry.others) if (t - at > LIVE_WITHIN_MS) entry.others.delete(id);
    const n = 1 + entry.others.size;
    // 0 is "unlimited" to a limiter: a tiny limit split many ways stays at least 1 byte/s.
    const share = (limit: number) => (limit > 0 ? Math.max(1, Math.floor(limit / n)) : 0);
    entry.download.setRate(share(entry.limits.downloadBytesPerSec));
    entry.upload.setRate(share(entry.limits.uploadBytesPerSec));
  }
}
