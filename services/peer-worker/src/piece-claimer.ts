import type { Bitfield } from "@shoal/wire";
import type { Claim, ClaimTable } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { ActivePiece } from "./active-piece.js";
import type { PeerConnection } from "./connection.js";
import { pickPieces } from "./picker.js";
import { PieceSet } from "./piece-set.js";
import { pickRuns } from "./run-picker.js";
import { RunWindows } from "./run-windows.js";

/**
 * After a claim-table call failed, no claim is tried for this long. A table that fails at once
 * (a store refusing commands while it restarts) was otherwise asked again from the failure's own
 * callback, in a loop of microtasks that starved every timer of the worker, its heartbeats
 * among them.
 */
export const FAILED_CALL_BACKOFF_MS = 500;

export interface ClaimerOptions {
  readonly infoHash: string;
  readonly workerId: string;
  readonly pieceCount: number;
  readonly pieceLength: (index: number) => number;
  /** Memory for pieces in progress and staged; no new claims beyond it. */
  readonly maxBufferedBytes: number;
  /**
   * Pieces per claim run: claims fill aligned windows of this many consecutive pieces, rarest
   * window first and started windows before new ones (`pickRuns`). 0 claims piece by piece.
   */
  readonly runPieces: number;
  readonly now: () => number;
  readonly random: () => number;
}

/** What the claimer needs of the block scheduler it works for. */
export interface ClaimerHost {
  /** Pieces in progress here: claimed by us, or end-game duplicates of other workers' claims. */
  readonly active: ReadonlyMap<number, ActivePiece>;
  /** Staged pieces of ours waiting for the verifier and writer. */
  readonly pending: ReadonlyMap<number, number>;
  bufferedBytes(): number;
  connections(): Iterable<PeerConnection>;
  /** Whether `conn` may be asked for `piece` (its data for it never failed the hash). */
  mayAsk(conn: PeerConnection, piece: number): boolean;
  /** A piece to download here from now on. */
  start(piece: ActivePiece): void;
  fillAll(): void;
}

/**
 * Which pieces this worker claims from the shared claim table, and when it asks the table.
 *
 * A pick walks only the eligible pieces: not stored, not in progress or staged here, not known to
 * be claimed elsewhere. They are kept as a set while those facts change, so near the end of a
 * download a pick costs the few pieces left, not the whole torrent. At most one claim-table round
 * trip (a claim, or the end-game check) is in flight; fills that want one meanwhile are served
 * when it returns. A pick that finds nothing is not repeated, and the table is not asked again,
 * until something that could change the answer happens: a piece becomes eligible, a peer
 * announces an eligible piece, a connection unchokes us, or the periodic refresh.
 *
 * With runs on (`runPieces` > 0) a pick walks aligned windows of consecutive pieces instead of
 * single pieces, finishing started windows (its own first, then any with a piece stored) and
 * continuing next to them before it opens another; the claim table grants in the order given, so
 * claims fill a window in index order. End-game stays per piece.
 */
export class PieceClaimer {
  /** Nothing was missing when last asked: other workers' claimed pieces are downloaded too. */
  endgame = false;
  private readonly eligible: PieceSet;
  /** With runs on: the windows to finish or continue before opening one elsewhere. */
  private readonly runs: RunWindows | undefined;
  /** Pieces the claim table refused us recently (someone else holds them); retried on refresh. */
  private readonly elsewhere: Uint8Array;
  private elsewhereList: number[] = [];
  private busy = false;
  /** No claims before this: see FAILED_CALL_BACKOFF_MS. */
  private retryAt = Number.NEGATIVE_INFINITY;
  private wantedWhileBusy = false;
  /** The last own piece left while a claim-table trip was in flight: end-game looks again after it. */
  private ownDoneWhileBusy = false;
  /** Bumped by every event that could give a pick a different answer. */
  private changes = 0;
  /** `changes` when a pick last found nothing and the claim table confirmed pieces are missing. */
  private exhaustedAt = -1;
  private stopped = false;
  /**
   * End-game: other workers' claims not taken up yet, because memory is short or no connection
   * has the piece. Duplicates hold piece buffers like our own claims do and share their budget;
   * unbounded, every worker would buffer every piece claimed anywhere in the cluster.
   */
  private readonly duplicates = new Map<number, Claim>();

  /**
   * @param availability how many of this worker's connections have each piece.
   * @param othersAvailability how many peers of the cluster's other workers have each piece, as
   *   last heard from the claim table (`AvailabilitySync`); picks rank by the two together.
   */
  constructor(
    private readonly opts: ClaimerOptions,
    private readonly have: Bitfield,
    private readonly availability: ArrayLike<number>,
    private readonly othersAvailability: ArrayLike<number>,
    private readonly claims: ClaimTable,
    private readonly host: ClaimerHost,
    private readonly logger: Logger,
  ) {
    this.eligible = new PieceSet(opts.pieceCount);
    this.elsewhere = new Uint8Array(opts.pieceCount);
    this.runs = opts.runPieces > 0 ? new RunWindows(opts.pieceCount, opts.runPieces) : undefined;
    for (let i = 0; i < opts.pieceCount; i++) {
      const done = have.has(i);
      if (!done) this.eligible.add(i);
      this.runs?.update(i, done, !done);
    }
  }

