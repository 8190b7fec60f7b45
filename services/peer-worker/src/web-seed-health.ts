/** First wait after a failed request to a web seed. */
export const WEB_SEED_BACKOFF_BASE_MS = 1_000;
/** Longest wait between tries while a web seed is still in use. */
export const WEB_SEED_BACKOFF_MAX_MS = 60_000;
/**
 * Failures in a row after which a web seed is retired for `WEB_SEED_RETIRE_MS`: with the waits
 * doubling from 1 s, that is about a minute of trying, long enough for a mirror's restart or a
 * brief outage, short enough that a dead mirror stops costing requests.
 */
export const WEB_SEED_RETIRE_AFTER_FAILURES = 6;
/** How long a retired web seed rests before one more try (libtorrent waits minutes too). */
export const WEB_SEED_RETIRE_MS = 5 * 60_000;

export type WebSeedState = "ready" | "backing_off" | "retired" | "banned";

/**
 * One web seed's standing: exponential back-off after failures, retirement after many in a row,
 * and a ban (its bytes failed the hash check) that is for good. A success resets the back-off.
 * Pure: the caller passes the time.
 */
export class WebSeedHealth {
  failures = 0;
  private nextTryAt = 0;
  private retired = false;
  banned = false;

  /** May a new request go to this web seed at `now`? */
  usable(now: number): boolean {
    return !this.banned && now >= this.nextTryAt;
  }

  state(now: number): WebSeedState {
    if (this.banned) return "banned";
    if (now >= this.nextTryAt) return "ready";
    return this.retired ? "retired" : "backing_off";
  }

  succeeded(): void {
    this.failures = 0;
    this.retired = false;
    this.nextTryAt = 0;
  }

  /** A request failed at `now`: returns how long the web seed now rests, in milliseconds. */
  failed(now: number): number {
    this.failures++;
    if (this.failures >= WEB_SEED_RETIRE_AFTER_FAILURES) {
      this.retired = true;
      // One more failure after the rest retires it again at once.
      this.failures = WEB_SEED_RETIRE_AFTER_FAILURES - 1;
      this.nextTryAt = now + WEB_SEED_RETIRE_MS;
      return WEB_SEED_RETIRE_MS;
    }
    const wait = Math.min(WEB_SEED_BACKOFF_MAX_MS, WEB_SEED_BACKOFF_BASE_MS * 2 ** (this.failures - 1));
    this.nextTryAt = Math.max(this.nextTryAt, now + wait);
    return wait;
  }

  ban(): void {
    this.banned = true;
  }
}
