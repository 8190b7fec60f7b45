import type { ClaimTable } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/**
 * A vector that did not change is published again after this long anyway: the lease sweep drops
 * the vector of a worker whose lease lapsed (a stall, a Redis restart), and nothing else would
 * bring it back while the worker's connections stay as they are. Costs one write per half minute.
 */
export const AVAILABILITY_REPUBLISH_MS = 30_000;

export interface AvailabilitySyncOptions {
  readonly infoHash: string;
  readonly workerId: string;
  /** Publishes and fetches at most once per this many ms each; 0 or less turns the sync off. */
  readonly intervalMs: number;
  readonly now: () => number;
}

/**
 * Keeps one torrent's cluster-wide availability in step with the claim table: publishes this
 * worker's per-piece count of connected peers (`own`, kept by the block scheduler) when it
 * changed, at most once per interval, and fetches the other live workers' summed counts into
 * `others` at the same rate, where the pickers read them. One call of each kind is in flight at
 * most, so a slow table never piles calls up. A failure leaves the last known counts in place:
 * picks fall back towards this worker's own view, never stop.
 */
export class AvailabilitySync {
  /** What the table holds for us: the copy last published (all zero before the first). */
  private readonly published: Uint16Array;
  private hasPublished = false;
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private publishing = false;
  private fetching = false;
  /** A call failed since the last success: log the first failure of a streak only. */
  private failing = false;
  private closed = false;

  constructor(
    private readonly opts: AvailabilitySyncOptions,
    private readonly own: Uint16Array,
    private readonly others: Uint16Array,
    private readonly claims: ClaimTable,
    private readonly logger: Logger,
  ) {
    this.published = new Uint16Array(own.length);
  }

  get enabled(): boolean {
    return this.opts.intervalMs > 0;
  }

  /** Called by the swarm every tick, and once at join so the first picks know the cluster. */
  tick(): void {
    if (!this.enabled || this.closed) return;
    const now = this.opts.now();
    if (!this.fetching && now - this.lastFetchAt >= this.opts.intervalMs) {
      this.lastFetchAt = now;
      void this.fetch();
    }
    if (!this.publishing && now - this.lastPublishAt >= this.opts.intervalMs) {
      const stale = this.hasPublished && now - this.lastPublishAt >= AVAILABILITY_REPUBLISH_MS;
      if (stale || !sameCounts(this.own, this.published)) {
        this.lastPublishAt = now;
        void this.publish();
      }
    }
  }

  /** Leaves the torrent: our vector stops counting now rather than when the lease lapses. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.enabled || !this.hasPublished) return;
    await this.claims.withdrawAvailability(this.opts.infoHash, this.opts.workerId).catch((err: unknown) => {
      this.logger.debug({ err, op: "claims.withdrawAvailability" }, "availability not withdrawn; it goes with the lease");
    });
  }

  private async publish(): Promise<void> {
    this.publishing = true;
    // A snapshot: the table may read the bytes after this turn, while connections keep changing `own`.
    this.published.set(this.own);
    try {
      await this.claims.publishAvailability(this.opts.infoHash, this.opts.workerId, this.published);
      this.hasPublished = true;
      this.failing = false;
    } catch (err) {
      // Not what the table holds: the next interval publishes again, changed or not.
      this.published.fill(0xffff);
      this.failed(err, "claims.publishAvailability");
    } finally {
      this.publishing = false;
    }
  }

  private async fetch(): Promise<void> {
    this.fetching = true;
    try {
      const sum = await this.claims.availability(this.opts.infoHash, this.opts.workerId);
      if (!this.closed && sum.length === this.others.length) this.others.set(sum);
      this.failing = false;
    } catch (err) {
      this.failed(err, "claims.availability");
    } finally {
      this.fetching = false;
    }
  }

  private failed(err: unknown, op: string): void {
    if (this.closed) return;
    if (!this.failing) this.logger.warn({ err, op }, "cluster availability out of step; picks rank by the last counts known");
    else this.logger.debug({ err, op }, "cluster availability still out of step");
    this.failing = true;
  }
}

function sameCounts(a: Uint16Array, b: Uint16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