  /** Re-derives whether `piece` may be claimed; call after any fact that decides it changed. */
  reconsider(piece: number): void {
    const started = this.have.has(piece) || this.host.active.has(piece) || this.host.pending.has(piece);
    const ok = !started && this.elsewhere[piece] === 0;
    this.runs?.update(piece, started, ok);
    if (!ok) this.eligible.delete(piece);
    else if (this.eligible.add(piece)) this.changes++;
  }

  /** Whether `piece` may be claimed now (see `reconsider`). */
  isEligible(piece: number): boolean {
    return this.eligible.has(piece);
  }

  /** Pieces the claim table refused to another source of this worker: someone else holds them. */
  markElsewhere(pieces: readonly number[]): void {
    for (const i of pieces) {
      if (this.elsewhere[i] === 1) continue;
      this.elsewhere[i] = 1;
      this.elsewhereList.push(i);
      this.reconsider(i);
    }
  }

  /** A connected peer announced `piece`. */
  onPeerHas(piece: number): void {
    if (this.eligible.has(piece)) this.changes++;
    if (this.duplicates.has(piece)) this.takeUpDuplicates();
  }

  /** A piece left memory (stored, failed, dropped): end-game may take up another duplicate. */
  onMemoryFreed(): void {
    if (this.duplicates.size > 0) this.takeUpDuplicates();
  }

  /**
   * A piece left the active set here (finished, given back, dropped). Once no piece of this
   * worker's own is left to fetch in end-game, it starts on other workers' claims.
   */
  onPieceDone(): void {
    if (!this.endgame || this.stopped || this.ownPiecesActive()) return;
    if (this.busy) {
      this.ownDoneWhileBusy = true;
      return;
    }
    this.busy = true;
    void this.loadDuplicates()
      .catch((err: unknown) => this.logger.error({ err, op: "worker.endgame" }, "starting end-game duplicates failed"))
      .finally(() => {
        this.busy = false;
      });
  }

  /** A connection unchoked us: what it has counts for picks now. */
  onUnchoked(): void {
    this.changes++;
  }

  /** The piece is missing again (its hash failed): claimable, and end-game is over. */
  onMissingAgain(piece: number): void {
    this.elsewhere[piece] = 0;
    this.endgame = false;
    this.duplicates.clear();
    this.changes++;
    this.reconsider(piece);
  }

  /** Periodic: forget which pieces were claimed elsewhere, and ask the claim table afresh. */
  refresh(): void {
    for (const i of this.elsewhereList) {
      this.elsewhere[i] = 0;
      this.reconsider(i);
    }
    this.elsewhereList = [];
    this.endgame = false;
    this.duplicates.clear();
    this.changes++;
  }

  /** No more claims: the torrent stopped or the worker is draining. */
  stop(): void {
    this.stopped = true;
  }

  /** A connection has room for about `pieces` more pieces of requests: claim some in the background. */
  want(pieces: number): void {
    if (this.stopped || this.endgame || this.exhaustedAt === this.changes) return;
    // A table that just failed is not asked again before the back-off: the scheduler's next
    // tick fills again.
    if (this.opts.now() < this.retryAt) return;
    if (this.busy) {
      this.wantedWhileBusy = true;
      return;
    }
    const budget = Math.floor((this.opts.maxBufferedBytes - this.host.bufferedBytes()) / this.opts.pieceLength(0));
    const max = Math.min(pieces, budget);
    if (max <= 0) return;
    // Pick for the connections that are hungry: the union of what they have, rarest first.
    const hungry = [...this.host.connections()].filter((c) => !c.closed && !c.peerChoking && c.amInterested);
    if (hungry.length === 0) return;
    const pick = {
      pieceCount: this.opts.pieceCount,
      candidates: this.eligible.view(),
      peerHas: (i: number) => hungry.some((c) => c.bitfield.has(i) && this.host.mayAsk(c, i)),
      skip: () => false,
      availability: this.availability,
      othersAvailability: this.othersAvailability,
      havePieces: this.have.count(),
      // More candidates than we may claim: the table passes over those someone else holds.
      max: Math.max(max * 4, 16),
      random: this.opts.random,
    };
    const runPieces = this.opts.runPieces;
    const candidates =
      runPieces > 0
        ? pickRuns({
            ...pick,
            runPieces,
            eligible: (i) => this.eligible.has(i),
            runningWindows: this.runningWindows(runPieces),
            startedWindows: this.runs?.started.view(),
            adjacentWindows: this.runs?.adjacent.view(),
          })
        : pickPieces(pick);
    const changesAtPick = this.changes;
    this.busy = true;
    const trip = candidates.length > 0 ? this.claim(candidates, max) : this.checkEndgame(changesAtPick);
    void trip
      .catch((err: unknown) => this.logger.error({ err, op: "worker.claim" }, "acting on the claim table's answer failed"))
      .finally(() => {
        this.busy = false;
        if (this.ownDoneWhileBusy) {
          this.ownDoneWhileBusy = false;
          this.onPieceDone();
        }
        if (this.wantedWhileBusy) {
          this.wantedWhileBusy = false;
          this.host.fillAll();
        }
      });
  }

