import type { Claim, ClaimTable, StagedRef } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/** A verified piece handed to the store and not reported durable yet. */
export interface PendingPiece {
  readonly ref: StagedRef;
  readonly bytes: number;
}

/** A piece given back to missing by `releaseAll`, with what is needed to announce it and drop its staging. */
export interface ReleasedPiece {
  readonly ref: StagedRef;
  readonly claim: Claim;
}

/**
 * The verified pieces this writer handed to the store and the store did not report durable yet
 * (an S3 part still filling): their bytes live only in this process's memory. Each is held in
 * the claim table under this writer's lease on its torrent (`ClaimTable.hold`), so if the
 * process dies its lease lapses, the torrent's owner returns them to missing and they are
 * downloaded again; otherwise they would stay `verified` with nobody having their bytes.
 *
 * The lease of a torrent is refreshed (`heartbeat`) while this writer holds a piece there and
 * left to lapse once it holds none.
 */
export class HeldPieces {
  private readonly torrents = new Map<string, Map<number, PendingPiece>>();
  /** Torrents whose lease this writer started and keeps refreshing. */
  private readonly leased = new Set<string>();
  /** Pending pieces the store reported durable whose `stored` mark failed, by torrent: marked again later. */
  private readonly unmarked = new Map<string, Set<number>>();

  constructor(
    private readonly claims: ClaimTable,
    readonly writerId: string,
    private readonly leaseTtlMs: number,
    private readonly logger: Logger,
  ) {}

  /** Pieces pending in every torrent. */
  get size(): number {
    let n = 0;
    for (const pieces of this.torrents.values()) n += pieces.size;
    return n;
  }

  /** Torrents whose lease is being refreshed: those where this writer holds pieces. */
  leasedTorrents(): string[] {
    return [...this.leased];
  }

  /** A piece about to be handed to the store; replaces an entry of another attempt of it. */
  add(ref: StagedRef, bytes: number): void {
    let pieces = this.torrents.get(ref.infoHash);
    if (!pieces) this.torrents.set(ref.infoHash, (pieces = new Map()));
    pieces.set(ref.piece, { ref, bytes });
  }

  get(infoHash: string, piece: number): PendingPiece | undefined {
    return this.torrents.get(infoHash)?.get(piece);
  }

  /**
   * Removes a piece: the store reported it durable, or it is no longer this writer's to keep
   * (it went back to missing, or moved on). A torrent left with none stops being heartbeaten.
   */
  take(infoHash: string, piece: number): PendingPiece | undefined {
    const pieces = this.torrents.get(infoHash);
    const entry = pieces?.get(piece);
    if (!pieces || !entry) return undefined;
    pieces.delete(piece);
    if (pieces.size === 0) this.forgetTorrent(infoHash);
    return entry;
  }

  /**
   * Takes a pending piece under this writer's lease on its torrent, starting the lease with a
   * heartbeat when it is the torrent's first. Resolves true when the piece is held; false when
   * the claim table refused (the piece left `verified` at that attempt), and then the piece is
   * no longer pending. Throws what the claim table throws: the bus delivers the piece again.
   */
  async hold(infoHash: string, piece: number): Promise<boolean> {
    const entry = this.get(infoHash, piece);
    if (!entry) return false;
    try {
      if (!this.leased.has(infoHash)) {
        await this.claims.heartbeat(infoHash, this.writerId, this.leaseTtlMs);
        this.leased.add(infoHash);
      }
      const [result] = await this.claims.hold(infoHash, this.writerId, [{ piece, attempt: entry.ref.attempt }]);
      if (result === "ok") return true;
      // Only the entry of that attempt: a newer delivery may have replaced it meanwhile.
      if (this.get(infoHash, piece) === entry) this.take(infoHash, piece);
      return false;
    } finally {
      // Other writes may have made every pending piece of the torrent durable while this one
      // waited for the claim table: then there is nothing left to keep the lease for.
      if (!this.torrents.has(infoHash)) this.leased.delete(infoHash);
    }
  }

  /**
   * Pending pieces the store already reported durable but the claim table could not be told
   * (it was down): the store reports a piece once, so they wait here, still pending under the
   * lease, until `takeUnmarked` hands them back for another try.
   */
  deferMarking(infoHash: string, pieces: readonly number[]): void {
    let set = this.unmarked.get(infoHash);
    if (!set) this.unmarked.set(infoHash, (set = new Set()));
    for (const p of pieces) if (this.get(infoHash, p)) set.add(p);
    if (set.size === 0) this.unmarked.delete(infoHash);
  }

  /** Takes the deferred marks, by torrent; those no longer pending are left out. */
  takeUnmarked(): [string, number[]][] {
    const out: [string, number[]][] = [];
    for (const [ih, set] of this.unmarked) {
      const pieces = [...set].filter((p) => this.get(ih, p) !== undefined);
      if (pieces.length > 0) out.push([ih, pieces]);
    }
    this.unmarked.clear();
    return out;
  }

  /** Refreshes this writer's lease on every torrent where it holds pieces; call every third of the lease. */
  async heartbeat(): Promise<void> {
    await Promise.all(
      [...this.leased].map(async (infoHash) => {
        try {
          await this.claims.heartbeat(infoHash, this.writerId, this.leaseTtlMs);
        } catch (err) {
          this.logger.error({ err, infoHash, op: "claims.heartbeat" }, "heartbeat failed; held pieces may go back to missing");
        }
      }),
    );
  }

  /** Stops waiting for a torrent's pieces and lets its lease lapse; returns what was pending. */
  forgetTorrent(infoHash: string): PendingPiece[] {
    const pieces = this.torrents.get(infoHash);
    this.torrents.delete(infoHash);
    this.unmarked.delete(infoHash);
    this.leased.delete(infoHash);
    return pieces ? [...pieces.values()] : [];
  }

  /**
   * Gives back every piece this writer holds (the writer is stopping): each goes back to
   * missing, since the store's buffers holding its bytes are about to go. Forgets them either
   * way. Returns the pieces the claim table moved; one it refused (not held, or moved on) stays
   * as it is, and one the table could not be asked about goes back when the lease lapses.
   */
  async release(): Promise<ReleasedPiece[]> {
    const released: ReleasedPiece[] = [];
    for (const ih of [...this.torrents.keys()]) {
      await Promise.all(
        this.forgetTorrent(ih).map(async ({ ref }) => {
          const claim = { piece: ref.piece, attempt: ref.attempt };
          try {
            if ((await this.claims.release(ih, this.writerId, claim)) === "ok") released.push({ ref, claim });
          } catch (err) {
            this.logger.warn({ err, infoHash: ih, piece: ref.piece, op: "claims.release" }, "held piece not given back; it goes back to missing when the lease lapses");
          }
        }),
      );
    }
    return released.sort((a, b) => (a.ref.infoHash === b.ref.infoHash ? a.claim.piece - b.claim.piece : a.ref.infoHash < b.ref.infoHash ? -1 : 1));
  }
}
