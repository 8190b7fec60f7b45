import type { ClaimTable, PieceBus } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/**
 * Finds pieces that stopped moving: staged (waiting for a verifier) or verified and held by no
 * writer (waiting for one), at the same attempt, for longer than `stuckMs`. Their bus message
 * was lost: a NATS server killed before it flushed its store, a message dropped as poison after
 * its last delivery, a stream deleted by hand. Nothing else would ever move them, and the job
 * would wait forever; they go back to missing and are downloaded again.
 *
 * A message only delayed (a backlog longer than `stuckMs`) then arrives for an attempt that is
 * no longer current and is dropped as stale: the cost is a piece downloaded twice, never a wrong
 * byte. Held verified pieces are the lease sweep's business, not this one's; a staged piece is
 * held by its stager too, but a live stager does not know its message was lost.
 */
export class StuckPieces {
  /** Piece -> the state and attempt it was first seen in, and when. */
  private readonly seen = new Map<number, { state: string; attempt: number; since: number }>();

  constructor(
    private readonly claims: ClaimTable,
    private readonly bus: PieceBus,
    private readonly infoHash: string,
    private readonly stuckMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** One look at the table; resolves how many pieces were sent back to missing. */
  async sweep(): Promise<number> {
    const now = this.now();
    const [staged, verified] = await Promise.all([this.claims.piecesIn(this.infoHash, "staged"), this.claims.piecesIn(this.infoHash, "verified")]);
    const candidates = new Set([...staged, ...verified]);
    for (const piece of this.seen.keys()) if (!candidates.has(piece)) this.seen.delete(piece);
    let freed = 0;
    for (const piece of candidates) {
      const rec = await this.claims.piece(this.infoHash, piece);
      // A staged piece is held by the worker that staged it, alive or not yet lapsed: that says
      // nothing about its message, so only a held verified piece (the writer has its bytes) is
      // left to its holder's lease.
      if ((rec.state !== "staged" && rec.state !== "verified") || (rec.state === "verified" && rec.holder !== undefined)) {
        this.seen.delete(piece);
        continue;
      }
      const first = this.seen.get(piece);
      if (!first || first.state !== rec.state || first.attempt !== rec.attempt) {
        this.seen.set(piece, { state: rec.state, attempt: rec.attempt, since: now });
        continue;
      }
      if (now - first.since < this.stuckMs) continue;
      this.seen.delete(piece);
      if ((await this.claims.unstage(this.infoHash, { piece, attempt: rec.attempt })) !== "ok") continue;
      freed++;
      this.logger.warn({ piece, attempt: rec.attempt, state: rec.state, op: "poller.stuckPieces" }, `piece ${piece} sat ${rec.state} for ${Math.round((now - first.since) / 1000)} s; its message was lost, so it is downloaded again`);
      await this.bus.publish("piece_failed", { infoHash: this.infoHash, piece, attempt: rec.attempt, peers: [] }).catch(() => undefined);
    }
    return freed;
  }
}
