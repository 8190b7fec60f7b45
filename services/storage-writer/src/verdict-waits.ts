/**
 * Staged pieces the writer keeps (their `piece_staged` message unacknowledged, their bytes in
 * memory) until the verifier's verdict, and the verdicts that came before their piece did.
 *
 * A verdict only wakes a waiting piece; the claim table decides what happens to it. A broadcast
 * may be lost, so a waiting piece also wakes after a poll interval and reads the table again.
 */
export type WakeReason = "verified" | "news" | "poll";

/** One staged piece waiting for its verdict. */
export interface VerdictWait {
  /** A verified verdict for this attempt came before the wait began. */
  readonly heard: boolean;
  /** Resolves on a verdict for the piece (`verified` at this attempt, or other `news`) or after `pollMs`. */
  next(pollMs: number): Promise<WakeReason>;
  /** Stops waiting: the piece was written or dropped. */
  done(): void;
}

/** Thrown into waiting pieces when the writer stops: their messages go back to the bus. */
export class WaitCancelled extends Error {
  override readonly name = "WaitCancelled";
}

/**
 * Verdicts that arrived while no piece waited for them are kept this many at most (oldest
 * dropped first). A verdict normally comes after the writer took the staged message (the
 * verifier hashes and updates the table first), so only a few are ever here; one dropped costs
 * its piece a poll interval.
 */
const RECENT_VERDICTS_MAX = 4096;

interface Waiter {
  readonly attempt: number;
  readonly bytes: number;
  /** A wake that came while nobody was in `next`. */
  pending: WakeReason | undefined;
  wake: ((reason: WakeReason) => void) | undefined;
  fail: ((err: Error) => void) | undefined;
}

export class VerdictWaits {
  private readonly waiting = new Map<string, Set<Waiter>>();
  /** `infoHash/piece` -> attempt of a verified verdict nobody waited for yet. */
  private readonly recent = new Map<string, number>();
  private waitingBytes = 0;
  private waitingPieces = 0;
  private cancelled: Error | undefined;

  /** Pieces and bytes waiting for a verdict now: for status and metrics. */
  get size(): { readonly pieces: number; readonly bytes: number } {
    return { pieces: this.waitingPieces, bytes: this.waitingBytes };
  }

  /**
   * Starts waiting for a piece's verdict. Call before reading the claim table, so a verdict that
   * arrives meanwhile is not missed. Throws WaitCancelled once the writer is stopping.
   */
  expect(infoHash: string, piece: number, attempt: number, bytes: number): VerdictWait {
    if (this.cancelled) throw this.cancelled;
    const key = keyOf(infoHash, piece);
    const w: Waiter = { attempt, bytes, pending: undefined, wake: undefined, fail: undefined };
    if (this.recent.get(key) === attempt) {
      this.recent.delete(key);
      w.pending = "verified";
    }
    let set = this.waiting.get(key);
    if (!set) this.waiting.set(key, (set = new Set()));
    set.add(w);
    this.waitingPieces++;
    this.waitingBytes += bytes;
    let finished = false;
    const heard = w.pending === "verified";
    w.pending = undefined;
    return {
      heard,
      next: (pollMs) => {
        if (this.cancelled) return Promise.reject(this.cancelled);
        if (w.pending) {
          const reason = w.pending;
          w.pending = undefined;
          return Promise.resolve(reason);
        }
        return new Promise<WakeReason>((resolve, reject) => {
          const timer = setTimeout(() => settle("poll"), pollMs);
          timer.unref();
          const settle = (reason: WakeReason): void => {
            clearTimeout(timer);
            w.wake = undefined;
            w.fail = undefined;
            resolve(reason);
          };
          w.wake = settle;
          w.fail = (err) => {
            clearTimeout(timer);
            w.wake = undefined;
            w.fail = undefined;
            reject(err);
          };
        });
      },
      done: () => {
        if (finished) return;
        finished = true;
        set.delete(w);
        if (set.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key);
        this.waitingPieces--;
        this.waitingBytes -= bytes;
      },
    };
  }

  /** The verifier's verdict: the piece is verified at `attempt`. */
  verified(infoHash: string, piece: number, attempt: number): void {
    const key = keyOf(infoHash, piece);
    const set = this.waiting.get(key);
    if (!set || ![...set].some((w) => w.attempt === attempt)) {
      this.recent.delete(key);
      this.recent.set(key, attempt);
      if (this.recent.size > RECENT_VERDICTS_MAX) this.recent.delete(this.recent.keys().next().value!);
    }
    for (const w of set ?? []) wake(w, w.attempt === attempt ? "verified" : "news");
  }

  /** The piece went back to missing (hash failed, bytes lost): its waiting attempts are over. */
  failed(infoHash: string, piece: number): void {
    const key = keyOf(infoHash, piece);
    this.recent.delete(key);
    for (const w of this.waiting.get(key) ?? []) wake(w, "news");
  }

  /** Ends every wait with WaitCancelled, now and for later calls: the writer is stopping. */
  cancelAll(): void {
    this.cancelled = new WaitCancelled("the storage-writer is stopping; the staged piece goes back to the bus");
    for (const set of this.waiting.values()) for (const w of set) w.fail?.(this.cancelled);
  }
}

function wake(w: Waiter, reason: WakeReason): void {
  if (w.wake) w.wake(reason);
  // A verified verdict is not overwritten by later news: the table read it leads to decides.
  else if (w.pending !== "verified") w.pending = reason;
}

function keyOf(infoHash: string, piece: number): string {
  return `${infoHash}/${piece}`;
}
