import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BandwidthLimiter } from "../src/bandwidth-limiter.js";

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe("BandwidthLimiter", () => {
  it("is a no-op at 0 (unlimited)", async () => {
    const l = new BandwidthLimiter(0, () => Date.now());
    l.consume(1e12);
    expect(l.ready()).toBe(true);
    await l.take(1e9);
    expect(l.unlimited).toBe(true);
  });

  it("lets the burst through, then waits until the debt is paid", () => {
    const l = new BandwidthLimiter(100_000, () => Date.now(), 0.5); // 50,000 bytes of burst
    l.consume(50_000);
    expect(l.ready()).toBe(true);
    l.consume(30_000); // 30,000 in debt: 300 ms at 100,000 B/s
    expect(l.ready()).toBe(false);
    const woke = vi.fn();
    l.whenReady(woke);
    vi.advanceTimersByTime(299);
    expect(woke).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(woke).toHaveBeenCalledTimes(1);
  });

  it("passes the rate over a long run, whatever the chunk sizes", async () => {
    const rate = 1_000_000;
    const l = new BandwidthLimiter(rate, () => Date.now());
    let passed = 0;
    const start = Date.now();
    // Three readers taking chunks of different sizes, as sockets do.
    const reader = async (chunk: number) => {
      while (Date.now() - start < 10_000) {
        await l.take(chunk);
        passed += chunk;
      }
    };
    const done = Promise.all([reader(65_536), reader(16_384), reader(1_000)]);
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(passed).toBeGreaterThan(rate * 10 * 0.97);
    expect(passed).toBeLessThan(rate * 10 * 1.03);
  });

  it("never wakes waiters after close", () => {
    const l = new BandwidthLimiter(1000, () => Date.now());
    l.consume(100_000);
    const woke = vi.fn();
    l.whenReady(woke);
    l.close();
    vi.advanceTimersByTime(1_000_000);
    expect(woke).not.toHaveBeenCalled();
  });
});
