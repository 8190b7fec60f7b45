import { PieceSet } from "./piece-set.js";

const STARTED = 1;
const ELIGIBLE = 2;

/**
 * Which claim-run windows (aligned runs of `runPieces` consecutive pieces) a pick should finish
 * or continue before it opens one elsewhere, kept up to date piece by piece so a pick finds them
 * without walking the torrent. A piece is *started* when it is done (stored, or not wanted) or in
 * progress here; a window is started when one of its pieces is.
 *
 * - `started`: windows started and not finished, with a piece still to claim. Each is a part the
 *   store has begun and cannot upload yet.
 * - `adjacent`: windows not started, with a piece to claim, next to a started window. The store's
 *   parts are cut per file, so they need not line up with windows: a part may straddle a
 *   finished window and the next one, and stays open until that one is done too. Continuing next
 *   to what is done closes such parts, where a window opened anywhere else would leave them open.
 *
 * Memory: a byte per piece and about 20 bytes per window.
 */
export class RunWindows {
  readonly started: PieceSet;
  readonly adjacent: PieceSet;
  private readonly windows: number;
  private readonly flags: Uint8Array;
  private readonly startedIn: Uint32Array;
  private readonly eligibleIn: Uint32Array;

  constructor(
    pieceCount: number,
    readonly runPieces: number,
  ) {
    this.windows = Math.ceil(pieceCount / runPieces);
    this.started = new PieceSet(this.windows);
    this.adjacent = new PieceSet(this.windows);
    this.flags = new Uint8Array(pieceCount);
    this.startedIn = new Uint32Array(this.windows);
    this.eligibleIn = new Uint32Array(this.windows);
  }

  /** What is now known of `piece`: whether it is started, and whether it may be claimed. */
  update(piece: number, started: boolean, eligible: boolean): void {
    const was = this.flags[piece]!;
    const now = (started ? STARTED : 0) | (eligible ? ELIGIBLE : 0);
    if (was === now) return;
    this.flags[piece] = now;
    const w = Math.floor(piece / this.runPieces);
    const wasBegun = this.startedIn[w]! > 0;
    if ((was ^ now) & STARTED) this.startedIn[w]! += started ? 1 : -1;
    if ((was ^ now) & ELIGIBLE) this.eligibleIn[w]! += eligible ? 1 : -1;
    this.place(w);
    if (wasBegun !== this.startedIn[w]! > 0) {
      if (w > 0) this.place(w - 1);
      if (w + 1 < this.windows) this.place(w + 1);
    }
  }

  private place(w: number): void {
    const claimable = this.eligibleIn[w]! > 0;
    const begun = this.startedIn[w]! > 0;
    const nextToBegun = (w > 0 && this.startedIn[w - 1]! > 0) || (w + 1 < this.windows && this.startedIn[w + 1]! > 0);
    if (claimable && begun) this.started.add(w);
    else this.started.delete(w);
    if (claimable && !begun && nextToBegun) this.adjacent.add(w);
    else this.adjacent.delete(w);
  }
}
