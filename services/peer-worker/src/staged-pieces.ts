/**
 * Staged pieces of ours waiting for the verifier and writer, and the piece memory they hold: a
 * staged piece counts against the scheduler's budget until its bytes have been on the bus for
 * longer than the hand-off grace (see `SchedulerOptions.handOffGraceMs`).
 */

/** See `SchedulerOptions.handOffGraceMs`. */
const DEFAULT_HAND_OFF_GRACE_MS = 5_000;

export interface StagedPiecesOptions {
  readonly pieceLength: (index: number) => number;
  /** See `SchedulerOptions.handOffGraceMs`. */
  readonly handOffGraceMs?: number;
  readonly now: () => number;
}

export class StagedPieces {
  /** Staged pieces of ours waiting for the verifier and writer: piece -> attempt. */
  readonly pending = new Map<number, number>();
  /** Pending pieces whose bytes were handed to the bus, and when: they hold no memory here. */
  private readonly handedOff = new Map<number, number>();

  constructor(private readonly opts: StagedPiecesOptions) {}

  /** Piece memory the staged pieces hold or reserve: all but those handed off longer than the grace ago. */
  heldBytes(): number {
    let n = 0;
    const released = this.opts.now() - (this.opts.handOffGraceMs ?? DEFAULT_HAND_OFF_GRACE_MS);
    for (const index of this.pending.keys()) {
      const at = this.handedOff.get(index);
      if (at === undefined || at > released) n += this.opts.pieceLength(index);
    }
    return n;
  }

  /**
   * A staged piece's bytes left this worker (they ride the bus to the verifier): it still waits
   * to be stored here, but holds no memory of ours any more. It keeps counting against the
   * budget for `handOffGraceMs`, then stops, and `onFreed` runs then unless the piece is no
   * longer pending.
   */
  onHandedOff(index: number, onFreed: () => void): void {
    if (!this.pending.has(index)) return;
    this.handedOff.set(index, this.opts.now());
    const freed = () => {
      if (!this.handedOff.has(index)) return;
      onFreed();
    };
    const grace = this.opts.handOffGraceMs ?? DEFAULT_HAND_OFF_GRACE_MS;
    if (grace <= 0) return freed();
    setTimeout(freed, grace + 1).unref();
  }

  /** The piece is no longer ours to wait for: stored, missing again, or its staging did not go through. */
  delete(index: number): void {
    this.pending.delete(index);
    this.handedOff.delete(index);
  }
}
