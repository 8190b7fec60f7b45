/** A token bucket: `ratePerSec` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.ratePerSec);
    this.at = t;
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full again: nothing taken lately. */
  idle(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }
}

/**
 * Queries answered per source IP: one bucket per IP, at most `maxSources` buckets (idle ones are
 * dropped first, then the oldest), so a flood from many addresses costs bounded memory and a
 * flood from one address cannot starve the others.
 */
export class PerSourceLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly maxSources: number,
    private readonly now: () => number,
  ) {}

  allow(ip: string): boolean {
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= this.maxSources) {
        for (const [k, v] of this.buckets) if (v.idle()) this.buckets.delete(k);
        if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
      }
      b = new TokenBucket(this.ratePerSec, this.burst, this.now);
      this.buckets.set(ip, b);
    }
    return b.take();
  }
}