  private async claim(candidates: readonly number[], max: number): Promise<void> {
    const got = await this.ask("claims.claim", this.claims.claim(this.opts.infoHash, this.opts.workerId, candidates, max));
    if (!got) return;
    const gotSet = new Set(got.map((c) => c.piece));
    const last = got.length > 0 ? candidates.indexOf(got[got.length - 1]!.piece) : candidates.length - 1;
    // Candidates passed over before the last one granted were not missing: someone else has them.
    for (let k = 0; k <= last; k++) {
      const i = candidates[k]!;
      if (gotSet.has(i) || this.elsewhere[i] === 1) continue;
      this.elsewhere[i] = 1;
      this.elsewhereList.push(i);
      this.reconsider(i);
    }
    if (this.stopped) {
      for (const c of got) void this.claims.release(this.opts.infoHash, this.opts.workerId, c).catch(() => undefined);
      return;
    }
    const now = this.opts.now();
    for (const c of got) this.begin(c, true, now);
    this.host.fillAll();
  }

  /** Nothing to pick: end-game if nothing is missing anywhere, else wait for something to change. */
  private async checkEndgame(changesAtPick: number): Promise<void> {
    const counts = await this.ask("claims.counts", this.claims.counts(this.opts.infoHash));
    if (!counts) return;
    if (counts.missing > 0) {
      this.exhaustedAt = changesAtPick;
      return;
    }
    this.endgame = true;
    this.duplicates.clear();
    await this.loadDuplicates();
  }

  /**
   * End-game across workers: other workers' claimed pieces become duplicates here, but only
   * once this worker has none of its own left to fetch. Each worker's link is its own
   * bottleneck; a worker that fetched others' pieces while its own were still in flight split
   * its link between them, every worker did the same for every other, and the last pieces took
   * up to N times longer to arrive (see docs/DESIGN-NOTES.md, "What limits scale-out"). The
   * claims are asked for at that moment, so pieces staged meanwhile are not fetched again.
   */
  private async loadDuplicates(): Promise<void> {
    if (this.ownPiecesActive()) return;
    const claimed = await this.ask("claims.claimedBy", this.claims.claimedBy(this.opts.infoHash, this.opts.workerId));
    if (!claimed || this.stopped || !this.endgame) return;
    this.duplicates.clear();
    for (const c of claimed) this.duplicates.set(c.piece, c);
    this.takeUpDuplicates();
    this.host.fillAll();
  }

  private ownPiecesActive(): boolean {
    for (const p of this.host.active.values()) if (p.owned) return true;
    return false;
  }

  /** Starts end-game duplicates that a connection can serve, while the memory budget allows. */
  private takeUpDuplicates(): void {
    if (!this.endgame || this.stopped) return;
    let room = this.opts.maxBufferedBytes - this.host.bufferedBytes();
    const now = this.opts.now();
    let started = false;
    for (const [piece, c] of this.duplicates) {
      if (this.have.has(piece) || this.host.active.has(piece) || this.host.pending.has(piece)) {
        this.duplicates.delete(piece);
        continue;
      }
      const length = this.opts.pieceLength(piece);
      if (length > room) break;
      if (this.availability[piece] === 0) continue;
      this.duplicates.delete(piece);
      this.begin(c, false, now);
      room -= length;
      started = true;
    }
    if (started) this.host.fillAll();
  }

  /** Windows with pieces in progress or staged here: the runs this worker is working on. */
  private runningWindows(runPieces: number): Set<number> {
    const open = new Set<number>();
    for (const i of this.host.active.keys()) open.add(Math.floor(i / runPieces));
    for (const i of this.host.pending.keys()) open.add(Math.floor(i / runPieces));
    return open;
  }

  /** One claim-table call; a failure is logged with its op, and the next fill asks again. */
  private async ask<T>(op: string, call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (err) {
      this.retryAt = this.opts.now() + FAILED_CALL_BACKOFF_MS;
      this.logger.error({ err, op }, "asking the claim table failed");
      return undefined;
    }
  }

  private begin(c: Claim, owned: boolean, now: number): void {
    this.host.start(new ActivePiece(c.piece, c.attempt, this.opts.pieceLength(c.piece), owned, now));
    this.reconsider(c.piece);
  }
}
