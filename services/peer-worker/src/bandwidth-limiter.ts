/**
 * A token bucket for one direction of traffic (bytes per second), shared by every connection of
 * a worker, as libtorrent's global rate limits are.
 *
 * Bytes are counted after they pass (a socket read cannot be made smaller than what the kernel
 * hands over), so the bucket may go into debt; whoever finds it in debt waits until the debt is
 * paid back. Over any window the bytes passed are the rate times the window, plus at most the
 * burst and the largest debt taken at once, which is what keeps five-second windows within a
 * few per cent of the limit.
 */
/** What connections and the uploader need of a rate limit: one bucket, or several in a chain. */
export interface RateLimit {
  readonly unlimited: boolean;
  consume(bytes: number): void;
  ready(): boolean;
  whenReady(fn: () => void): void;
  take(bytes: number): Promise<void>;
}

export class BandwidthLimiter implements RateLimit {
  private tokens: number;
  private lastRefill: number;
  private readonly waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private capacity: number;

  /**
   * @param bytesPerSecond the limit; 0 means unlimited (every method is then a no-op).
   * @param burstSeconds bytes that may pass at once after a quiet spell, in seconds of the rate.
   *   A tenth of a second keeps a five-second window within 2 % of the limit.
   */
  constructor(
    private rate: number,
    private readonly now: () => number,
    private readonly burstSeconds = 0.1,
  ) {
    // At least one block, so a single request can always be served at low limits.
    this.capacity = Math.max(16 * 1024, rate * burstSeconds);
    this.tokens = rate > 0 ? this.capacity : 0;
    this.lastRefill = now();
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  /**
   * Changes the limit from now on (a job's limit shared by a changing number of workers); 0
   * lifts it. Waiters are woken by the new rate's schedule.
   */
  setRate(bytesPerSecond: number): void {
    if (bytesPerSecond === this.rate) return;
    this.refill();
    const wasUnlimited = this.unlimited;
    this.rate = bytesPerSecond;
    this.capacity = Math.max(16 * 1024, bytesPerSecond * this.burstSeconds);
    if (wasUnlimited) this.tokens = this.capacity;
    this.tokens = Math.min(this.tokens, this.capacity);
    if (this.unlimited) {
      const waiting = this.waiters.splice(0);
      for (const fn of waiting) fn();
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.waiters.length > 0) this.schedule();
  }

  get unlimited(): boolean {
    return this.rate <= 0;
  }

  /** Records bytes that went through. */
  consume(bytes: number): void {
    if (this.unlimited) return;
    this.refill();
    this.tokens -= bytes;
  }

  /** True when more bytes may go through now. */
  ready(): boolean {
    if (this.unlimited) return true;
    this.refill();
    return this.tokens >= 0;
  }

  /** Calls `fn` once the bucket is out of debt (at once when it is). */
  whenReady(fn: () => void): void {
    if (this.ready()) {
      fn();
      return;
    }
    this.waiters.push(fn);
    this.schedule();
  }

  /** Waits until the bucket is out of debt, then takes `bytes`. */
  async take(bytes: number): Promise<void> {
    if (this.unlimited) return;
    if (!this.ready()) await new Promise<void>((resolve) => this.whenReady(resolve));
    this.consume(bytes);
  }

  /** Drops every waiter (shutdown); their callbacks never run. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters.length = 0;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = t - this.lastRefill;
    if (elapsed <= 0) return;
    this.lastRefill = t;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.rate) / 1000);
  }

  private schedule(): void {
    if (this.timer) return;
    const waitMs = Math.max(1, Math.ceil((-this.tokens * 1000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.ready()) {
        this.schedule();
        return;
      }
      const waiting = this.waiters.splice(0);
      for (const fn of waiting) fn();
    }, waitMs);
    this.timer.unref?.();
  }
}

/** Several limits at once (the worker's own and a job's share): bytes count against each. */
export class LimiterChain implements RateLimit {
  constructor(private readonly limits: readonly RateLimit[]) {}

  get unlimited(): boolean {
    return this.limits.every((l) => l.unlimited);
  }

  consume(bytes: number): void {
    for (const l of this.limits) l.consume(bytes);
  }

  ready(): boolean {
    return this.limits.every((l) => l.ready());
  }

  whenReady(fn: () => void): void {
    const blocking = this.limits.find((l) => !l.ready());
    if (!blocking) return fn();
    blocking.whenReady(() => this.whenReady(fn));
  }

  async take(bytes: number): Promise<void> {
    while (!this.ready()) await new Promise<void>((resolve) => this.whenReady(resolve));
    this.consume(bytes);
  }
}
