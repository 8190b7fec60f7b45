import type { ClaimTable } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

export interface ClusterPresenceDeps {
  readonly claims: ClaimTable;
  readonly workerId: string;
  /** How long one refresh keeps us counted: the lease of our claims (`heartbeatTtlSeconds`). */
  readonly ttlMs: number;
  readonly logger: Logger;
}

/**
 * This worker among the cluster's peer workers (`ClaimTable.peerWorkerPresence`), and how many
 * there are: the number a worker that joins a torrent waits for in the torrent's peer registry
 * before it dials. Refreshed with every heartbeat; one call in flight at a time.
 */
export class ClusterPresence {
  /**
   * The cluster's live peer workers, us included, at the last answer; undefined before the first.
   * Unknown means a full `joinSettleMs` of waiting, as before the count existed: a guess of one
   * would let the first worker of several take every peer. A failed refresh keeps the last count.
   */
  peerWorkers: number | undefined;
  private pending: Promise<void> | undefined;
  private failing = false;
  private left = false;

  constructor(private readonly deps: ClusterPresenceDeps) {}

  /** Counts us as live for another `ttlMs` and learns how many we are; never throws. */
  refresh(): Promise<void> {
    if (this.left) return Promise.resolve();
    this.pending ??= this.call(this.deps.ttlMs).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** We stop: no longer counted, at once, so nobody joining a torrent waits for us. */
  async leave(): Promise<void> {
    this.left = true;
    // A refresh landing after the removal would count us again for a whole ttl.
    await this.pending;
    await this.call(0);
  }

  private async call(ttlMs: number): Promise<void> {
    const { claims, workerId, logger } = this.deps;
    try {
      const count = await claims.peerWorkerPresence(workerId, ttlMs);
      if (ttlMs > 0) this.peerWorkers = count;
      this.failing = false;
    } catch (err) {
      // The heartbeats fail too and say so; one warning per outage is enough here.
      const fields = { err, op: "claims.peerWorkerPresence" };
      const message = "cannot record this worker among the cluster's peer workers";
      if (this.failing) logger.debug(fields, message);
      else logger.warn(fields, message);
      this.failing = true;
    }
  }
}
