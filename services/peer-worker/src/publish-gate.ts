/**
 * Bytes of staged pieces a worker has on its way to the bus at once. A staged piece's bytes leave
 * through the worker's own uplink, which on a machine whose link is the bottleneck is about as
 * busy as its downlink: every downloaded byte goes out once more. Published all at once, the
 * pieces a full memory budget holds (96 MiB by default) queue behind each other in the socket,
 * each publish's acknowledgement deadline (5 s) runs out before its bytes are even sent, the
 * worker sends them again, and the uplink collapses under its own retries (measured in the
 * network lab: a 128 MiB download at 2 MiB/s stalled for minutes). At most this many bytes in
 * flight keep a publish's wait for the link to about two seconds at 2 MiB/s, while still
 * overlapping the round trips of small pieces.
 */
export const STAGE_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/**
 * Lets at most `limit` publishes run at once, in the order they asked; the others wait here,
 * where no deadline runs, until one ends. Pieces that wait keep counting against the worker's
 * memory budget (they are not handed off), so claiming slows to what the uplink carries.
 *
 * The limit adapts as TCP's window does: a publish that fails (its acknowledgement did not come
 * in time) halves it, down to one; `limit` successes in a row raise it by one, up to `max`. A
 * timed-out publish's bytes stay in the socket and still cross the link, so a resend at full
 * concurrency would only queue behind them and time out in turn; halving lets the link drain.
 */
export class PublishGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private current: number;
  private successes = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`publish gate limit must be a positive integer, got ${max}`);
    this.current = max;
  }

  /** Publishes allowed at once now. */
  get limit(): number {
    return this.current;
  }

  /** Publishes running now and waiting for a turn. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(send: () => Promise<T>): Promise<T> {
    if (this.running >= this.current) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      const out = await send();
      if (++this.successes >= this.current && this.current < this.max) {
        this.current++;
        this.successes = 0;
      }
      return out;
    } catch (err) {
      this.current = Math.max(1, Math.floor(this.current / 2));
      this.successes = 0;
      throw err;
    } finally {
      this.running--;
      while (this.running < this.current && this.waiting.length > 0) {
        this.running++;
        this.waiting.shift()!();
      }
    }
  }

  /** The gate for pieces of `pieceBytes`: whole pieces within STAGE_IN_FLIGHT_BYTES, at least one. */
  static forPieces(pieceBytes: number): PublishGate {
    return new PublishGate(Math.max(1, Math.floor(STAGE_IN_FLIGHT_BYTES / Math.max(1, pieceBytes))));
  }
}
