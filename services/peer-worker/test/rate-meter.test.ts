import { describe, expect, it } from "vitest";
import { RATE_WINDOW_SECONDS, RateMeter } from "../src/rate-meter.js";

/** A clock the case moves by hand; it starts away from zero, as performance.now() does. */
function clock(startMs = 123_456) {
  const c = { nowMs: startMs, now: () => c.nowMs };
  return c;
}

describe("RateMeter", () => {
  it("measures a steady stream to within the resolution of its one-second buckets", () => {
    const c = clock(0);
    const meter = new RateMeter(c.now);
    // 1000 bytes every 100 ms is 10,000 B/s.
    for (let t = 0; t <= 12_000; t += 100) {
      c.nowMs = t;
      meter.add(1000);
      if (t >= RATE_WINDOW_SECONDS * 1000) {
        expect(meter.rate(), `at ${t} ms`).toBeGreaterThanOrEqual(8_000);
        expect(meter.rate(), `at ${t} ms`).toBeLessThanOrEqual(10_000);
      }
    }
    expect(meter.total).toBe(121 * 1000);
  });

  it("divides by its age while younger than the window, and by at least one second", () => {
    const c = clock();
    const meter = new RateMeter(c.now);
    meter.add(3000);
    c.nowMs += 500;
    expect(meter.rate()).toBe(3000);
    c.nowMs += 1500;
    expect(meter.rate()).toBe(1500);
  });

  it("decays to zero once a whole window passes without data", () => {
    const c = clock(0);
    const meter = new RateMeter(c.now);
    meter.add(5000);
    c.nowMs = RATE_WINDOW_SECONDS * 1000 - 1;
    expect(meter.rate()).toBeGreaterThan(0);
    c.nowMs = RATE_WINDOW_SECONDS * 1000;
    expect(meter.rate()).toBe(0);
    expect(meter.total).toBe(5000);
  });

  it("starts afresh after a long silence", () => {
    const c = clock();
    const meter = new RateMeter(c.now);
    for (let i = 0; i < 10; i++) {
      meter.add(1000);
      c.nowMs += 700;
    }
    c.nowMs += 3_600_000;
    expect(meter.rate()).toBe(0);
    meter.add(2000);
    expect(meter.rate()).toBe(2000 / RATE_WINDOW_SECONDS);
    expect(meter.total).toBe(12_000);
  });

  it("forgets bytes older than the window while keeping newer ones", () => {
    const c = clock(0);
    const meter = new RateMeter(c.now);
    meter.add(10_000);
    c.nowMs = 3_000;
    meter.add(1_000);
    c.nowMs = 5_000;
    // The first second left the window; the bytes of second 3 remain.
    expect(meter.rate()).toBe(1_000 / RATE_WINDOW_SECONDS);
  });
});
