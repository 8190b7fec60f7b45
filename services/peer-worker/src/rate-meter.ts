/**
 * Bytes per second over a sliding window of one-second buckets. The window is short enough to
 * follow a peer that speeds up or stalls (pipeline sizing, snubbing, tit-for-tat) and long enough
 * not to flap on one burst.
 */
export const RATE_WINDOW_SECONDS = 5;

export class RateMeter {
  private readonly buckets = new Float64Array(RATE_WINDOW_SECONDS);
  private bucketSecond = 0;
  private startedAtMs: number;
  total = 0;

  constructor(private readonly now: () => number) {
    this.startedAtMs = now();
    this.bucketSecond = Math.floor(this.startedAtMs / 1000);
  }

  add(bytes: number): void {
    this.roll();
    this.buckets[this.bucketSecond % RATE_WINDOW_SECONDS]! += bytes;
    this.total += bytes;
  }

  /** Bytes per second over the window (or over the meter's life while it is younger). */
  rate(): number {
    this.roll();
    let sum = 0;
    for (const b of this.buckets) sum += b;
    const ageSeconds = Math.max(1, Math.min(RATE_WINDOW_SECONDS, (this.now() - this.startedAtMs) / 1000));
    return sum / ageSeconds;
  }

  private roll(): void {
    const second = Math.floor(this.now() / 1000);
    if (second === this.bucketSecond) return;
    const steps = Math.min(RATE_WINDOW_SECONDS, second - this.bucketSecond);
    for (let i = 1; i <= steps; i++) this.buckets[(this.bucketSecond + i) % RATE_WINDOW_SECONDS] = 0;
    this.bucketSecond = second;
  }
}
