import type { PieceCounts } from "@shoal/coordination";

/**
 * How long a torrent that ended here keeps its last counts on the board: several scrape
 * intervals, so a dashboard sees it reach 100 % (or stop short when it failed) instead of its
 * series vanishing between two scrapes, and short enough that ended torrents do not pile up.
 */
export const ENDED_KEEP_MS = 10 * 60_000;
/** Ended torrents kept at most, whatever their age: bounds the series of a busy poller. */
export const ENDED_KEEP_MAX = 64;

interface Entry {
  counts: PieceCounts;
  /** When the job ended here (ms, the board's clock); undefined while it runs. */
  endedAt?: number;
}

/**
 * Pieces by state of the torrents this poller owns, as its progress loop last read them from
 * the claim table: the metrics endpoint shows them without a claim-table call per scrape, and
 * only the owner shows a torrent, so the series are not repeated by every process.
 */
export class PieceStateBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The latest counts of a torrent this poller runs. */
  update(infoHash: string, counts: PieceCounts): void {
    this.entries.delete(infoHash);
    this.entries.set(infoHash, { counts });
  }

  /**
   * The torrent's job ended here. `keep`: it completed, failed or was cancelled, and its last
   * counts stay for `ENDED_KEEP_MS`; a job handed back to the queue (the poller stopping) is
   * dropped at once, since its next owner reports it.
   */
  ended(infoHash: string, keep: boolean): void {
    const e = this.entries.get(infoHash);
    if (!e) return;
    if (keep) e.endedAt = this.now();
    else this.entries.delete(infoHash);
  }

  /** Counts by torrent (info hash in hex): running torrents and recently ended ones. */
  snapshot(): Record<string, PieceCounts> {
    const now = this.now();
    let ended = [...this.entries].filter(([, e]) => e.endedAt !== undefined);
    for (const [ih, e] of ended) if (now - e.endedAt! > ENDED_KEEP_MS) this.entries.delete(ih);
    ended = ended.filter(([ih]) => this.entries.has(ih)).sort((a, b) => a[1].endedAt! - b[1].endedAt!);
    for (const [ih] of ended.slice(0, Math.max(0, ended.length - ENDED_KEEP_MAX))) this.entries.delete(ih);
    return Object.fromEntries([...this.entries].map(([ih, e]) => [ih, e.counts]));
  }
}
