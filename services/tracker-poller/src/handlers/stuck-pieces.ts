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
/** What the sweep remembers of a piece it found waiting: its state, as a code. */
const WAITING_CODE = { staged: 1, verified: 2 } as const;

/** Bytes the sweep keeps per piece of the torrent (see `StuckPieces`), once any piece waited. */
export const STUCK_SWEEP_BYTES_PER_PIECE = 1 + 4 + 8;

export class StuckPieces {
  /**
   * Per piece, the state (`WAITING_CODE`, 0 for none) and attempt it was first seen waiting in,
   * and when: typed arrays made at the first sweep that finds a piece waiting, 13 bytes per piece
   * whatever the backlog. A map of one object per waiting piece held about 100 bytes for each of
   * the tens of thousands a slow writer leaves verified.
   */
  private code: Uint8Array | undefined;
  private attempt: Uint32Array | undefined;
  private since: Float64Array | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly claims: ClaimTable,
    private readonly bus: PieceBus,
    private readonly infoHash: string,
    private readonly stuckMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** Bytes of the per-piece memory now: `STUCK_SWEEP_BYTES_PER_PIECE` per piece once made, whatever the backlog. */
  get retainedBytes(): number {
    return (this.code?.byteLength ?? 0) + (this.attempt?.byteLength ?? 0) + (this.since?.byteLength ?? 0);
  }

  /**
   * One look at the table; resolves how many pieces were sent back to missing. A sweep asked for
   * while one runs joins it: a long one must not have others pile up behind it.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * The table is read whole, in one call, and only when some piece is staged or verified: a
   * read per waiting piece cost the owner a claim-table round trip (and its promises) for each of
   * them at every sweep, most of the poller's allocations with a backlog of tens of thousands.
   */
  private async sweepOnce(): Promise<number> {
    const now = this.now();
    const counts = await this.claims.counts(this.infoHash);
    if (counts.staged + counts.verified === 0) {
      this.code?.fill(0);
      return 0;
    }
    const records = await this.claims.pieces(this.infoHash);
    const code = (this.code ??= new Uint8Array(records.length));
    const attempt = (this.attempt ??= new Uint32Array(records.length));
    const since = (this.since ??= new Float64Array(records.length));
    const stuck: { piece: number; attempt: number; state: string; since: number }[] = [];
    for (let piece = 0; piece < records.length; piece++) {
      const rec = records[piece]!;
      // A staged piece is held by the worker that staged it, alive or not yet lapsed: that says
      // nothing about its message, so only a held verified piece (the writer has its bytes) is
      // left to its holder's lease.
      const waiting = rec.state === "staged" || (rec.state === "verified" && rec.holder === undefined);
      if (!waiting) {
        code[piece] = 0;
        continue;
      }
      const c = WAITING_CODE[rec.state as keyof typeof WAITING_CODE];
      if (code[piece] !== c || attempt[piece] !== rec.attempt) {
        code[piece] = c;
        attempt[piece] = rec.attempt;
        since[piece] = now;
        continue;
      }
      if (now - since[piece]! < this.stuckMs) continue;
      code[piece] = 0;
      stuck.push({ piece, attempt: rec.attempt, state: rec.state, since: since[piece]! });
    }
    let freed = 0;
    for (const { piece, attempt: at, state, since: first } of stuck) {
      if ((await this.claims.unstage(this.infoHash, { piece, attempt: at })) !== "ok") continue;
      freed++;
      this.logger.warn({ piece, attempt: at, state, op: "poller.stuckPieces" }, `piece ${piece} sat ${state} for ${Math.round((now - first) / 1000)} s; its message was lost, so it is downloaded again`);
      await this.bus.publish("piece_failed", { infoHash: this.infoHash, piece, attempt: at, peers: [] }).catch(() => undefined);
    }
    return freed;
  }
}
